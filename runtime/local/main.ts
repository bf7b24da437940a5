/**
 * `npm start`: the whole gateway on this machine, in one process.
 *
 * Exit codes: 0 after a clean stop (Ctrl-C, SIGTERM); 2 for a bad flag,
 * environment variable or stack file (the message names it); 1 when it
 * cannot start (a port in use, the store failing).
 */
import { performance } from "node:perf_hooks";
import { ConfigError } from "../specs/config";
import { loadStackConfig, projectDir } from "../specs/stackFile";
import { banner, readyLine } from "./banner";
import { parseOptions, usage, UsageError } from "./options";
import { startLocal, StartError, type CreateHandler, type LocalGateway } from "./start";

export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;

function loadCreateHandler(): CreateHandler {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require("../handler") as { createHandler: CreateHandler }).createHandler;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
    let gateway: LocalGateway;
    try {
        const options = parseOptions(argv, env, projectDir);
        if (options.help) {
            process.stdout.write(usage);
            return exitCodes.ok;
        }
        const stack = loadStackConfig(options.stack, { file: options.configFile });
        gateway = await startLocal(options, stack, loadCreateHandler());
        process.stdout.write(`${banner(gateway, options, stack.file, projectDir)}\n`);
        process.stdout.write(`${readyLine(gateway.url, performance.now())}\n`);
    } catch (error) {
        if (error instanceof UsageError) {
            process.stderr.write(`npm start: ${error.message}\n(npm start -- --help lists the flags)\n`);
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
    return stopOnSignal(gateway);
}

/** Waits for Ctrl-C or SIGTERM, then closes the server, the upstreams and the store (flushing its data). A second signal exits at once. */
function stopOnSignal(gateway: LocalGateway): Promise<number> {
    return new Promise((resolve) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
            if (stopping) {
                process.stderr.write(`${signal} again: exiting without waiting for the store to close\n`);
                process.exit(exitCodes.failed);
            }
            stopping = true;
            process.stdout.write(`\n${signal}: stopping...\n`);
            gateway.close().then(
                () => {
                    process.stdout.write("tollgate local gateway stopped\n");
                    resolve(exitCodes.ok);
                },
                (error) => {
                    process.stderr.write(`error while stopping: ${(error as Error).message}\n`);
                    resolve(exitCodes.failed);
                },
            );
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
    });
}

if (require.main === module) {
    main(process.argv.slice(2), process.env).then((code) => {
        // Keep-alive sockets of SDK clients would otherwise hold the loop open after a clean stop.
        process.exit(code);
    });
}
