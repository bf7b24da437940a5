/**
 * A CallbackFunction's archive as the program run recorded it (an asset
 * archive of inline `__index.js`, files and directories), written out as
 * Lambda would unpack it, zipped for real to weigh it, and loaded in a fresh
 * Node process to time a cold start.
 */
import * as child_process from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yazl from "yazl";
import { projectDir } from "../../specs/stackFile";

export type ArchiveEntry = { __asset: "string"; text: string } | { __asset: "file"; path: string } | { __archive: "file"; path: string };
export type RecordedArchive = { __archive: "assets"; assets: Record<string, ArchiveEntry> };

export interface UnpackedArchive {
    dir: string;
    /** Relative paths with `/`, sorted. */
    files: string[];
    /** Sum of the files' sizes. */
    bytes: number;
    remove(): void;
}

/** Writes the archive's entries under a new temporary directory (paths recorded by the run are relative to the project). */
export function unpackArchive(code: RecordedArchive): UnpackedArchive {
    if (code?.__archive !== "assets") throw new Error(`the Lambda code is not an asset archive: ${JSON.stringify(code).slice(0, 200)}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-bench-archive-"));
    for (const [key, entry] of Object.entries(code.assets)) {
        const target = path.join(dir, key);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        if ("__asset" in entry && entry.__asset === "string") fs.writeFileSync(target, entry.text);
        else fs.cpSync(path.resolve(projectDir, entry.path), target, { recursive: true, dereference: true });
    }
    const files: string[] = [];
    let bytes = 0;
    const walk = (at: string) => {
        for (const item of fs.readdirSync(at, { withFileTypes: true })) {
            const full = path.join(at, item.name);
            if (item.isDirectory()) walk(full);
            else if (item.isFile()) {
                files.push(path.relative(dir, full).split(path.sep).join("/"));
                bytes += fs.statSync(full).size;
            }
        }
    };
    walk(dir);
    files.sort();
    return { dir, files, bytes, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The size of the unpacked archive zipped with deflate, as it would be uploaded. */
export function zippedBytes(archive: UnpackedArchive): Promise<number> {
    return new Promise((resolve, reject) => {
        const zip = new yazl.ZipFile();
        for (const file of archive.files) zip.addFile(path.join(archive.dir, file), file, { mtime: new Date(0), mode: 0o644 });
        let bytes = 0;
        zip.outputStream.on("data", (chunk: Buffer) => (bytes += chunk.length));
        zip.outputStream.on("end", () => resolve(bytes));
        zip.outputStream.on("error", reject);
        zip.end();
    });
}

export interface ColdStartSample {
    /** From the process's start to the first line of the script: Node's own boot, the same for any archive. */
    node_boot_ms: number;
    /** `require("__index.js")`: loading the code and running the factory. */
    load_ms: number;
    /** The first `/health/live` invocation. */
    first_invoke_ms: number;
    /** load + first invocation: the init the archive costs. */
    init_ms: number;
}

const resultMarker = "tollgate-bench ";

const coldStartScript = `
const { performance } = require("node:perf_hooks");
const bootMs = performance.now();
const { handler } = require(process.cwd() + "/__index.js");
const loadedMs = performance.now();
const event = JSON.parse(process.env.TOLLGATE_BENCH_EVENT);
Promise.resolve(handler(event, { awsRequestId: "bench", getRemainingTimeInMillis: () => 29000 })).then((result) => {
    const answeredMs = performance.now();
    process.stdout.write("tollgate-bench " + JSON.stringify({ status: result.statusCode, bootMs, loadedMs, answeredMs }) + "\\n");
    process.exit(0);
}, (error) => { console.error(error); process.exit(1); });
`;

/**
 * Loads `__index.js` in a fresh Node process from the archive's directory, as
 * Lambda does (the SDK the only package provided from outside, through
 * NODE_PATH as /var/runtime/node_modules is), and answers one `/health/live`.
 */
export function coldStart(archiveDir: string, env: Record<string, string>, healthEvent: unknown): ColdStartSample {
    const provided = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-bench-runtime-"));
    try {
        fs.symlinkSync(path.join(projectDir, "node_modules", "@aws-sdk"), path.join(provided, "@aws-sdk"), "dir");
        const child = child_process.spawnSync(process.execPath, ["-e", coldStartScript], {
            cwd: archiveDir,
            env: { PATH: process.env.PATH ?? "", NODE_PATH: provided, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", TOLLGATE_BENCH_EVENT: JSON.stringify(healthEvent), ...env },
            encoding: "utf8",
            timeout: 60_000,
        });
        // The handler writes its own log lines to stdout too; the script's line is marked.
        const line = child.stdout.split("\n").find((text) => text.startsWith(resultMarker))?.slice(resultMarker.length);
        if (child.status !== 0 || !line) throw new Error(`__index.js did not answer in a fresh process (exit ${child.status}):\n${child.stderr}`);
        const { status, bootMs, loadedMs, answeredMs } = JSON.parse(line);
        if (status !== 200) throw new Error(`/health/live answered ${status} in a fresh process`);
        return { node_boot_ms: bootMs, load_ms: loadedMs - bootMs, first_invoke_ms: answeredMs - loadedMs, init_ms: answeredMs - bootMs };
    } finally {
        fs.rmSync(provided, { recursive: true, force: true });
    }
}
