/**
 * Bundles the Lambda runtime (`runtime/lambda` and everything it imports)
 * into one CommonJS file at program time, so the CallbackFunction's archive
 * can hold `__index.js` and this bundle and nothing else: no `node_modules`,
 * no `@pulumi/*`, and no `@aws-sdk/*`, which the Lambda Node.js runtime provides.
 *
 * The entry is the package's own: the TypeScript source in this repository,
 * the compiled JavaScript beside this module where a program installed
 * tollgate. The bundle is written below the working directory (the program's),
 * since the archive names its files by their path from there.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";
import * as pulumi from "@pulumi/pulumi";

export interface RuntimeBundle {
    /**
     * The bundle's path relative to the working directory, with `/`
     * separators: its key in the Lambda archive and, with `./` in front, what
     * `__index.js` requires.
     */
    archivePath: string;
    absolutePath: string;
    bytes: number;
}

export interface BundleOptions {
    /** Entry module; default the package's `runtime/lambda`. */
    entry?: string;
    /** Output file, relative to the working directory (kept under the gitignored `.tollgate/`). */
    outFile: string;
    /** Node version the code must run on, as esbuild spells it. */
    target: string;
}

/** The Lambda entry among this package's own files: `.ts` in the repository, `.js` once compiled. */
export function runtimeEntryFile(): string {
    return require.resolve("../runtime/lambda");
}

/** Node's own modules plus the SDK the Lambda runtime provides; nothing else may stay outside the bundle. */
const providedByLambda = ["@aws-sdk/*"];

export function bundleRuntime(options: BundleOptions): RuntimeBundle {
    const archivePath = path.normalize(options.outFile).split(path.sep).join("/");
    if (archivePath.startsWith("../") || path.isAbsolute(options.outFile)) {
        throw new pulumi.RunError(`the Lambda bundle ${options.outFile} must lie below the working directory (${process.cwd()})`);
    }
    const absolutePath = path.resolve(options.outFile);
    const entry = options.entry ? path.resolve(options.entry) : runtimeEntryFile();
    let result: esbuild.BuildResult<{ write: false }>;
    try {
        result = esbuild.buildSync({
            entryPoints: [entry],
            bundle: true,
            platform: "node",
            target: options.target,
            format: "cjs",
            external: providedByLambda,
            // `import()` of a provided module (the lazily loaded Secrets Manager
            // client) becomes a `require()` like every other: CommonJS resolution
            // honours NODE_PATH, where Lambda provides the SDK, in any Node process,
            // not only under the Lambda runtime's own ES module loader.
            supported: { "dynamic-import": false },
            minify: true,
            write: false,
            outfile: absolutePath,
            logLevel: "silent",
        });
    } catch (error: any) {
        const messages = (error.errors ?? []).map((e: esbuild.Message) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text));
        throw new pulumi.RunError(`bundling the Lambda runtime from ${entry} failed:\n${messages.join("\n") || error.message}`);
    }
    const [output] = result.outputFiles;
    // Several programs (stacks, tests, the policy check) may bundle at once: write
    // next to the target and rename, so no reader ever sees a half-written file.
    fs.mkdirSync(path.dirname(absolutePath), { recursive: true });
    const partial = `${absolutePath}.${process.pid}.tmp`;
    fs.writeFileSync(partial, output.contents);
    fs.renameSync(partial, absolutePath);
    return { archivePath, absolutePath, bytes: output.contents.byteLength };
}
