/**
 * `npm run data -- <command> [flags]`: get data into and out of tollgate's
 * tables (seed, migrate, export, import, verify). Parses the command line,
 * resolves the stack and the store, and hands over to data/commands.
 * Exit codes: 0 done, 1 failed (bad input with --on-error stop, a write
 * DynamoDB refused), 2 usage error (the message names the flag), 3 verify
 * found differences, 4 no AWS credentials, 130 interrupted (Ctrl-C; an
 * import says where to resume). The flags are the table in `dataCommandLine`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import {
    commandIn,
    credentialsProblem,
    helpFlag,
    helpText,
    noCredentialsExitCode,
    parseCommandLine,
    stopSignalMeaning,
    usageHint,
    UsageError,
    invocationOf,
    type CommandLineSpec,
    type FlagTable,
    type ParsedCommandLine,
    type ReceivedSignal,
} from "../data/commandLine";
import { defaultCheckpointFile } from "../data/checkpoint";
import {
    exitCodes,
    exportCommand,
    loadFileCommand,
    migrateCommand,
    verifyCommand,
    type CommandIo,
    type CommonOptions,
} from "../data/commands";
import { itemFormats, type ItemFormat } from "../data/itemFormat";
import { MappingError } from "../data/migrate";
import type { ProgressMode } from "../data/progress";
import { resolveTarget, type DataTarget } from "../data/target";

export interface DataCliIo {
    stdout: NodeJS.WritableStream;
    stderr: NodeJS.WritableStream & { isTTY?: boolean };
    env: NodeJS.ProcessEnv;
    /** Ctrl-C: stop reading, finish what is in flight, say where the run stopped. */
    signal?: AbortSignal;
    /** Where relative paths start. Default: INIT_CWD (npm runs scripts in the project root, not where you typed the command). */
    cwd?: string;
}

/** Which tables and where, and how the command reports: every command takes these. */
const toolFlags = {
    stack: { type: "string", value: "NAME", group: "Where (default: AWS, in the stack's aws:region)", help: "stack whose tables and prefix to use (default dev)" },
    config: { type: "string", value: "FILE", group: "Where (default: AWS, in the stack's aws:region)", help: "a stack file to read instead of Pulumi.<stack>.yaml" },
    local: { type: "boolean", group: "Where (default: AWS, in the stack's aws:region)", help: "the npm start store at http://127.0.0.1:$DYNAMODB_PORT (default 8000)" },
    endpoint: { type: "string", value: "URL", group: "Where (default: AWS, in the stack's aws:region)", help: "any DynamoDB endpoint (DynamoDB Local, dynalite)" },
    region: { type: "string", value: "REGION", group: "Where (default: AWS, in the stack's aws:region)", help: "AWS region" },
    "max-attempts": { type: "string", value: "N", group: "Any command", help: "attempts per request and per batch retry (default 5)" },
    progress: { type: "string", value: "auto|bar|lines|none", group: "Any command", help: "progress on stderr (default auto: a bar on a terminal)" },
    json: { type: "boolean", group: "Any command", help: "the result as one JSON object on stdout" },
    help: helpFlag,
} as const satisfies FlagTable;

const table = { type: "string", value: "NAME", required: true, help: "the table's spec name, e.g. users, or its physical name" } as const;
const onError = { type: "string", value: "skip|stop", help: "bad records: skip them (reported by line) or stop there (default stop)" } as const;
const concurrency = { type: "string", value: "N", help: "batches of 25 in flight (default 8)" } as const;
const createTable = { type: "boolean", help: "create missing tables from their specs (--local or --endpoint only)" } as const;
const inputFormat = { type: "string", value: "auto|plain|dynamodb", help: 'how lines are read (default auto: {"Item":{...}} is DynamoDB JSON)' } as const;
const segments = { type: "string", value: "N", help: "parallel scan segments (default 4)" } as const;
const consistent = { type: "boolean", help: "strongly consistent scan" } as const;

const seedFlags = {
    table,
    file: { type: "string", value: "F", required: true, help: "the JSON array or JSON lines file to load" },
    format: inputFormat,
    "on-error": onError,
    concurrency,
    "create-table": createTable,
} as const satisfies FlagTable;
const importFlags = {
    ...seedFlags,
    file: { type: "string", value: "F", required: true, help: "the JSON lines file to load (an array works too; .gz is read as gzip)" },
    resume: { type: "boolean", help: "continue after the checkpoint's last committed line" },
    "from-line": { type: "string", value: "N", help: "start at line N" },
    checkpoint: { type: "string", value: "F", help: "the checkpoint file (default <file>.checkpoint.json)" },
} as const satisfies FlagTable;
const exportFlags = {
    table,
    out: { type: "string", value: "F", help: "write here (to F.partial until complete); default stdout" },
    format: { type: "string", value: "dynamodb|plain", help: "lossless DynamoDB JSON (default) or plain JSON" },
    segments,
    consistent,
} as const satisfies FlagTable;
const verifyFlags = {
    table,
    file: { type: "string", value: "F", required: true, help: "the JSON lines file to compare the table with" },
    format: inputFormat,
    "on-error": onError,
    segments,
    consistent,
    "max-listed": { type: "string", value: "N", help: "keys listed per kind of difference (default 20)" },
} as const satisfies FlagTable;
const migrateFlags = {
    from: { type: "string", value: "db.json", required: true, help: "the json-server db.json file to migrate" },
    mapping: { type: "string", value: "M", required: true, help: "the mapping file: collection -> table" },
    "on-error": onError,
    concurrency,
    "create-table": createTable,
} as const satisfies FlagTable;

/** The data commands and their flags, declared once: the parser, the help and every flag error come from this. */
export const dataCommandLine: CommandLineSpec = {
    name: "data",
    invocation: invocationOf("npm run data --", "data"),
    summary: "Gets data into and out of a stack's tables: seed, import, export, verify, migrate.",
    flags: toolFlags,
    commands: {
        seed: { summary: "load a JSON array or JSON lines file (fixtures)", flags: seedFlags },
        import: { summary: "bulk load JSON lines, resumable (--resume, --from-line N)", flags: importFlags },
        export: { summary: "parallel scan to JSON lines (stdout without --out)", flags: exportFlags },
        verify: { summary: "compare a table with a file: missing, extra, different items", flags: verifyFlags },
        migrate: { summary: "a json-server db.json into the tables the mapping names", flags: migrateFlags },
    },
    epilogue: `Exit codes: ${exitCodes.ok} done, ${exitCodes.failed} failed, ${exitCodes.usage} usage error, ${exitCodes.differences} verify found differences, ${noCredentialsExitCode} no AWS credentials, ${exitCodes.interrupted} interrupted.`,
};

export const usage = helpText(dataCommandLine);

type Values = ParsedCommandLine["values"];

class Flags {
    constructor(
        private readonly values: Values,
        private readonly cwd: string,
    ) {}

    string(name: string): string | undefined {
        const value = this.values[name];
        return typeof value === "string" ? value : undefined;
    }

    boolean(name: string): boolean {
        return this.values[name] === true;
    }

    /** A flag the table marks required: the parser has checked it is there. */
    required(name: string): string {
        const value = this.string(name);
        if (value === undefined) throw new UsageError(`--${name}: required`);
        return value;
    }

    integer(name: string, fallback: number, min: number, max: number): number {
        const text = this.string(name);
        if (text === undefined) return fallback;
        const value = Number(text);
        if (!/^\d+$/.test(text) || value < min || value > max) throw new UsageError(`--${name}: must be a whole number from ${min} to ${max}, got '${text}'`);
        return value;
    }

    choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
        const value = this.string(name) ?? fallback;
        if (!choices.includes(value as T)) throw new UsageError(`--${name}: must be ${choices.join(", ")}; got '${value}'`);
        return value as T;
    }

    path(name: string): string | undefined {
        const value = this.string(name);
        return value === undefined ? undefined : path.resolve(this.cwd, value);
    }

    existingFile(name: string): string {
        const file = path.resolve(this.cwd, this.required(name));
        if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`--${name}: no such file ${file}`);
        return file;
    }
}

/** Runs one data command; returns the exit code. */
export async function runDataCli(argv: string[], io: DataCliIo): Promise<number> {
    // For messages: `data import: ...`, or `data: ...` before a command is known.
    const label = ["data", commandIn(dataCommandLine, argv)].filter(Boolean).join(" ");
    let target: DataTarget | undefined;
    try {
        const parsed = parseCommandLine(dataCommandLine, argv);
        if (parsed.help) {
            io.stdout.write(helpText(dataCommandLine, parsed.command));
            return exitCodes.ok;
        }
        const command = parsed.command!;
        const flags = new Flags(parsed.values, io.cwd ?? io.env.INIT_CWD ?? process.cwd());
        const commandIo: CommandIo = {
            stdout: io.stdout,
            stderr: io.stderr,
            signal: io.signal,
            progress: flags.choice<ProgressMode>("progress", ["auto", "bar", "lines", "none"], "auto"),
            json: flags.boolean("json"),
        };
        const configFile = flags.path("config");
        if (configFile && !fs.existsSync(configFile)) throw new UsageError(`--config: no such file ${configFile}`);
        target = resolveTarget(
                { stack: flags.string("stack"), config: configFile, local: flags.boolean("local"), endpoint: flags.string("endpoint"), region: flags.string("region") },
            io.env,
        );
        const common: CommonOptions = { target, maxAttempts: flags.integer("max-attempts", 5, 1, 20) };
        const onError = () => flags.choice("on-error", ["skip", "stop"] as const, "stop");
        switch (command) {
            case "seed":
            case "import": {
                const file = flags.existingFile("file");
                const resume = flags.boolean("resume");
                if (resume && flags.string("from-line") !== undefined) throw new UsageError("--from-line: cannot be combined with --resume (the checkpoint says where to start)");
                return await loadFileCommand(
                    command,
                    {
                        ...common,
                        table: flags.required("table"),
                        file,
                        format: flags.choice<ItemFormat>("format", itemFormats, "auto"),
                        onError: onError(),
                        concurrency: flags.integer("concurrency", 8, 1, 64),
                        createTable: flags.boolean("create-table"),
                        resume,
                        fromLine: flags.string("from-line") === undefined ? undefined : flags.integer("from-line", 1, 1, Number.MAX_SAFE_INTEGER),
                        checkpointFile: flags.path("checkpoint") ?? defaultCheckpointFile(file),
                    },
                    commandIo,
                );
            }
            case "export":
                return await exportCommand(
                    {
                        ...common,
                        table: flags.required("table"),
                        out: flags.path("out"),
                        format: flags.choice("format", ["dynamodb", "plain"] as const, "dynamodb"),
                        segments: flags.integer("segments", 4, 1, 1000),
                        consistent: flags.boolean("consistent"),
                    },
                    commandIo,
                );
            case "verify":
                return await verifyCommand(
                    {
                        ...common,
                        table: flags.required("table"),
                        file: flags.existingFile("file"),
                        format: flags.choice<ItemFormat>("format", itemFormats, "auto"),
                        onError: onError(),
                        segments: flags.integer("segments", 4, 1, 1000),
                        consistent: flags.boolean("consistent"),
                        maxListed: flags.integer("max-listed", 20, 0, Number.MAX_SAFE_INTEGER),
                    },
                    commandIo,
                );
            default:
                return await migrateCommand(
                    {
                        ...common,
                        from: flags.existingFile("from"),
                        mapping: flags.existingFile("mapping"),
                        onError: onError(),
                        concurrency: flags.integer("concurrency", 8, 1, 64),
                        createTable: flags.boolean("create-table"),
                    },
                    commandIo,
                );
        }
    } catch (error) {
        if (error instanceof UsageError) {
            io.stderr.write(`${label}: ${error.message}\n${usageHint(dataCommandLine, commandIn(dataCommandLine, argv))}\n`);
            return exitCodes.usage;
        }
        if (error instanceof MappingError) {
            io.stderr.write(`${label}: ${error.message}\n`);
            return exitCodes.failed;
        }
        const credentials = target && credentialsProblem(error, target.description);
        if (credentials) {
            io.stderr.write(`${label}: ${credentials}\n`);
            return noCredentialsExitCode;
        }
        const name = (error as Error)?.name;
        const detail = name && name !== "Error" ? `${name}: ${(error as Error).message}` : (error as Error)?.message ?? String(error);
        io.stderr.write(`${label}: ${detail}\n`);
        return exitCodes.failed;
    }
}

/** Runs the command in this process with these arguments; sets the exit code. */
export function runDataCommand(argv: string[]): void {
    // One-shot command: the SDK's nine-line Node.js version warning would bury its own output (npm start says it in one line).
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const controller = new AbortController();
    // In a terminal one Ctrl-C may arrive twice (npm passes on the SIGINT the terminal sent it too): that is still one.
    let first: ReceivedSignal | undefined;
    process.on("SIGINT", (signal: NodeJS.Signals) => {
        const received = { signal, at: performance.now() };
        switch (stopSignalMeaning(first, received)) {
            case "stop":
                first = received;
                process.stderr.write("\nstopping: finishing the writes in flight (Ctrl-C again to quit at once)\n");
                controller.abort();
                return;
            case "same":
                return;
            case "exit now":
                process.stderr.write("quit; an import's checkpoint file holds the last committed line\n");
                process.exit(exitCodes.interrupted);
        }
    });
    runDataCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal }).then(
        (code) => {
            process.exitCode = code;
        },
        (error) => {
            process.stderr.write(`data: ${error?.stack ?? error}\n`);
            process.exitCode = exitCodes.failed;
        },
    );
}

if (require.main === module) runDataCommand(process.argv.slice(2));
