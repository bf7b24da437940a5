/**
 * `npm start` as a user runs it, for tests: the entry point in a child
 * process on free ports, its output kept, stopped with SIGINT; and a POSIX
 * shell to run command lines in the project as a developer pasting them would.
 */
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { freePort } from "./loopback";

export const projectDir = path.resolve(__dirname, "..", "..");

export interface RunningCli {
    child: ChildProcess;
    url: string;
    dynamoPort: number;
    output: () => string;
    exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `npm start`'s command line; `ready` resolves with its URL once it prints its ready line, or undefined when it exits first. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
    const child = spawn(process.execPath, ["--import", "tsx", "local/main.ts", ...args], {
        cwd: projectDir,
        env: { ...process.env, TOLLGATE_JWT_SECRET: "", ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    const ready = new Promise<string | undefined>((resolve) => {
        child.stdout!.on("data", () => {
            const match = /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
            if (match) resolve(match[1]);
        });
        exit.then(() => resolve(undefined));
    });
    return { child, exit, ready, stdout: () => stdout, stderr: () => stderr };
}

/** `npm start` with `args` on a free gateway port and a free store port (`DYNAMODB_PORT`), once it is ready. */
export async function startCli(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningCli> {
    const dynamoPort = await freePort();
    const port = await freePort();
    const run = runCli([...args, "--port", String(port)], { DYNAMODB_PORT: String(dynamoPort), ...env });
    const url = await run.ready;
    if (!url) assert.fail(`npm start did not become ready:\n${run.stdout()}\n${run.stderr()}`);
    return { child: run.child, url, dynamoPort, exit: run.exit, output: () => run.stdout() + run.stderr() };
}

/** Stops it as Ctrl-C does; its exit code. */
export async function stop(cli: RunningCli): Promise<number | null> {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill("SIGINT");
    return (await cli.exit).code;
}

/** Runs a command line in a POSIX shell (in the project unless `cwd` says otherwise), as a developer pasting it would; resolves its stdout. */
export function shell(commandLine: string, options: { cwd?: string } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn("/bin/sh", ["-c", commandLine], { cwd: options.cwd ?? projectDir, env: { ...process.env }, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => (stdout += chunk));
        child.stderr.on("data", (chunk) => (stderr += chunk));
        child.once("exit", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`'${commandLine}' exited ${code}: ${stderr}`))));
    });
}
