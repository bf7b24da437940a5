/**
 * Runs tollgate's program (index.ts) under Pulumi's mocks with a stack's real
 * config, and reads the registered resources back by type and name, the
 * pattern of pulumi/examples `testing-unit-ts`, in one place.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runProgramIsolated, type ProgramRun, type RegisteredResource } from "../../policies/offline/harness";
import { loadStackConfig, projectDir } from "../../specs/stackFile";

export const programEntry = path.join(projectDir, "index.ts");

export interface StackRunOptions {
    /** `tollgate:key` -> value (JSON text for structured keys) laid over the stack file's config. */
    override?: Record<string, string>;
    /** Keys removed from the stack file's config before the run. */
    remove?: string[];
    secretKeys?: string[];
}

/** The config the CLI would hand the program for `stack`, with test changes applied. */
export function stackConfig(stack: string, options: StackRunOptions = {}): Record<string, string> {
    const config = { ...loadStackConfig(stack).pulumiConfig, ...options.override };
    for (const key of options.remove ?? []) delete config[key];
    return config;
}

/** Evaluates index.ts for `stack` in a fresh process; the result is read through `Resources`. */
export async function runStack(stack: string, options: StackRunOptions = {}): Promise<StackRun> {
    const run = await runProgramIsolated({ program: programEntry, stack, config: stackConfig(stack, options), secretKeys: options.secretKeys, timeoutMs: 180_000 });
    return new StackRun(run);
}

/** The dev stack's config with keys replaced: strings as they are, other values as JSON text, as the CLI passes structured keys. */
export function devConfigWith(values: Record<string, unknown>): Record<string, string> {
    const override = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]));
    return stackConfig("dev", { override });
}

/** Evaluates index.ts with exactly this config (no stack file underneath). */
export async function runWithConfig(stack: string, config: Record<string, string>): Promise<StackRun> {
    return new StackRun(await runProgramIsolated({ program: programEntry, stack, config, timeoutMs: 180_000 }));
}

/** `runWithConfig` for each config, two at a time (each run is a Node process, and the machine is shared); the runs in the order given. */
export async function runEachWithConfig(stack: string, configs: Record<string, string>[]): Promise<StackRun[]> {
    const runs: StackRun[] = new Array(configs.length);
    let next = 0;
    const worker = async () => {
        while (next < configs.length) {
            const i = next++;
            runs[i] = await runWithConfig(stack, configs[i]);
        }
    };
    await Promise.all([worker(), worker()]);
    return runs;
}

export class StackRun {
    constructor(readonly run: ProgramRun) {}

    get error(): string | undefined {
        return this.run.error;
    }
    get outputs(): Record<string, any> {
        return this.run.outputs;
    }
    get resources(): RegisteredResource[] {
        return this.run.resources;
    }

    /** Every resource of a type token (`aws:dynamodb/table:Table`). */
    ofType(type: string): RegisteredResource[] {
        return this.run.resources.filter((r) => r.type === type);
    }

    /** The one resource of `type` named `name`; fails the test if there is not exactly one. */
    one(type: string, name: string): RegisteredResource {
        const found = this.run.resources.filter((r) => r.type === type && r.name === name);
        if (found.length !== 1) {
            const names = this.ofType(type).map((r) => r.name);
            throw new Error(`expected one ${type} named '${name}', found ${found.length} (${type} names: ${names.join(", ") || "none"})`);
        }
        return found[0];
    }

    /** The inputs of the one resource of `type` named `name`. */
    inputs(type: string, name: string): Record<string, any> {
        return this.one(type, name).inputs;
    }

    /** The resource of `type` whose input `key` equals `value` (e.g. a table by its physical name). */
    where(type: string, key: string, value: unknown): RegisteredResource {
        const found = this.ofType(type).filter((r) => r.inputs[key] === value);
        if (found.length !== 1) throw new Error(`expected one ${type} with ${key} = ${JSON.stringify(value)}, found ${found.length}`);
        return found[0];
    }

    /** Resources directly parented to `parent`. */
    childrenOf(parent: RegisteredResource): RegisteredResource[] {
        return this.run.resources.filter((r) => r.parent === parent.urn);
    }

    /** Resources other than the stack itself. */
    get created(): RegisteredResource[] {
        return this.run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
    }
}

/** A file of a Lambda archive as the run recorded it: inline text, or a path on this machine. */
export type ArchiveEntry = { __asset: "string"; text: string } | { __asset: "file"; path: string } | { __archive: "file"; path: string };

/**
 * Writes the recorded archive's files into a new temporary directory, as the
 * zip Lambda would unpack, and returns the directory and the files in it.
 */
export function materialiseArchive(code: { __archive: "assets"; assets: Record<string, ArchiveEntry> }): { dir: string; files: string[]; bytes: number } {
    if (code?.__archive !== "assets") throw new Error(`the Lambda code is not an asset archive: ${JSON.stringify(code).slice(0, 200)}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-archive-"));
    const files: string[] = [];
    let bytes = 0;
    for (const [key, entry] of Object.entries(code.assets)) {
        const target = path.join(dir, key);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        if ("__asset" in entry && entry.__asset === "string") {
            fs.writeFileSync(target, entry.text);
        } else if ("__asset" in entry && entry.__asset === "file") {
            fs.copyFileSync(path.resolve(projectDir, entry.path), target);
        } else {
            fs.cpSync(path.resolve(projectDir, entry.path), target, { recursive: true });
        }
    }
    const walk = (at: string) => {
        for (const item of fs.readdirSync(at, { withFileTypes: true })) {
            const full = path.join(at, item.name);
            if (item.isDirectory()) walk(full);
            else {
                files.push(path.relative(dir, full).split(path.sep).join("/"));
                bytes += fs.statSync(full).size;
            }
        }
    };
    walk(dir);
    return { dir, files: files.sort(), bytes };
}
