/**
 * The layout's one rule: imports point down the list of parts and never back
 * up. Each part is a top-level folder (see docs/layout.md); the table below
 * says which parts each may import. Nothing imports `local/` or `cli/`, and
 * `runtime/` (what ships in the Lambda) reaches only `specs/` and the
 * packages the Lambda carries or the runtime provides.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { builtinModules } from "node:module";
import * as esbuild from "esbuild";
import ts from "typescript";

const projectDir = path.resolve(__dirname, "..");

/** Part -> the parts it may import (itself always). */
const allowed: Record<string, readonly string[]> = {
    "index.ts": ["components", "specs"],
    components: ["specs"],
    runtime: ["specs"],
    local: ["runtime", "specs", "data"],
    cli: ["components", "local", "data", "specs", "runtime", "policies"],
    data: ["specs"],
    specs: [],
    policies: [],
};

/** Packages the Lambda bundle may hold or find in its runtime. */
const runtimePackages = [/^@aws-sdk\//, /^@aws-lambda-powertools\//, /^jose$/, /^aws-lambda$/];

interface ImportEdge {
    file: string;
    specifier: string;
    /** The part the import lands in, for a relative import inside the project. */
    target?: string;
}

function partOf(relativeFile: string): string | undefined {
    if (relativeFile === "index.ts") return "index.ts";
    const top = relativeFile.split("/")[0];
    return top in allowed ? top : undefined;
}

function importsOf(relativeFile: string, source: string): ImportEdge[] {
    const { importedFiles } = ts.preProcessFile(source, true, true);
    return importedFiles.map(({ fileName: specifier }) => {
        if (!specifier.startsWith(".")) return { file: relativeFile, specifier };
        const target = path.relative(projectDir, path.resolve(projectDir, path.dirname(relativeFile), specifier)).split(path.sep).join("/");
        return { file: relativeFile, specifier, target: partOf(target.endsWith(".ts") ? target : `${target}.ts`) ?? partOf(target) ?? target };
    });
}

/** Every import that crosses the layout the wrong way, as `file -> specifier (part)`. */
export function forbiddenImports(files: ReadonlyMap<string, string>): string[] {
    const problems: string[] = [];
    for (const [file, source] of files) {
        const part = partOf(file);
        if (!part) continue;
        for (const edge of importsOf(file, source)) {
            if (edge.target === undefined) {
                const isNodeBuiltin = edge.specifier.startsWith("node:") || builtinModules.includes(edge.specifier);
                if (part === "runtime" && !isNodeBuiltin && !runtimePackages.some((pattern) => pattern.test(edge.specifier))) {
                    problems.push(`${file} -> ${edge.specifier} (a package the Lambda does not ship)`);
                }
                continue;
            }
            if (edge.target === part) continue;
            if (!allowed[part].includes(edge.target)) problems.push(`${file} -> ${edge.specifier} (${part} may not import ${edge.target})`);
        }
    }
    return problems;
}

function projectSources(): Map<string, string> {
    const files = new Map<string, string>();
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(path.join(projectDir, dir), { withFileTypes: true })) {
            const relative = dir ? `${dir}/${entry.name}` : entry.name;
            if (entry.isDirectory()) {
                if (entry.name !== "node_modules") walk(relative);
            } else if (entry.name.endsWith(".ts")) {
                files.set(relative, fs.readFileSync(path.join(projectDir, relative), "utf8"));
            }
        }
    };
    files.set("index.ts", fs.readFileSync(path.join(projectDir, "index.ts"), "utf8"));
    for (const part of Object.keys(allowed)) if (part !== "index.ts") walk(part);
    return files;
}

describe("layout: one folder per part, imports one way", () => {
    it("finds no import that crosses a part the wrong way", () => {
        // given every TypeScript file of the parts
        const files = projectSources();
        assert.ok(files.size > 50, `read ${files.size} files`);
        // when / then
        assert.deepEqual(forbiddenImports(files), []);
    });

    it("reports an import of local/ or cli/, a runtime import of data/, and a package the Lambda does not ship", () => {
        // given files that each break one rule
        const files = new Map([
            ["data/load.ts", 'import { start } from "../local/start";'],
            ["components/gateway.ts", 'const x = require("../cli/sessions");'],
            ["runtime/stores/sessionStore.ts", 'import { TableClient } from "../../data/client";'],
            ["runtime/steps/route.ts", 'import { z } from "zod";'],
            ["specs/routes.ts", 'import type { Handler } from "../runtime/handler";'],
            ["cli/sessions.ts", 'import { createSessions } from "../runtime/sessions";'],
        ]);
        // when
        const problems = forbiddenImports(files);
        // then every rule-breaking file is named, and the allowed one is not
        assert.deepEqual(problems, [
            "data/load.ts -> ../local/start (data may not import local)",
            "components/gateway.ts -> ../cli/sessions (components may not import cli)",
            "runtime/stores/sessionStore.ts -> ../../data/client (runtime may not import data)",
            "runtime/steps/route.ts -> zod (a package the Lambda does not ship)",
            "specs/routes.ts -> ../runtime/handler (specs may not import runtime)",
        ]);
    });

    it("bundles into the Lambda only code under runtime/ and specs/, and no config or YAML parser", () => {
        // given the Lambda entry bundled as the Gateway component bundles it
        const result = esbuild.buildSync({
            entryPoints: [path.join(projectDir, "runtime", "lambda.ts")],
            bundle: true,
            platform: "node",
            format: "cjs",
            external: ["@aws-sdk/*"],
            write: false,
            metafile: true,
            outfile: path.join(projectDir, ".tollgate", "layout-check.js"),
            logLevel: "silent",
        });
        // when
        const inputs = Object.keys(result.metafile!.inputs);
        const projectInputs = inputs.filter((input) => !input.startsWith("node_modules/"));
        const packages = new Set(inputs.filter((input) => input.startsWith("node_modules/")).map((input) => input.split("/").slice(1, input.split("/")[1].startsWith("@") ? 3 : 2).join("/")));
        // then
        assert.deepEqual(projectInputs.filter((input) => !/^(runtime|specs)\//.test(input)), []);
        assert.ok(!projectInputs.includes("specs/config.ts") && !projectInputs.includes("specs/stackFile.ts"), "the config schema stays with the program");
        const bundledDependencies = ["@aws/lambda-invoke-store"]; // Powertools' own
        for (const name of packages) assert.ok(runtimePackages.some((pattern) => pattern.test(name)) || bundledDependencies.includes(name), `package ${name} in the bundle`);
    });
});
