/**
 * `tollgate start` (`npm start`): the notice about an old Node.js first, then
 * the gateway (cli.ts). Run under `exec` by npm, this process is the one npm
 * signals, so `kill` of a backgrounded `npm start` stops the gateway itself,
 * not only a shell in between.
 */
import { nodeVersionNotice } from "../data/commandLine";
import type { StartDeps } from "./cli";

/** Starts the local gateway in this process with these arguments; it exits with the gateway's code. */
export function runStartCommand(argv: string[], deps: StartDeps = {}): void {
    const notice = nodeVersionNotice(process.env);
    if (notice) process.stderr.write(`${notice}\n`);
    // Loaded after the notice: it brings in the AWS SDK.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require("./cli") as typeof import("./cli")).run(argv, deps);
}

if (require.main === module) runStartCommand(process.argv.slice(2));
