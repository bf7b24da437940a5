/**
 * 7. Command start-up: how long each command takes from the shell prompt to
 * its exit, as a user types it (`npm run --silent <command> -- ...`, npm's
 * own start-up included). `--help` of every command, and `sessions create
 * --local` against a running `npm start`; beside them the sessions command's
 * `--help` loaded through ts-node, the runner the commands left, for scale.
 * Medians of a few runs: start-up time swings with disk cache and machine load.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { projectDir } from "../../specs/stackFile";
import { startLocalGateway } from "../support/processes";
import { median, round } from "../support/stats";

const run = promisify(execFile);

export interface CommandTimes {
    start_help_ms: number;
    sessions_help_ms: number;
    data_help_ms: number;
    policy_help_ms: number;
    sessions_create_local_ms: number;
    /** `node -r ts-node/register/transpile-only cli/sessions.ts --help`: the same command through ts-node. */
    ts_node_sessions_help_ms: number;
    runs: number;
}

async function timed(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
    const started = performance.now();
    await run(file, args, { cwd: projectDir, env: { ...process.env, ...env }, timeout: 120_000 });
    return performance.now() - started;
}

async function medianOf(times: number, once: () => Promise<number>): Promise<number> {
    const samples: number[] = [];
    for (let i = 0; i < times; i++) samples.push(await once());
    return round(median(samples), 0);
}

export async function measureCommands(runs: number): Promise<CommandTimes> {
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const help = (command: string) => medianOf(runs, () => timed(npm, ["run", "--silent", command, "--", "--help"]));
    const result = {
        start_help_ms: await help("start"),
        sessions_help_ms: await help("sessions"),
        data_help_ms: await help("data"),
        policy_help_ms: await help("policy"),
        ts_node_sessions_help_ms: await medianOf(runs, () => timed(process.execPath, ["-r", "ts-node/register/transpile-only", path.join("cli", "sessions.ts"), "--help"])),
    };
    const gateway = await startLocalGateway({ configFile: path.join(projectDir, "Pulumi.dev.yaml") });
    try {
        const dynamoPort = new URL(gateway.dynamoEndpoint).port;
        const create = () => timed(npm, ["run", "--silent", "sessions", "--", "create", "--local", "--user", "bench-user"], { DYNAMODB_PORT: dynamoPort });
        return { ...result, sessions_create_local_ms: await medianOf(runs, create), runs };
    } finally {
        await gateway.stop();
    }
}
