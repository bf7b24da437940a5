/**
 * Command-line flags and environment variables of `npm start`, parsed and
 * checked in one place. Every problem is a UsageError naming the flag or the
 * variable, so main.ts can print it and exit 2 before anything starts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
    helpFlag,
    helpText,
    localStore,
    parseCommandLine,
    parsePort,
    stackNameOfFile,
    UsageError,
    invocationOf,
    type CommandLineSpec,
    type FlagTable,
    type FlagValues,
} from "../data/commandLine";

export interface LocalOptions {
    /** Stack whose `Pulumi.<stack>.yaml` supplies routes and settings. */
    stack: string;
    /** Explicit stack file (`--config`); the stack name then defaults to the one in the file name. */
    configFile?: string;
    /** Port of the gateway on 127.0.0.1. */
    port: number;
    /** Port of the inspector on 127.0.0.1 (`--inspector-port`); unset: the gateway's port + 1 when free, else a free one. */
    inspectorPort?: number;
    /** Port of the embedded store on 127.0.0.1 (`DYNAMODB_PORT`), so the sessions command can reach it. */
    dynamoPort: number;
    /** Keep the store in memory only: nothing written, nothing kept after stop. */
    memory: boolean;
    /** Where the store keeps its data unless `memory`; default `.tollgate/<stack>/` in the project. */
    dataDir: string;
    /** Route name -> upstream URL replacing the built-in echo upstream for that route. */
    upstreams: Map<string, string>;
    /** HS256 secret from `TOLLGATE_JWT_SECRET`, which overrides `tollgate:jwtSecret`. */
    jwtSecretFromEnv?: string;
    /** A Pulumi program (its directory or entry file) whose Tollgate to run, instead of a stack file's `tollgate:*` keys. */
    program?: string;
    /** With `program`: the name of the Tollgate to run, when the program has several. */
    gateway?: string;
    help: boolean;
}

export const defaults = { stack: "dev", port: 3000, dynamoPort: localStore.defaultPort } as const;

export const envNames = {
    port: "PORT",
    dynamoPort: localStore.portVariable,
    jwtSecret: "TOLLGATE_JWT_SECRET",
} as const;

/** `npm start`'s flags, declared once: the parser, the help and every flag error come from this table. */
export const startFlags = {
    stack: { type: "string", value: "NAME", help: `stack whose Pulumi.<NAME>.yaml is read (default ${defaults.stack})` },
    config: { type: "string", value: "FILE", help: "read this stack file instead (stack name taken from Pulumi.<name>.yaml)" },
    program: { type: "string", value: "DIR", help: "run the Tollgate a Pulumi program creates (its directory or entry file), with its Pulumi.<stack>.yaml" },
    gateway: { type: "string", value: "NAME", help: "with --program: the Tollgate to run, by its name, when the program creates several" },
    port: { type: "string", value: "N", help: `gateway port on 127.0.0.1 (default ${defaults.port}; env ${envNames.port}; 0 picks a free one)` },
    "inspector-port": { type: "string", value: "N", help: "inspector page port on 127.0.0.1 (default: the gateway port + 1 when free, else a free one; 0 picks a free one)" },
    upstream: { type: "string", value: "NAME=URL", multiple: true, help: "send route NAME to URL instead of the built-in echo upstream (repeatable)" },
    memory: { type: "boolean", help: "keep data in memory only (default: kept under .tollgate/<stack>/)" },
    "data-dir": { type: "string", value: "DIR", help: "keep data in DIR instead of .tollgate/<stack>/" },
    help: helpFlag,
} as const satisfies FlagTable;

export const startCommandLine: CommandLineSpec = {
    name: "npm start",
    invocation: invocationOf("npm start --", "start"),
    summary: `Runs the tollgate gateway on this machine: an embedded DynamoDB-compatible store
(dynalite), the tables of the stack, and the gateway handler behind an emulation
of API Gateway HTTP API (payload format 2.0). No cloud account, Java or Docker.`,
    flags: startFlags,
    epilogue: `Environment:
  ${envNames.port.padEnd(22)}gateway port (the --port flag wins)
  ${envNames.dynamoPort.padEnd(22)}embedded store port on 127.0.0.1 (default ${defaults.dynamoPort}); the sessions and data commands' --local use the same
  ${envNames.jwtSecret.padEnd(22)}HS256 secret for jwt/any routes; overrides tollgate:jwtSecret`,
};

export const usage = helpText(startCommandLine);

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, projectDir: string): LocalOptions {
    const parsed = parseCommandLine(startCommandLine, argv);
    const values = parsed.values as FlagValues<typeof startFlags>;
    if (values.program !== undefined && values.config !== undefined) {
        throw new UsageError("--program and --config exclude each other: a program reads its own Pulumi.<stack>.yaml");
    }
    if (values.gateway !== undefined && values.program === undefined) throw new UsageError("--gateway: only with --program (it names one of the program's Tollgates)");
    if (values.memory && values["data-dir"] !== undefined) {
        throw new UsageError("--memory and --data-dir exclude each other: --memory keeps nothing on disk");
    }
    const stack = values.stack ?? (values.config ? stackNameOfFile(values.config) : undefined) ?? defaults.stack;
    if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new UsageError(`--stack: '${stack}' is not a stack name (letters, digits, '_', '.', '-')`);

    const port =
        values.port !== undefined
            ? parsePort(values.port, "--port", { allowZero: true })
            : env[envNames.port]
              ? parsePort(env[envNames.port]!, envNames.port, { allowZero: true })
              : defaults.port;
    const inspectorPort = values["inspector-port"] !== undefined ? parsePort(values["inspector-port"], "--inspector-port", { allowZero: true }) : undefined;
    const dynamoPort = env[envNames.dynamoPort] ? parsePort(env[envNames.dynamoPort]!, envNames.dynamoPort, { allowZero: true }) : defaults.dynamoPort;
    if (port === dynamoPort && port !== 0) {
        throw new UsageError(`--port/${envNames.port} and ${envNames.dynamoPort} are both ${port}: the gateway and the store need a port each`);
    }

    if (inspectorPort !== undefined && inspectorPort !== 0 && (inspectorPort === port || inspectorPort === dynamoPort)) {
        throw new UsageError(`--inspector-port: ${inspectorPort} is the ${inspectorPort === port ? "gateway's" : "store's"} port; the inspector needs one of its own`);
    }

    const jwtSecretFromEnv = env[envNames.jwtSecret] || undefined;
    if (jwtSecretFromEnv !== undefined && jwtSecretFromEnv.length < 32) {
        throw new UsageError(`${envNames.jwtSecret}: must be at least 32 characters (HS256 wants 256 bits)`);
    }

    return {
        stack,
        configFile: values.config !== undefined ? path.resolve(values.config) : undefined,
        port,
        ...(inspectorPort !== undefined ? { inspectorPort } : {}),
        dynamoPort,
        memory: values.memory ?? false,
        dataDir: path.resolve(values["data-dir"] ?? path.join(values.program !== undefined ? programDirOf(values.program) : projectDir, ".tollgate", stack)),
        upstreams: parseUpstreams(values.upstream ?? []),
        jwtSecretFromEnv,
        program: values.program,
        gateway: values.gateway,
        help: parsed.help,
    };
}

/** The directory of a program given by its directory or its entry file. */
function programDirOf(program: string): string {
    const target = path.resolve(program);
    return fs.existsSync(target) && fs.statSync(target).isFile() ? path.dirname(target) : target;
}

/** `NAME=URL` pairs; the names are checked against the stack's routes later, once they are known. */
function parseUpstreams(pairs: string[]): Map<string, string> {
    const upstreams = new Map<string, string>();
    for (const pair of pairs) {
        const at = pair.indexOf("=");
        if (at <= 0) throw new UsageError(`--upstream: '${pair}' is not NAME=URL (for example --upstream products=http://127.0.0.1:8080)`);
        const name = pair.slice(0, at);
        const url = pair.slice(at + 1);
        if (upstreams.has(name)) throw new UsageError(`--upstream: route '${name}' is given twice`);
        if (!isUpstreamUrl(url)) throw new UsageError(`--upstream ${name}: '${url}' must be an http(s) URL without query or fragment`);
        upstreams.set(name, url.replace(/\/+$/, ""));
    }
    return upstreams;
}

function isUpstreamUrl(value: string): boolean {
    try {
        const url = new URL(value);
        return (url.protocol === "http:" || url.protocol === "https:") && !url.search && !url.hash;
    } catch {
        return false;
    }
}

/** Fails on an `--upstream` naming no route of the stack, listing the names that exist. */
export function checkUpstreamNames(upstreams: Map<string, string>, routeNames: string[]): void {
    for (const name of upstreams.keys()) {
        if (!routeNames.includes(name)) {
            throw new UsageError(`--upstream ${name}: no route named '${name}' in this stack (routes: ${routeNames.join(", ") || "none"})`);
        }
    }
}
