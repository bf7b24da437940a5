/**
 * What the command lines of `npm start`, `npm run sessions`, `npm run data`
 * and `npm run policy` share: the flag parser and help every command derives
 * from its flag table, the error a mistake becomes, the port of the
 * `npm start` store that `--local` reaches, how `--local`, `--endpoint` and
 * `--region` name a DynamoDB, the message for missing AWS credentials, what a
 * second Ctrl-C means, and the one line said about an old Node.js.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { closestName } from "../specs/names";

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

// ---------------------------------------------------------------------------
// Flags: each command declares its flags once, in a table; the parser, the
// help and every error about a flag are derived from that table, so all the
// commands read flags alike and word their mistakes alike.

/** One flag, declared once. */
export interface FlagSpec {
    /** `string` takes a value (`--stack dev` or `--stack=dev`); `boolean` is a switch. */
    readonly type: "string" | "boolean";
    /** The value's name in the help, e.g. `NAME`, `N`, `URL`. */
    readonly value?: string;
    /** One line of help. A required flag's error repeats it, so write it as what the value is. */
    readonly help: string;
    /** A one-letter alias: `h` for `-h`. */
    readonly short?: string;
    /** May be given more than once; the values come as a list. Otherwise the last one counts. */
    readonly multiple?: boolean;
    /** The command refuses to run without it. */
    readonly required?: boolean;
    /** The heading it is listed under in the help; default `Flags`. */
    readonly group?: string;
}

export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** `-h`, `--help`: every command has it, and it short-cuts every other check. */
export const helpFlag = { type: "boolean", short: "h", help: "print this help" } as const satisfies FlagSpec;

/** What a table's flags parse to: a switch a boolean, a repeatable flag a list, any other a string; absent when not given. */
export type FlagValues<T extends FlagTable> = {
    -readonly [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : T[K]["multiple"] extends true ? string[] : string;
};

/** One command of a tool that has several (`sessions create`, `data import`). */
export interface CommandSpec {
    /** One line: what it does. */
    readonly summary: string;
    /** The positional argument it takes, if any (one at most). */
    readonly argument?: { readonly name: string; readonly required: boolean };
    /** Its own flags; the tool's flags come on top. */
    readonly flags: FlagTable;
}

/**
 * How a command is run, as its help and hints say it: through this
 * repository's npm scripts (`npm run --silent sessions --`) from the sources,
 * as `tollgate sessions` from the package a program installed (compiled).
 */
export function invocationOf(npmScript: string, command: string): string {
    const compiled = path.basename(path.resolve(__dirname, "..")) === "dist";
    return compiled ? `tollgate ${command}` : npmScript;
}

/** A tool's whole command line. */
export interface CommandLineSpec {
    /** How it is named in messages: `npm start`, `sessions`, `data`. */
    readonly name: string;
    /** How it is run, up to its arguments: `npm start --`, `npm run --silent sessions --`. */
    readonly invocation: string;
    /** What it does: the help's first paragraph. */
    readonly summary: string;
    /** Flags every command takes (`--help` among them); a tool without commands has only these. */
    readonly flags: FlagTable;
    /** Its commands, the first argument; none for a tool that is one command. */
    readonly commands?: Readonly<Record<string, CommandSpec>>;
    /** The help's last paragraphs: environment variables, exit codes. */
    readonly epilogue?: string;
}

export interface ParsedCommandLine {
    /** The command given, for a tool with commands; undefined with `--help` alone. */
    command?: string;
    /** Flag values by flag name (the table's key), as `FlagValues` types them. */
    values: Record<string, string | boolean | string[] | undefined>;
    /** The command's positional argument. */
    argument?: string;
    /** `--help` or `-h` was given (or `help` as the command): print `helpText`, check nothing else. */
    help: boolean;
}

/** The flags `command` takes: its own, then the tool's. */
export function flagsOf(spec: CommandLineSpec, command?: string): FlagTable {
    return command === undefined ? spec.flags : { ...spec.commands![command].flags, ...spec.flags };
}

/** `sessions create`, `data import`, `npm start`: what a message says it is about. */
function commandLabel(spec: CommandLineSpec, command?: string): string {
    return command === undefined ? spec.name : `${spec.name} ${command}`;
}

const flagName = (name: string) => `--${name}`;

/**
 * Parses `argv` against the spec: the command (for a tool with commands, the
 * first argument that is not a flag or a flag's value), flags, and at most the
 * command's one positional argument, in any order. Every mistake is a UsageError whose message starts with the flag
 * or the argument it is about; an unknown flag or command names the closest
 * known one.
 */
export function parseCommandLine(spec: CommandLineSpec, argv: readonly string[]): ParsedCommandLine {
    if (!spec.commands) return parseFlags(spec, undefined, argv);
    const names = Object.keys(spec.commands);
    const at = commandIndex(spec.flags, argv);
    if (at === undefined) {
        const values = parseFlags(spec, undefined, argv);
        if (values.help) return values;
        throw new UsageError(`a command is required (one of: ${names.join(", ")})`);
    }
    const command = argv[at];
    if (command === "help") return { values: {}, help: true };
    if (!Object.hasOwn(spec.commands, command)) {
        const suggestion = closestName(command, names);
        throw new UsageError(`unknown command '${command}'${suggestion ? `; did you mean '${suggestion}'?` : ` (commands: ${names.join(", ")})`}`);
    }
    return parseFlags(spec, command, [...argv.slice(0, at), ...argv.slice(at + 1)]);
}

/** The command `argv` names, when it names one of the spec's: what a usage error's hint points at. */
export function commandIn(spec: CommandLineSpec, argv: readonly string[]): string | undefined {
    if (!spec.commands) return undefined;
    const at = commandIndex(spec.flags, argv);
    return at !== undefined && Object.hasOwn(spec.commands, argv[at]) ? argv[at] : undefined;
}

/** Where the command is: the first argument that is neither a flag nor the value of one of the tool's own flags before it. */
function commandIndex(flags: FlagTable, argv: readonly string[]): number | undefined {
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--") return i + 1 < argv.length ? i + 1 : undefined;
        if (!arg.startsWith("-") || arg === "-") return i;
        const flag = arg.startsWith("--") ? flags[arg.slice(2)] : undefined;
        if (flag?.type === "string") i++;
    }
    return undefined;
}

function parseFlags(spec: CommandLineSpec, command: string | undefined, argv: readonly string[]): ParsedCommandLine {
    const flags = flagsOf(spec, command);
    const label = commandLabel(spec, command);
    const argumentSpec = command === undefined ? undefined : spec.commands![command].argument;
    const byShort = new Map(Object.entries(flags).flatMap(([name, flag]) => (flag.short ? [[flag.short, name] as const] : [])));
    const { tokens } = parseArgs({ args: [...argv], strict: false, allowPositionals: true, tokens: true, options: {} });
    const values: ParsedCommandLine["values"] = {};
    const positionals: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
        const token = tokens[i];
        if (token.kind === "positional") {
            positionals.push(token.value);
            continue;
        }
        if (token.kind === "option-terminator") continue;
        const name = token.rawName.startsWith("--") ? token.name : byShort.get(token.name);
        const flag = name === undefined ? undefined : flags[name];
        if (!flag || name === undefined) {
            const known = Object.keys(flags);
            const suggestion = token.rawName.startsWith("--") ? closestName(token.name, known) : undefined;
            throw new UsageError(
                `${token.rawName}: not a flag of '${label}'${suggestion ? `; did you mean ${flagName(suggestion)}?` : ` (flags: ${known.map(flagName).join(", ")})`}`,
            );
        }
        const shown = flagName(name);
        if (flag.type === "boolean") {
            if (token.inlineValue) throw new UsageError(`${shown}: takes no value (it is a switch), got '${token.value}'`);
            values[name] = true;
            continue;
        }
        // node:util takes the next argument as the value; one that looks like a flag is the user forgetting the value.
        let value = token.value;
        if (!token.inlineValue) {
            const next = tokens[i + 1];
            value = next?.kind === "positional" ? next.value : undefined;
            if (value !== undefined) i++;
        }
        if (value === undefined) throw new UsageError(`${shown}: needs a value (${shown} ${flag.value ?? "VALUE"})`);
        if (flag.multiple) values[name] = [...((values[name] as string[] | undefined) ?? []), value];
        else values[name] = value;
    }
    const help = values.help === true;
    if (help) return { command, values, help };

    if (positionals.length > 0 && !argumentSpec) {
        throw new UsageError(`'${positionals[0]}': unexpected argument; a value goes after its flag (flags: ${Object.keys(flags).map(flagName).join(", ")})`);
    }
    if (positionals.length > 1) throw new UsageError(`'${positionals[1]}': unexpected argument; ${label} takes one ${argumentSpec!.name}`);
    if (argumentSpec?.required && positionals.length === 0) throw new UsageError(`${argumentSpec.name}: required (${spec.invocation} ${command} ${argumentSpec.name})`);
    for (const [name, flag] of Object.entries(flags)) {
        if (flag.required && (values[name] === undefined || values[name] === "")) throw new UsageError(`${flagName(name)}: required (${flag.help})`);
    }
    return { command, values, argument: positionals[0], help };
}

/** `--stack NAME`, `-h, --help`: a flag as the help shows it. */
function flagUsage(name: string, flag: FlagSpec): string {
    const long = flag.type === "string" ? `${flagName(name)} ${flag.value ?? "VALUE"}` : flagName(name);
    return flag.short ? `-${flag.short}, ${long}` : long;
}

const helpColumn = 24;

function helpRows(rows: [string, string][]): string[] {
    return rows.map(([left, right]) => (left.length + 2 >= helpColumn ? `  ${left}\n${" ".repeat(helpColumn)}${right}` : `  ${left.padEnd(helpColumn - 2)}${right}`));
}

/** The flags under their headings (`Flags:`, `Where:`), in the table's order. */
function flagSections(flags: FlagTable): string[] {
    const groups = new Map<string, [string, string][]>();
    for (const [name, flag] of Object.entries(flags)) {
        const group = flag.group ?? "Flags";
        groups.set(group, [...(groups.get(group) ?? []), [flagUsage(name, flag), flag.help]]);
    }
    return [...groups].map(([group, rows]) => `${group}:\n${helpRows(rows).join("\n")}`);
}

/** `create --user ID [--ttl SECONDS]`: the command, its argument and its flags, required ones first; `[flags]` when the line would run long. */
function synopsis(name: string | undefined, argument: CommandSpec["argument"], flagTable: FlagTable): string {
    const argumentShown = argument ? [argument.required ? argument.name : `[${argument.name}]`] : [];
    const flags = Object.entries(flagTable).filter(([key]) => key !== "help");
    const required = flags.filter(([, flag]) => flag.required).map(([key, flag]) => flagUsage(key, flag));
    const optional = flags.filter(([, flag]) => !flag.required).map(([key, flag]) => `[${flagUsage(key, flag)}]`);
    const head = name === undefined ? [] : [name];
    const full = [...head, ...argumentShown, ...required, ...optional].join(" ");
    return full.length <= 100 || optional.length === 0 ? full : [...head, ...argumentShown, ...required, "[flags]"].join(" ");
}

/** The help: usage, what it does, the commands (or the command's flags), the tool's flags, the epilogue. */
export function helpText(spec: CommandLineSpec, command?: string): string {
    const parts: string[] = [];
    if (command !== undefined) {
        const own = spec.commands![command];
        parts.push(`Usage: ${spec.invocation} ${synopsis(command, own.argument, own.flags)}`, own.summary);
        if (Object.keys(own.flags).length > 0) parts.push(...flagSections(own.flags));
        parts.push(...flagSections(spec.flags));
    } else {
        parts.push(`Usage: ${spec.invocation} ${spec.commands ? "<command> [flags]" : synopsis(undefined, undefined, spec.flags)}`, spec.summary);
        if (spec.commands) {
            const rows = Object.entries(spec.commands).map(([name, own]): [string, string] => [synopsis(name, own.argument, own.flags), own.summary]);
            parts.push(`Commands:\n${helpRows(rows).join("\n")}\n\n${spec.invocation} <command> --help lists a command's own flags.`);
        }
        parts.push(...flagSections(spec.flags));
    }
    if (spec.epilogue) parts.push(spec.epilogue.trimEnd());
    return `${parts.join("\n\n")}\n`;
}

/** The line printed under a usage error: where the flags are listed. */
export function usageHint(spec: CommandLineSpec, command?: string): string {
    return `Run \`${spec.invocation}${command === undefined ? "" : ` ${command}`} --help\` for the flags.`;
}

// ---------------------------------------------------------------------------
// AWS credentials: the sessions and data commands say the same thing, with
// the same exit code, when there are none (or AWS refuses them).

/** The exit code of a command that found no AWS credentials it could use, in every command. */
export const noCredentialsExitCode = 4;

/** Errors whose name says the credentials themselves were refused, not the operation. */
const refusedCredentials = new Set(["UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "InvalidClientTokenId", "ExpiredToken"]);

/**
 * The one message for an AWS call that failed for want of credentials, or
 * undefined when `error` is about something else. `where` is the target as
 * the command describes it (`AWS eu-west-1`).
 */
export function credentialsProblem(error: unknown, where: string): string | undefined {
    const name = (error as { name?: unknown } | undefined)?.name;
    const message = String((error as Error | undefined)?.message ?? "");
    const howTo = "configure them (AWS_PROFILE, `aws configure`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or use --local for the npm start store or --endpoint URL for another DynamoDB";
    if (name === "CredentialsProviderError" || /could not load credentials/i.test(message)) {
        return `no AWS credentials for ${where} (${message || String(name)}); ${howTo}`;
    }
    if (typeof name === "string" && refusedCredentials.has(name)) return `AWS refused the credentials for ${where} (${name}); ${howTo}`;
    return undefined;
}

// ---------------------------------------------------------------------------
// Ctrl-C. A terminal signals its whole foreground process group at once: the
// command, and npm, whose run-script passes its own SIGINT on to the script it
// runs (@npmcli/run-script's signal manager). Whether the command then sees
// one SIGINT or two depends on whether npm's copy arrives before the first
// was taken (the kernel merges a pending signal with a new one), so a second
// copy within a moment is the same Ctrl-C, not a second one.

/** How long after a stop signal the same signal again is still the same request. */
export const sameSignalMs = 1000;

export interface ReceivedSignal {
    signal: NodeJS.Signals;
    /** When it was taken, in ms on a monotonic clock. */
    at: number;
}

/**
 * What a stop signal asks for, given the first one taken (if any): the first
 * stops the command; the same signal within `sameSignalMs` of it is that
 * request again; anything later or different is a request to exit now.
 */
export function stopSignalMeaning(first: ReceivedSignal | undefined, received: ReceivedSignal): "stop" | "same" | "exit now" {
    if (!first) return "stop";
    return received.signal === first.signal && received.at - first.at < sameSignalMs ? "same" : "exit now";
}
