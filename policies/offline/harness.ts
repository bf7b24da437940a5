/**
 * Runs a Pulumi TypeScript program under `pulumi.runtime.setMocks` and records
 * every resource it registers: type, name, URN, inputs, parent, dependencies
 * and provider. The program runs inside a real `pulumi:pulumi:Stack` root, with
 * the real Node SDK, component code, closure serialization and config handling;
 * only the engine and the cloud are replaced.
 *
 * Readers: the program tests (test/), the offline policy check (`npm run
 * policy`) and the benchmark. The Pulumi SDK keeps global state, so one
 * process evaluates one program: `runProgramIsolated` forks a child for each.
 */
import * as child_process from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { fakeCall, fakeState } from "./fakes";

export interface RegisteredResource {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    /** Inputs as the engine received them (assets and archives described as plain data). */
    inputs: Record<string, any>;
    parent?: string;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    provider?: string;
    protect: boolean;
    /** The `deleteBeforeReplace` option when the program sets it, true or false; unset leaves the order to the provider. */
    deleteBeforeReplace?: boolean;
    /** The `retainOnDelete` option: Pulumi forgets the resource instead of deleting it. */
    retainOnDelete: boolean;
    /** Every earlier URN the resource answers to: its own aliases and those inherited from its parents', as the engine computes them. */
    aliases: string[];
}

export interface ProgramRun {
    project: string;
    stack: string;
    resources: RegisteredResource[];
    outputs: Record<string, any>;
    /** Set when the program threw (or a resource failed); resources registered before it are kept. */
    error?: string;
    /** Wall time of the program evaluation, in milliseconds. */
    elapsedMs: number;
    /** What the program left under `collect` (plain data). */
    collected?: unknown;
}

export interface RunOptions {
    /** The program's entry file; its exports become the stack outputs. */
    program: string;
    project?: string;
    stack: string;
    /** `namespace:key` -> string value, as the CLI would pass it. */
    config?: Record<string, string>;
    secretKeys?: string[];
    /** Run as `pulumi preview` (unknown outputs) rather than `pulumi up`. */
    preview?: boolean;
    /** A `Symbol.for` key under which the program leaves data on `globalThis` for local tools; the run returns it as `collected`. */
    collect?: string;
}

/** Turns assets, archives, secrets and resources into JSON-able data. */
export function describeValue(value: any): any {
    if (value === null || value === undefined) return value;
    if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) {
        const v = value as any;
        if (v.assets !== undefined) {
            return { __archive: "assets", assets: mapValues(v.assets, describeValue) };
        }
        if (v.path !== undefined) return { [pulumi.asset.Archive.isInstance(value) ? "__archive" : "__asset"]: "file", path: v.path };
        if (v.text !== undefined) return { __asset: "string", text: v.text };
        if (v.uri !== undefined) return { __asset: "remote", uri: v.uri };
    }
    if (Array.isArray(value)) return value.map(describeValue);
    if (typeof value === "object") return mapValues(value, describeValue);
    return value;
}

/**
 * Like `describeValue`, but also resolves what assets and archives hold: the
 * SDK keeps `text`, `path` and `assets` as Promises, so the sync version sees
 * an archive built by `aws.lambda.CallbackFunction` as empty.
 */
export async function describeValueAsync(value: any): Promise<any> {
    if (value === null || value === undefined) return value;
    if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) {
        const v = value as any;
        const isArchive = pulumi.asset.Archive.isInstance(value);
        if (v.assets !== undefined) {
            const assets = (await v.assets) ?? {};
            const described: Record<string, any> = {};
            for (const [key, item] of Object.entries(assets)) described[key] = await describeValueAsync(item);
            return { __archive: "assets", assets: described };
        }
        if (v.path !== undefined) return { [isArchive ? "__archive" : "__asset"]: "file", path: await v.path };
        if (v.text !== undefined) return { __asset: "string", text: await v.text };
        if (v.uri !== undefined) return { [isArchive ? "__archive" : "__asset"]: "remote", uri: await v.uri };
    }
    if (Array.isArray(value)) return Promise.all(value.map(describeValueAsync));
    if (typeof value === "object") {
        const out: Record<string, any> = {};
        for (const [k, v] of Object.entries(value)) out[k] = await describeValueAsync(v);
        return out;
    }
    return value;
}

function mapValues(object: Record<string, any>, fn: (v: any) => any): Record<string, any> {
    const out: Record<string, any> = {};
    for (const [k, v] of Object.entries(object)) out[k] = fn(v);
    return out;
}

/** Evaluates the program in this process. Call at most once per process. */
export async function runProgram(options: RunOptions): Promise<ProgramRun> {
    const project = options.project ?? "tollgate";
    const started = process.hrtime.bigint();
    const inputsByKey = new Map<string, { inputs: any; custom: boolean }>();
    const resources: RegisteredResource[] = [];
    const describing: Promise<void>[] = [];

    /** The `region` of the explicit provider a resource names (`urn::id`), so fake ARNs carry the right region. */
    const providerRegion = (reference: string | undefined): string | undefined => {
        if (!reference) return undefined;
        const urn = reference.slice(0, reference.lastIndexOf("::"));
        const parts = urn.split("::");
        const type = parts[parts.length - 2]?.split("$").pop();
        const region = inputsByKey.get(`${type}::${parts[parts.length - 1]}`)?.inputs.region;
        return typeof region === "string" ? region : undefined;
    };

    pulumi.runtime.setAllConfig(options.config ?? {}, options.secretKeys ?? []);
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                inputsByKey.set(`${args.type}::${args.name}`, { inputs: args.inputs, custom: args.custom ?? true });
                return { id: options.preview ? undefined : `${args.name}-id`, state: fakeState(args.type, args.name, args.inputs, providerRegion(args.provider)) };
            },
            call(args) {
                return fakeCall(args.token, args.inputs);
            },
        },
        project,
        options.stack,
        options.preview ?? false,
    );

    // The mock monitor sees parent, dependencies and provider, which the mocks API does not pass on.
    const monitor: any = (pulumi.runtime as any).getMonitor();
    // A monitor without alias specs has the SDK resolve every alias to URNs itself,
    // inherited ones included (what the engine computes from specs), and send them:
    // each run records the URNs a resource answers to.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const aliasSpecs: number = require("@pulumi/pulumi/proto/resource_pb").ResourceMonitorFeature.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS;
    const deploymentInfo = monitor.getDeploymentInfo.bind(monitor);
    monitor.getDeploymentInfo = (req: unknown, callback: (err: unknown, resp: any) => void) =>
        deploymentInfo(req, (err: unknown, resp: any) => {
            resp?.setSupportedfeaturesList(resp.getSupportedfeaturesList().filter((feature: number) => feature !== aliasSpecs));
            callback(err, resp);
        });
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
        register(req, (err: any, resp: any) => {
            if (!err && resp) {
                const key = `${req.getType()}::${req.getName()}`;
                const seen = inputsByKey.get(key);
                const propertyDependencies: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((deps: any, prop: string) => {
                    propertyDependencies[prop] = deps.getUrnsList();
                });
                const resource: RegisteredResource = {
                    urn: resp.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    custom: req.getCustom(),
                    inputs: {},
                    parent: req.getParent() || undefined,
                    dependencies: req.getDependenciesList(),
                    propertyDependencies,
                    provider: req.getProvider() || undefined,
                    protect: req.getProtect?.() ?? false,
                    ...(req.getDeletebeforereplacedefined() ? { deleteBeforeReplace: req.getDeletebeforereplace() } : {}),
                    retainOnDelete: req.getRetainondelete?.() ?? false,
                    aliases: req.getAliasurnsList?.() ?? [],
                };
                resources.push(resource);
                describing.push(describeValueAsync(seen?.inputs ?? {}).then((inputs) => void (resource.inputs = inputs)));
            }
            callback(err, resp);
        });
    };

    let outputs: Record<string, any> = {};
    let error: string | undefined;
    const failures: string[] = [];
    const onRejection = (reason: any) => failures.push(String(reason?.message ?? reason));
    process.on("unhandledRejection", onRejection);
    try {
        const entry = path.resolve(options.program);
        outputs = await (pulumi.runtime as any).runInPulumiStack(async () => {
            const exported = require(entry);
            return exported && typeof exported === "object" ? { ...exported } : {};
        });
        await (pulumi.runtime as any).waitForRPCs?.();
        outputs = await describeValueAsync(outputs ?? {});
    } catch (e: any) {
        error = e?.message ?? String(e);
        // Registrations sent before the failure still reach the engine (which creates
        // those resources): let them land so the run records them. Some never will
        // (their inputs wait on what the failure stopped), so the wait is bounded.
        let settled: NodeJS.Timeout | undefined;
        await Promise.race([
            Promise.resolve((pulumi.runtime as any).waitForRPCs?.()).catch(() => undefined),
            new Promise((resolve) => (settled = setTimeout(resolve, 2_000))),
        ]);
        clearTimeout(settled);
    } finally {
        // A registration that failed after the last RPC settled rejects a tick later.
        await new Promise((resolve) => setImmediate(resolve));
        process.off("unhandledRejection", onRejection);
    }
    // Resources registered before a failure keep their inputs too.
    await Promise.allSettled(describing);
    if (!error && failures.length) error = failures.join("\n");
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const collected = options.collect === undefined ? undefined : (globalThis as Record<symbol, unknown>)[Symbol.for(options.collect)];
    return { project, stack: options.stack, resources, outputs, error, elapsedMs, collected };
}

/**
 * What compiles a TypeScript program as it loads: ts-node, as the Pulumi CLI
 * uses it, from the program's own dependencies or this package's; else tsx,
 * which tollgate depends on, so a program that has neither still runs.
 */
function typeScriptLoader(program: string): string {
    for (const from of [path.dirname(path.resolve(program)), __dirname]) {
        try {
            return require.resolve("ts-node/register/transpile-only", { paths: [from] });
        } catch {
            // not installed there
        }
    }
    return require.resolve("tsx/cjs");
}

/**
 * Evaluates the program in a fresh Node process (so several programs, or the
 * same one with different config, can be evaluated by one caller).
 */
export function runProgramIsolated(options: RunOptions & { timeoutMs?: number }): Promise<ProgramRun> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-run-"));
    const request = path.join(dir, "request.json");
    const result = path.join(dir, "result.json");
    fs.writeFileSync(request, JSON.stringify(options));
    return new Promise((resolve, reject) => {
        const child = child_process.spawn(process.execPath, ["-r", typeScriptLoader(options.program), require.resolve("./child"), request, result], {
            cwd: process.cwd(),
            stdio: ["ignore", "pipe", "pipe"],
            env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
        });
        let stderr = "";
        let stdout = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
        child.on("close", (code) => {
            clearTimeout(timer);
            try {
                const run: ProgramRun = JSON.parse(fs.readFileSync(result, "utf8"));
                (run as any).log = stdout + stderr;
                resolve(run);
            } catch {
                reject(new Error(`program run exited ${code} without a result:\n${stderr || stdout}`));
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
}
