/**
 * Where Pulumi's schema inference reads the Tollgate component from: a
 * directory holding a `package.json` whose `main` names the package root's
 * TypeScript source, and a `tsconfig.json` that takes in the component
 * sources. The inference reads TypeScript, never the compiled JavaScript, and
 * finds its entry through `package.json`; the package's own `package.json`
 * points programs at the compiled files, so the provider reads this one.
 *
 * The build writes it to `dist/` (shipped); from the TypeScript sources (this
 * repository) it is written under `.tollgate/schema/`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { projectDir } from "../specs/stackFile";

/** The package's root directory: above `components/`, or above `dist/components/` once compiled. */
export function packageDir(): string {
    return projectDir;
}

/** The package's own manifest. */
export function packageManifest(): { name: string; version: string; description?: string } {
    return JSON.parse(fs.readFileSync(path.join(packageDir(), "package.json"), "utf8"));
}

/** The folders whose TypeScript the inference reads: the component, the specs it takes its args from, the runtime types they name. */
const sourceFolders = ["components", "specs", "runtime"];

/** Writes the analysis root into `dir` for the package at `root`; returns `dir`. */
export function writeAnalysisRoot(dir: string, root = packageDir()): string {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    const toRoot = path.relative(dir, root).split(path.sep).join("/") || ".";
    const files = {
        "package.json": {
            name: manifest.name,
            version: manifest.version,
            description: manifest.description,
            private: true,
            main: `${toRoot}/components/index.js`,
        },
        "tsconfig.json": {
            compilerOptions: {
                target: "ES2022",
                module: "commonjs",
                moduleResolution: "node",
                strict: true,
                esModuleInterop: true,
                skipLibCheck: true,
                types: [],
                noEmit: true,
            },
            include: sourceFolders.map((folder) => `${toRoot}/${folder}/**/*.ts`),
            exclude: [`${toRoot}/**/*.d.ts`, "**/node_modules"],
        },
    };
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
        const file = path.join(dir, name);
        const text = `${JSON.stringify(content, null, 2)}\n`;
        if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) fs.writeFileSync(file, text);
    }
    return dir;
}

/** The analysis root for this copy of the package: the built one, or one written for the sources. */
export function analysisRoot(): string {
    const compiled = path.basename(path.resolve(__dirname, "..")) === "dist";
    if (compiled) return path.resolve(__dirname, "..");
    return writeAnalysisRoot(path.join(packageDir(), ".tollgate", "schema"));
}
