/**
 * `npm start`: the whole gateway on this machine, in one process. main.ts
 * launches this module; `main` is everything it does.
 *
 * Exit codes: 0 after a clean stop (Ctrl-C, SIGTERM, or the process that
 * started it going away); 2 for a bad flag, environment variable or stack
 * file (the message names it); 1 when it cannot start (a port in use, the
 * store failing).
 */
import { performance } from "node:perf_hooks";
import { stopSignalMeaning, usageHint, UsageError, type ReceivedSignal } from "../data/commandLine";
import { ConfigError } from "../specs/config";
import { loadStackConfig, projectDir, type StackConfig } from "../specs/stackFile";
import { banner, readyLine } from "./banner";
import { checkUpstreamNames, parseOptions, startCommandLine, usage, type LocalOptions } from "./options";
import { startLocal, StartError, type CreateHandler, type LocalGateway } from "./start";

export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * The gateway's handler (runtime/handler.ts), the one the Lambda runs. Loaded
 * only once the flags and the stack file are known good: loading it (AWS SDK,
 * Powertools, jose) is most of the start-up time, and a typo should be
 * reported at once.
 */
function loadCreateHandler(): CreateHandler {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const handlerModule: typeof import("../runtime/handler") = require("../runtime/handler");
    return handlerModule.createHandler;
}

/** What `tollgate start` adds to `npm start`: running the Tollgate of a Pulumi program (`--program`). */
export interface StartDeps {
    /** Evaluates the program under mocks and reads its Tollgate's args as the stack to serve. */
    programStack?(options: LocalOptions): Promise<StackConfig>;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv, deps: StartDeps = {}): Promise<number> {
    // Listening from the first moment: a Ctrl-C during start-up still closes the store cleanly.
    const stopSignal = awaitStopSignal();
    let gateway: LocalGateway;
    try {
        const options = parseOptions(argv, env, projectDir);
        if (options.help) {
            process.stdout.write(usage);
            return exitCodes.ok;
        }
        let stack: StackConfig;
        if (options.program !== undefined) {
            if (!deps.programStack) throw new UsageError("--program: run through the tollgate command (tollgate start --program DIR)");
            process.stdout.write(`tollgate local gateway: evaluating the program ${options.program} under mocks (stack ${options.stack})\n`);
            stack = await deps.programStack(options);
        } else {
            stack = loadStackConfig(options.stack, { file: options.configFile });
        }
        // Before loading the handler (the slow part of start-up), so a typo is reported at once.
        checkUpstreamNames(options.upstreams, stack.settings.routes.map((route) => route.name));
        const progress = startProgress(`tollgate local gateway: starting stack ${options.stack}`);
        const createHandler = loadCreateHandler();
        progress("handler loaded");
        gateway = await startLocal(options, stack, createHandler, progress);
        process.stdout.write(`${banner(gateway, options, stack.file, projectDir)}\n`);
        process.stdout.write(`${readyLine(gateway.url, performance.now())}\n`);
    } catch (error) {
        return reportStartFailure(error);
    }
    const signal = await stopSignal;
    process.stdout.write(`\n${signal}: stopping...\n`);
    try {
        await gateway.close();
    } catch (error) {
        process.stderr.write(`npm start: error while stopping: ${(error as Error).message}\n`);
        return exitCodes.failed;
    }
    process.stdout.write("tollgate local gateway stopped\n");
    return exitCodes.ok;
}

function reportStartFailure(error: unknown): number {
    if (error instanceof UsageError) {
        process.stderr.write(`npm start: ${error.message}\n${usageHint(startCommandLine)}\n`);
        return exitCodes.usage;
    }
    if (error instanceof ConfigError) {
        process.stderr.write(`npm start: ${error.message}\n`);
        return exitCodes.usage;
    }
    if (error instanceof StartError) {
        process.stderr.write(`npm start: ${error.message}\n`);
        return exitCodes.failed;
    }
    process.stderr.write(`npm start: could not start: ${(error as Error)?.stack ?? String(error)}\n`);
    return exitCodes.failed;
}

/**
 * Prints each start-up step as it completes, with the time since the previous
 * one: a slow start (a cold disk, a loaded machine) shows where it is.
 */
function startProgress(title: string): (step: string) => void {
    process.stdout.write(`${title}\n`);
    let last = performance.now();
    return (step) => {
        const now = performance.now();
        process.stdout.write(`  ... ${step} (${Math.round(now - last)} ms)\n`);
        last = now;
    };
}

/** How often the gateway checks that the process that started it is still there. */
const parentCheckMs = 1000;

/**
 * Resolves on the first Ctrl-C or SIGTERM, or when the process that started
 * this one is gone (npm killed outright leaves its child to init). The same
 * signal again within a moment is the same Ctrl-C (npm passes on the SIGINT
 * the terminal sent it too); a different stop signal, or the same one later,
 * exits at once without waiting for the store.
 */
function awaitStopSignal(): Promise<NodeJS.Signals | "parent gone"> {
    return new Promise((resolve) => {
        const parent = process.ppid;
        const parentWatch = setInterval(() => {
            if (process.ppid !== parent) {
                clearInterval(parentWatch);
                resolve("parent gone");
            }
        }, parentCheckMs);
        parentWatch.unref();
        let first: ReceivedSignal | undefined;
        const onSignal = (signal: NodeJS.Signals) => {
            const received = { signal, at: performance.now() };
            switch (stopSignalMeaning(first, received)) {
                case "stop":
                    first = received;
                    clearInterval(parentWatch);
                    resolve(signal);
                    return;
                case "same":
                    return;
                case "exit now": {
                    const which = signal === first!.signal ? `${signal} again` : `${signal} after ${first!.signal}`;
                    process.stderr.write(`${which}: exiting without waiting for the store to close\n`);
                    process.exit(exitCodes.failed);
                }
            }
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
    });
}

/** Runs `npm start` with these arguments (default this process's) and exits with its code. */
export function run(argv = process.argv.slice(2), deps: StartDeps = {}): void {
    main(argv, process.env, deps).then((code) => {
        // Keep-alive sockets of SDK clients would otherwise hold the loop open after a clean stop.
        process.exit(code);
    });
}
