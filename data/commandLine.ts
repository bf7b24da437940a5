/**
 * What the command lines of `npm start`, `npm run sessions` and `npm run data`
 * share: the error a mistake becomes, the port of the `npm start` store that
 * `--local` reaches, how `--local`, `--endpoint` and `--region` name a
 * DynamoDB, and the one line said about an old Node.js.
 */
import * as path from "node:path";

/** A command-line mistake; the message starts with the flag or variable it is about. Exit code 2. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** `npm start` runs its store on 127.0.0.1:$DYNAMODB_PORT; the sessions and data commands' `--local` goes there. */
export const localStore = { portVariable: "DYNAMODB_PORT", defaultPort: 8000 } as const;

/** A TCP port given as `where` (a flag or variable). 0, a free port, only for a server that reports the port it got. */
export function parsePort(text: string, where: string, options: { allowZero: boolean }): number {
    const port = Number(text);
    const lowest = options.allowZero ? 0 : 1;
    if (!/^\d+$/.test(text.trim()) || !Number.isInteger(port) || port < lowest || port > 65535) {
        throw new UsageError(`${where}: '${text}' is not a port number (${lowest}-65535${options.allowZero ? "; 0 picks a free one" : ""})`);
    }
    return port;
}

/**
 * The DynamoDB that `--local` or `--endpoint` names: `--local` is the
 * `npm start` store; neither is AWS (undefined).
 */
export function storeEndpoint(flags: { local?: boolean; endpoint?: string }, env: NodeJS.ProcessEnv): string | undefined {
    if (flags.local && flags.endpoint !== undefined) throw new UsageError("--endpoint: cannot be combined with --local (--local means the npm start store)");
    if (flags.local) {
        const variable = env[localStore.portVariable];
        const port = variable ? parsePort(variable, localStore.portVariable, { allowZero: false }) : localStore.defaultPort;
        return `http://127.0.0.1:${port}`;
    }
    if (flags.endpoint !== undefined) {
        let protocol: string | undefined;
        try {
            protocol = new URL(flags.endpoint).protocol;
        } catch {
            // reported below
        }
        if (protocol !== "http:" && protocol !== "https:") throw new UsageError(`--endpoint: '${flags.endpoint}' is not an http(s) URL`);
    }
    return flags.endpoint;
}

/** `--region`, else the stack's `aws:region`, else the SDK's variables; a local endpoint takes any region. */
export function storeRegion(flag: string | undefined, stackRegion: string | undefined, endpoint: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
    return flag ?? stackRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (endpoint ? "us-east-1" : undefined);
}

/** `Pulumi.local-test.yaml` -> `local-test`; undefined for a file not named like a stack file. */
export function stackNameOfFile(file: string): string | undefined {
    return /^Pulumi\.([^.]+(?:\.[^.]+)*)\.ya?ml$/.exec(path.basename(file))?.[1];
}

/** The Node.js major the AWS SDK's releases from January 2027 require. */
const sdkNodeMajor = 22;

/**
 * The AWS SDK warns about a Node.js it will stop supporting in nine lines on
 * every command; say it once, in one line, and silence the SDK's copy. Call
 * before anything loads the SDK.
 */
export function nodeVersionNotice(env: NodeJS.ProcessEnv, version = process.version): string | undefined {
    const major = Number(/^v(\d+)/.exec(version)?.[1]);
    if (!(major < sdkNodeMajor) || env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === "true") return undefined;
    env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
    return `note: Node.js ${version} works, but AWS SDK releases from January 2027 need Node.js ${sdkNodeMajor} or later`;
}
