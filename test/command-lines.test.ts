/**
 * The four commands (`npm start`, `npm run sessions`, `npm run data`,
 * `npm run policy`) read their flags with one parser, from one table per
 * command (data/commandLine.ts): the same words and the same exit code for a
 * mistake in any of them, a help that lists every flag of the table, and one
 * message for missing AWS credentials in the two commands that reach AWS.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { dataCommandLine } from "../cli/data";
import { policyCommandLine } from "../cli/policy";
import { sessionsCommandLine } from "../cli/sessions";
import {
    flagsOf,
    helpText,
    noCredentialsExitCode,
    parseCommandLine,
    UsageError,
    type CommandLineSpec,
} from "../data/commandLine";
import { startCommandLine } from "../local/options";
import { projectDir } from "../specs/stackFile";
import { listenOnLoopback } from "./support/loopback";

interface Ran {
    code: number;
    stdout: string;
    stderr: string;
}

/** `npm run --silent SCRIPT -- ARGS` as a user types it, with `env` as the whole environment. */
function npmRun(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
    return new Promise((resolve) => {
        execFile("npm", ["run", "--silent", script, "--", ...args], { cwd: projectDir, env, timeout: 120_000 }, (error, stdout, stderr) => {
            resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
    });
}

function refusal(spec: CommandLineSpec, argv: string[]): string {
    try {
        parseCommandLine(spec, argv);
    } catch (error) {
        assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
        return error.message;
    }
    assert.fail(`${spec.name} ${argv.join(" ")} was accepted`);
}

/** A small tool to try the parser on, as the commands declare theirs. */
const tool: CommandLineSpec = {
    name: "tool",
    invocation: "npm run tool --",
    summary: "A tool.",
    flags: { stack: { type: "string", value: "NAME", help: "the stack" }, verbose: { type: "boolean", help: "say more" }, help: { type: "boolean", short: "h", help: "print this help" } },
    commands: {
        create: { summary: "create one", flags: { user: { type: "string", value: "ID", required: true, help: "the user's id" }, tag: { type: "string", value: "T", multiple: true, help: "a tag" } } },
        get: { summary: "get one", argument: { name: "TOKEN", required: true }, flags: {} },
    },
};

describe("command lines: the shared parser", () => {
    it("reads the command, flags in either spelling and the argument in any order", () => {
        assert.deepEqual(parseCommandLine(tool, ["--stack", "prod", "create", "--user=alice", "--tag", "a", "--tag", "b", "--verbose"]), {
            command: "create",
            values: { stack: "prod", user: "alice", tag: ["a", "b"], verbose: true },
            argument: undefined,
            help: false,
        });
        assert.equal(parseCommandLine(tool, ["get", "--stack", "dev", "t0k3n"]).argument, "t0k3n");
    });

    it("names the closest flag or command for a misspelled one", () => {
        assert.equal(refusal(tool, ["create", "--usr", "alice"]), "--usr: not a flag of 'tool create'; did you mean --user?");
        assert.equal(refusal(tool, ["create", "--user", "a", "--stakc", "dev"]), "--stakc: not a flag of 'tool create'; did you mean --stack?");
        assert.equal(refusal(tool, ["craete"]), "unknown command 'craete'; did you mean 'create'?");
    });

    it("lists the flags or commands there are when nothing is close", () => {
        assert.equal(refusal(tool, ["get", "t", "--zzzzzz"]), "--zzzzzz: not a flag of 'tool get' (flags: --stack, --verbose, --help)");
        assert.equal(refusal(tool, ["frobnicate"]), "unknown command 'frobnicate' (commands: create, get)");
        assert.equal(refusal(tool, []), "a command is required (one of: create, get)");
    });

    it("names the flag for a missing value, a value given to a switch, a missing required flag and a stray argument", () => {
        assert.equal(refusal(tool, ["create", "--user"]), "--user: needs a value (--user ID)");
        assert.equal(refusal(tool, ["create", "--user", "--verbose"]), "--user: needs a value (--user ID)");
        assert.equal(refusal(tool, ["create", "--user", "a", "--verbose=yes"]), "--verbose: takes no value (it is a switch), got 'yes'");
        assert.equal(refusal(tool, ["create"]), "--user: required (the user's id)");
        assert.equal(refusal(tool, ["create", "--user", "a", "extra"]), "'extra': unexpected argument; a value goes after its flag (flags: --user, --tag, --stack, --verbose, --help)");
        assert.equal(refusal(tool, ["get"]), "TOKEN: required (npm run tool -- get TOKEN)");
    });

    it("takes --help before any other check, for the tool and for a command", () => {
        assert.equal(parseCommandLine(tool, ["--help"]).help, true);
        assert.deepEqual(parseCommandLine(tool, ["create", "-h"]), { command: "create", values: { help: true }, help: true });
    });

    for (const spec of [startCommandLine, sessionsCommandLine, dataCommandLine, policyCommandLine]) {
        it(`lists every flag of its table in ${spec.name}'s help, each command's in its own`, () => {
            for (const command of spec.commands ? [undefined, ...Object.keys(spec.commands)] : [undefined]) {
                const help = helpText(spec, command);
                const flags = command === undefined ? spec.flags : flagsOf(spec, command);
                for (const [name, flag] of Object.entries(flags)) assert.ok(help.includes(`--${name}${flag.type === "string" ? ` ${flag.value}` : ""}`), `--${name} missing from:\n${help}`);
                if (command === undefined && spec.commands) for (const name of Object.keys(spec.commands)) assert.match(help, new RegExp(`^  ${name}\\b`, "m"));
            }
        });
    }

    it("documents every flag of each command on its page", () => {
        const pages: [CommandLineSpec, string][] = [
            [startCommandLine, "docs/local.md"],
            [sessionsCommandLine, "docs/sessions.md"],
            [dataCommandLine, "docs/data.md"],
            [policyCommandLine, "docs/deploying.md"],
        ];
        for (const [spec, page] of pages) {
            const text = fs.readFileSync(path.join(projectDir, page), "utf8");
            const names = new Set([...Object.keys(spec.flags), ...Object.values(spec.commands ?? {}).flatMap((command) => Object.keys(command.flags))]);
            for (const name of names) if (name !== "help") assert.ok(text.includes(`--${name}`), `${page} does not mention --${name} of ${spec.name}`);
        }
    });
});

describe("command lines: the same mistake in every command, as typed", function () {
    this.timeout(180_000);
    const cases: { script: string; args: string[]; message: RegExp; hint: string }[] = [
        { script: "start", args: ["--prot", "3000"], message: /^npm start: --prot: not a flag of 'npm start'; did you mean --port\?$/m, hint: "Run `npm start -- --help` for the flags." },
        {
            script: "sessions",
            args: ["create", "--usr", "alice", "--local"],
            message: /^sessions: --usr: not a flag of 'sessions create'; did you mean --user\?$/m,
            hint: "Run `npm run --silent sessions -- create --help` for the flags.",
        },
        {
            script: "data",
            args: ["export", "--tabel", "users", "--local"],
            message: /^data export: --tabel: not a flag of 'data export'; did you mean --table\?$/m,
            hint: "Run `npm run data -- export --help` for the flags.",
        },
        { script: "policy", args: ["--stack", "dev", "--stak", "prod"], message: /^policy check: --stak: not a flag of 'policy check'; did you mean --stack\?$/m, hint: "Run `npm run policy -- --help` for the flags." },
        { script: "sessions", args: ["craete", "--user", "alice"], message: /^sessions: unknown command 'craete'; did you mean 'create'\?$/m, hint: "Run `npm run --silent sessions -- --help` for the flags." },
        { script: "data", args: ["exprot", "--table", "users"], message: /^data: unknown command 'exprot'; did you mean 'export'\?$/m, hint: "Run `npm run data -- --help` for the flags." },
    ];
    for (const { script, args, message, hint } of cases) {
        it(`npm run ${script} -- ${args.join(" ")}: exit 2, did you mean, where the flags are`, async () => {
            const ran = await npmRun(script, args);
            assert.equal(ran.code, 2, ran.stdout + ran.stderr);
            assert.match(ran.stderr, message);
            assert.ok(ran.stderr.includes(hint), ran.stderr);
            assert.equal(ran.stdout, "");
        });
    }
});

describe("command lines: no AWS credentials", function () {
    this.timeout(120_000);
    let configDir: string;
    let dynamo: Awaited<ReturnType<typeof listenOnLoopback>>;
    let requests = 0;
    let env: NodeJS.ProcessEnv;

    before(async () => {
        // A machine with no AWS credentials anywhere: no variables, empty shared files, no instance metadata.
        configDir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-no-credentials-"));
        const empty = path.join(configDir, "empty");
        fs.writeFileSync(empty, "");
        // Should the SDK get past its credentials, DynamoDB is this recorder on loopback, never the network.
        dynamo = await listenOnLoopback(
            http.createServer((request, response) => {
                requests++;
                response.writeHead(500).end();
            }),
        );
        env = {
            ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("AWS_"))),
            AWS_SHARED_CREDENTIALS_FILE: empty,
            AWS_CONFIG_FILE: empty,
            AWS_EC2_METADATA_DISABLED: "true",
            AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
        };
    });
    after(async () => {
        await dynamo?.close();
        fs.rmSync(configDir, { recursive: true, force: true });
    });

    it("gives one message naming --local and --endpoint, and exit 4, in sessions and data alike, before any request", async () => {
        // when each command is pointed at the prod stack on AWS
        const sessions = await npmRun("sessions", ["create", "--user", "alice", "--stack", "prod"], env);
        const data = await npmRun("data", ["export", "--table", "users", "--stack", "prod", "--progress", "none"], env);

        // then both exit with the same code and the same words after their names
        const problem = /^(sessions|data export): (no AWS credentials for AWS eu-west-1 \(.+\); configure them \(.+\), or use --local for the npm start store or --endpoint URL for another DynamoDB)$/m;
        assert.equal(sessions.code, noCredentialsExitCode, sessions.stderr);
        assert.equal(data.code, noCredentialsExitCode, data.stderr);
        const [sessionsSays, dataSays] = [problem.exec(sessions.stderr), problem.exec(data.stderr)];
        assert.ok(sessionsSays, sessions.stderr);
        assert.ok(dataSays, data.stderr);
        assert.equal(sessionsSays[2], dataSays[2]);
        assert.equal(sessions.stdout + data.stdout, "");
        // and nothing was sent anywhere
        assert.equal(requests, 0);
    });

    it("says so in the data commands that write, before reading the file, and leaves no checkpoint", async () => {
        const file = path.join(configDir, "users.jsonl");
        fs.writeFileSync(file, '{"id": "u1"}\n');
        for (const command of ["import", "seed"]) {
            const ran = await npmRun("data", [command, "--table", "users", "--file", file, "--stack", "prod", "--progress", "none"], env);
            assert.equal(ran.code, noCredentialsExitCode, ran.stderr);
            assert.match(ran.stderr, new RegExp(`^data ${command}: no AWS credentials for AWS eu-west-1 `, "m"));
        }
        assert.equal(fs.existsSync(`${file}.checkpoint.json`), false);
        assert.equal(requests, 0);
    });
});
