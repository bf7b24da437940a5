/**
 * `npm run data -- <command> [flags]`: get data into and out of tollgate's
 * tables (seed, migrate, export, import, verify). Parses the command line,
 * resolves the stack and the store, and hands over to data/commands.
 * Exit codes: 0 done, 1 failed (bad input with --on-error stop, a write
 * DynamoDB refused), 2 usage error (the message names the flag), 3 verify
 * found differences, 130 interrupted (Ctrl-C; an import says where to resume).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../data/commandLine";
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
import { resolveTarget } from "../data/target";

export interface DataCliIo {
    stdout: NodeJS.WritableStream;
    stderr: NodeJS.WritableStream & { isTTY?: boolean };
    env: NodeJS.ProcessEnv;
    /** Ctrl-C: stop reading, finish what is in flight, say where the run stopped. */
    signal?: AbortSignal;
    /** Where relative paths start. Default: INIT_CWD (npm runs scripts in the project root, not where you typed the command). */
    cwd?: string;
}

type OptionSpec = { type: "string" | "boolean"; short?: string };

const targetFlags: Record<string, OptionSpec> = {
    stack: { type: "string" },
    config: { type: "string" },
    local: { type: "boolean" },
    endpoint: { type: "string" },
    region: { type: "string" },
    "max-attempts": { type: "string" },
    progress: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
};

const flagsOf: Record<string, Record<string, OptionSpec>> = {
    seed: { table: { type: "string" }, file: { type: "string" }, format: { type: "string" }, "on-error": { type: "string" }, concurrency: { type: "string" }, "create-table": { type: "boolean" } },
    import: {
        table: { type: "string" },
        file: { type: "string" },
        format: { type: "string" },
        "on-error": { type: "string" },
        concurrency: { type: "string" },
        "create-table": { type: "boolean" },
        resume: { type: "boolean" },
        "from-line": { type: "string" },
        checkpoint: { type: "string" },
    },
    export: { table: { type: "string" }, out: { type: "string" }, format: { type: "string" }, segments: { type: "string" }, consistent: { type: "boolean" } },
    verify: {
        table: { type: "string" },
        file: { type: "string" },
        format: { type: "string" },
        "on-error": { type: "string" },
        segments: { type: "string" },
        consistent: { type: "boolean" },
        "max-listed": { type: "string" },
    },
    migrate: { from: { type: "string" }, mapping: { type: "string" }, "on-error": { type: "string" }, concurrency: { type: "string" }, "create-table": { type: "boolean" } },
};

export const usage = `Usage: npm run data -- <command> [flags]

Commands:
  seed    --table NAME --file F            load a JSON array or JSON lines file
  import  --table NAME --file F            bulk load JSON lines, resumable (--resume, --from-line N)
  export  --table NAME [--out F]           parallel scan to JSON lines (stdout without --out)
  verify  --table NAME --file F            compare a table with a file: missing, extra, different items
  migrate --from db.json --mapping M       a json-server db.json into the tables the mapping names

Where (default: AWS, in the stack's aws:region):
  --stack NAME        stack whose tables and prefix to use (default dev)
  --config FILE       a stack file to read instead of Pulumi.<stack>.yaml
  --local             the npm start store at http://127.0.0.1:$DYNAMODB_PORT (default 8000)
  --endpoint URL      any DynamoDB endpoint (DynamoDB Local, dynalite)
  --region REGION     AWS region

Loading (seed, import, migrate):
  --on-error skip|stop    bad records: skip them (reported by line) or stop there (default stop)
  --format auto|plain|dynamodb   how lines are read (default auto: {"Item":{...}} is DynamoDB JSON)
  --concurrency N         batches of 25 in flight (default 8)
  --create-table          create missing tables from their specs (local stores only)
  --resume                import: continue after the checkpoint's last committed line
  --from-line N           import: start at line N
  --checkpoint F          import: checkpoint file (default <file>.checkpoint.json)

Reading (export, verify):
  --segments N            parallel scan segments (default 4)
  --consistent            strongly consistent scan
  --format dynamodb|plain export: lossless DynamoDB JSON (default) or plain JSON
  --max-listed N          verify: keys listed per kind of difference (default 20)

Any command:
  --max-attempts N        attempts per request and per batch retry (default 5)
  --progress auto|bar|lines|none   progress on stderr (default auto: a bar on a terminal)
  --json                  the result as one JSON object on stdout

Exit codes: 0 done, 1 failed, 2 usage error, 3 verify found differences, 130 interrupted.
`;

type Values = Record<string, string | boolean | undefined>;

function parse(command: string, args: string[]): Values {
    const options = { ...targetFlags, ...flagsOf[command] };
    try {
        return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Values;
    } catch (error) {
        const message = (error as Error).message;
        const known = Object.keys(options).map((name) => `--${name}`).join(", ");
        const unknown = /Unknown option '([^']+)'/.exec(message);
        if (unknown) throw new UsageError(`${unknown[1]}: not a flag of '${command}' (flags: ${known})`);
        const missingValue = /Option '(-[^ ']+)/.exec(message);
        if (missingValue) {
            const flag = missingValue[1].startsWith("--") ? missingValue[1] : missingValue[1].replace(/^-/, "--");
            throw new UsageError(`${flag}: ${/argument missing/.test(message) ? "needs a value" : "takes no value"}`);
        }
        const positional = /Unexpected argument '([^']+)'/.exec(message);
        if (positional) throw new UsageError(`'${positional[1]}': unexpected argument; values go after their flag (flags: ${known})`);
        throw new UsageError(message);
    }
}

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

    required(name: string, what: string): string {
        const value = this.string(name);
        if (value === undefined || value === "") throw new UsageError(`--${name}: required (${what})`);
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

    existingFile(name: string, what: string): string {
        const file = path.resolve(this.cwd, this.required(name, what));
        if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`--${name}: no such file ${file}`);
        return file;
    }
}

/** Runs one data command; returns the exit code. */
export async function runDataCli(argv: string[], io: DataCliIo): Promise<number> {
    const [command, ...args] = argv;
    try {
        if (command === undefined || command === "help" || command === "--help" || command === "-h") {
            (command === undefined ? io.stderr : io.stdout).write(usage);
            return command === undefined ? exitCodes.usage : exitCodes.ok;
        }
        if (!flagsOf[command]) throw new UsageError(`unknown command '${command}' (commands: ${Object.keys(flagsOf).join(", ")})`);
        const values = parse(command, args);
        if (values.help) {
            io.stdout.write(usage);
            return exitCodes.ok;
        }
        const flags = new Flags(values, io.cwd ?? io.env.INIT_CWD ?? process.cwd());
        const commandIo: CommandIo = {
            stdout: io.stdout,
            stderr: io.stderr,
            signal: io.signal,
            progress: flags.choice<ProgressMode>("progress", ["auto", "bar", "lines", "none"], "auto"),
            json: flags.boolean("json"),
        };
        const configFile = flags.path("config");
        if (configFile && !fs.existsSync(configFile)) throw new UsageError(`--config: no such file ${configFile}`);
        const common: CommonOptions = {
            target: resolveTarget(
                { stack: flags.string("stack"), config: configFile, local: flags.boolean("local"), endpoint: flags.string("endpoint"), region: flags.string("region") },
                io.env,
            ),
            maxAttempts: flags.integer("max-attempts", 5, 1, 20),
        };
        const onError = () => flags.choice("on-error", ["skip", "stop"] as const, "stop");
        switch (command) {
            case "seed":
            case "import": {
                const file = flags.existingFile("file", "the JSON lines or JSON array file to load");
                const resume = flags.boolean("resume");
                if (resume && flags.string("from-line") !== undefined) throw new UsageError("--from-line: cannot be combined with --resume (the checkpoint says where to start)");
                return await loadFileCommand(
                    command,
                    {
                        ...common,
                        table: flags.required("table", "the table's spec name, e.g. users"),
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
                        table: flags.required("table", "the table's spec name, e.g. users"),
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
                        table: flags.required("table", "the table's spec name, e.g. users"),
                        file: flags.existingFile("file", "the JSON lines file to compare the table with"),
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
                        from: flags.existingFile("from", "the db.json file to migrate"),
                        mapping: flags.existingFile("mapping", "the mapping file: collection -> table"),
                        onError: onError(),
                        concurrency: flags.integer("concurrency", 8, 1, 64),
                        createTable: flags.boolean("create-table"),
                    },
                    commandIo,
                );
        }
    } catch (error) {
        if (error instanceof UsageError) {
            io.stderr.write(`data ${command}: ${error.message}\nRun \`npm run data -- help\` for usage.\n`);
            return exitCodes.usage;
        }
        if (error instanceof MappingError) {
            io.stderr.write(`data ${command}: ${error.message}\n`);
            return exitCodes.failed;
        }
        const name = (error as Error)?.name;
        const detail = name && name !== "Error" ? `${name}: ${(error as Error).message}` : (error as Error)?.message ?? String(error);
        io.stderr.write(`data ${command}: ${detail}\n`);
        return exitCodes.failed;
    }
}

if (require.main === module) {
    // One-shot command: the SDK's nine-line Node.js version warning would bury its own output (npm start says it in one line).
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const controller = new AbortController();
    let interrupts = 0;
    process.on("SIGINT", () => {
        if (++interrupts === 1) {
            process.stderr.write("\nstopping: finishing the writes in flight (Ctrl-C again to quit at once)\n");
            controller.abort();
        } else {
            process.stderr.write("quit; an import's checkpoint file holds the last committed line\n");
            process.exit(exitCodes.interrupted);
        }
    });
    runDataCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal }).then(
        (code) => {
            process.exitCode = code;
        },
        (error) => {
            process.stderr.write(`data: ${error?.stack ?? error}\n`);
            process.exitCode = exitCodes.failed;
        },
    );
}
