/**
 * Processes the benchmark and the reliability suite run on loopback: the
 * local gateway exactly as `npm start` runs it (a child process, its own
 * embedded store), and an echo upstream in a process of its own, so the load
 * generator, the gateway and the upstream do not share an event loop.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectDir } from "../../specs/stackFile";
import { freePort } from "../../test/support/loopback";

/** Children still running; killed if this process exits first (a failed or timed-out run leaves nothing behind). */
const running = new Set<ChildProcess>();
process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
});

export interface ChildService {
    url: string;
    child: ChildProcess;
    /** Everything the process wrote so far (stdout and stderr go to a file, so a chatty child never blocks on a pipe). */
    output(): string;
    /** True while the process runs. */
    alive(): boolean;
    /** The most resident memory the process has used so far, in MB (Linux /proc; undefined elsewhere). */
    peakRssMb(): number | undefined;
    /** SIGINT, then SIGKILL after `graceMs`; resolves with the exit code. */
    stop(graceMs?: number): Promise<number | null>;
    /** SIGKILL at once, as a crash would; resolves once the process has exited. */
    kill(): Promise<void>;
}

/**
 * Spawns `node --import tsx <script> ...args` in the
 * project directory and resolves once its output matches `ready` (the first
 * group is the URL it serves).
 */
export async function startChild(script: string, args: string[], options: { env?: Record<string, string>; ready: RegExp; timeoutMs?: number }): Promise<ChildService> {
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-child-"));
    const logFile = path.join(logDir, "output.log");
    const fd = fs.openSync(logFile, "w");
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
        cwd: projectDir,
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", ...options.env },
        stdio: ["ignore", fd, fd],
    });
    fs.closeSync(fd);
    running.add(child);
    const output = () => {
        try {
            return fs.readFileSync(logFile, "utf8");
        } catch {
            return "";
        }
    };
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) =>
        child.once("exit", (code, signal) => {
            exitCode = code ?? (signal ? 128 : null);
            running.delete(child);
            resolve(exitCode);
        }),
    );
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    let url: string | undefined;
    while (!url) {
        const match = options.ready.exec(output());
        if (match) url = match[1];
        else if (exitCode !== undefined) throw new Error(`${script} exited (${exitCode}) before it was ready:\n${output()}`);
        else if (Date.now() > deadline) {
            child.kill("SIGKILL");
            throw new Error(`${script} was not ready within ${options.timeoutMs ?? 60_000} ms:\n${output()}`);
        } else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
        url,
        child,
        output,
        alive: () => exitCode === undefined,
        peakRssMb: () => {
            try {
                const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8");
                const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
                return kb ? Math.round(Number(kb) / 1024) : undefined;
            } catch {
                return undefined;
            }
        },
        stop: async (graceMs = 10_000) => {
            if (exitCode === undefined) {
                child.kill("SIGINT");
                const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
                await exited;
                clearTimeout(timer);
            }
            fs.rmSync(logDir, { recursive: true, force: true });
            return exitCode ?? null;
        },
        kill: async () => {
            if (exitCode === undefined) child.kill("SIGKILL");
            await exited;
            fs.rmSync(logDir, { recursive: true, force: true });
        },
    };
}

export interface LocalGatewayProcess extends ChildService {
    /** The embedded store of this gateway (`DYNAMODB_PORT`), for reading its tables directly. */
    dynamoEndpoint: string;
}

/**
 * `npm start -- --config <file> --memory --port <free> --upstream name=url ...` with `DYNAMODB_PORT=<free>`;
 * `--data-dir <dir>` instead of `--memory` when `dataDir` is given (its keys can then be read there).
 */
export async function startLocalGateway(options: { configFile: string; upstreams?: Record<string, string>; env?: Record<string, string>; dataDir?: string }): Promise<LocalGatewayProcess> {
    const port = await freePort();
    let dynamoPort = await freePort();
    while (dynamoPort === port) dynamoPort = await freePort();
    const args = ["--config", options.configFile, ...(options.dataDir ? ["--data-dir", options.dataDir] : ["--memory"]), "--port", String(port)];
    for (const [name, url] of Object.entries(options.upstreams ?? {})) args.push("--upstream", `${name}=${url}`);
    const service = await startChild("local/main.ts", args, {
        env: { DYNAMODB_PORT: String(dynamoPort), ...options.env },
        ready: /ready on (http:\/\/127\.0\.0\.1:\d+)/,
        timeoutMs: 90_000,
    });
    return { ...service, dynamoEndpoint: `http://127.0.0.1:${dynamoPort}` };
}

/** The built-in echo upstream of the local gateway (local/echo.ts) in a process of its own. */
export function startEchoProcess(): Promise<ChildService> {
    return startChild(path.join("bench", "support", "echoMain.ts"), [], { ready: /echo ready on (http:\/\/127\.0\.0\.1:\d+)/ });
}
