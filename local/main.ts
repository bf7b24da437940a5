/**
 * The `npm start` entry (package.json runs it under ts-node). It compiles the
 * local gateway, cli.ts and every project module it imports (the handler,
 * the specs, the stores), into one module with esbuild, the compiler that
 * builds the deployed Lambda's bundle, and runs it. Packages stay external
 * and load from node_modules as usual.
 *
 * Why not let ts-node compile each file: it runs the TypeScript compiler file
 * by file, which was most of the start-up time (about a second of CPU);
 * esbuild compiles the whole tree in tens of milliseconds. Should esbuild
 * fail, the sources are loaded through ts-node instead, only slower.
 */
import * as path from "node:path";
import Module from "node:module";
import * as esbuild from "esbuild";

interface LocalCli {
    run(): void;
}

/** Next to the sources, so `__dirname` in the bundled modules and package resolution are what they are in the sources. */
const bundleFile = path.join(__dirname, "cli.bundle.js");

function loadBundled(): LocalCli {
    const { outputFiles } = esbuild.buildSync({
        entryPoints: [path.join(__dirname, "cli.ts")],
        bundle: true,
        platform: "node",
        format: "cjs",
        target: `node${process.versions.node.split(".")[0]}`,
        packages: "external",
        sourcemap: "inline",
        write: false,
        outfile: bundleFile,
        logLevel: "silent",
    });
    // Stack traces then point at the TypeScript sources, not the bundle.
    process.setSourceMapsEnabled(true);
    const bundled = new Module(bundleFile, module);
    bundled.filename = bundleFile;
    bundled.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(__dirname);
    (bundled as unknown as { _compile(code: string, file: string): void })._compile(outputFiles[0].text, bundleFile);
    return bundled.exports as LocalCli;
}

function loadCli(): LocalCli {
    try {
        return loadBundled();
    } catch (error) {
        process.stderr.write(`npm start: esbuild could not compile the gateway (${(error as Error).message.split("\n")[0]}); loading it through ts-node\n`);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require("./cli") as LocalCli;
    }
}

loadCli().run();
