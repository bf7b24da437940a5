/**
 * The gateway Lambda as a CallbackFunction left on default packaging, for the
 * cold-start comparison of the benchmark: the runtime's TypeScript compiled
 * file by file (no bundling, as `tsc` would), the factory requiring it the way
 * the real one requires its bundle, and `codePaths` left at their default, so
 * Pulumi ships every production dependency of package.json beside it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as esbuild from "esbuild";
import type { CapturedSettings } from "../../specs/lambda";
import { capturedSettings, lambdaNodeMajor, lambdaRuntime } from "../../specs/lambda";
import { loadStackConfig, projectDir } from "../../specs/stackFile";

/** Where the compiled runtime goes, relative to the project (the working directory of the run). */
export const naiveBuildDir = ".tollgate/bench/naive";

function compileRuntime(): string {
    // runtime/ and the specs/ it imports, each file beside the others as in the repository.
    const sources = ["runtime", "specs"].flatMap((part) =>
        (fs.readdirSync(path.join(projectDir, part), { recursive: true }) as string[]).filter((file) => file.endsWith(".ts")).map((file) => path.join(projectDir, part, file)),
    );
    const outdir = path.join(projectDir, naiveBuildDir);
    fs.rmSync(outdir, { recursive: true, force: true });
    esbuild.buildSync({ entryPoints: sources, outdir, outbase: projectDir, bundle: false, platform: "node", format: "cjs", target: `node${lambdaNodeMajor}`, logLevel: "silent" });
    return `./${naiveBuildDir}/runtime/lambda.js`;
}

function naiveFactory(runtimeModule: string, captured: CapturedSettings) {
    return () => {
        const runtime: typeof import("../../runtime/lambda") = require(runtimeModule);
        return runtime.createLambdaHandler(captured);
    };
}

function optionalDependencies(): string[] {
    return Object.keys(JSON.parse(fs.readFileSync(path.join(projectDir, "package.json"), "utf8")).optionalDependencies ?? {});
}

const role = new aws.iam.Role("naive-role", {
    assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
    }),
});

const naive = new aws.lambda.CallbackFunction("naive-function", {
    role,
    runtime: lambdaRuntime,
    architectures: ["arm64"],
    memorySize: 1024,
    callbackFactory: naiveFactory(compileRuntime(), capturedSettings(loadStackConfig("prod").settings)),
    // The one exclusion: the optional dependencies (the Node binary the tests run
    // archives on), which Pulumi would count as dependencies but the program does not use.
    codePathOptions: { extraIncludePaths: [naiveBuildDir], extraExcludePackages: optionalDependencies() },
});

export const naiveFunctionName = naive.name;
