/**
 * The `npm start` entry. package.json runs it as `exec node --import tsx
 * local/main.ts`: tsx compiles the TypeScript (and caches it), and `exec`
 * makes this process the one npm signals, so `kill` of a backgrounded
 * `npm start` stops the gateway itself, not only a shell in between.
 */
import { nodeVersionNotice } from "../data/commandLine";

const notice = nodeVersionNotice(process.env);
if (notice) process.stderr.write(`${notice}\n`);
// Loaded after the notice: it brings in the AWS SDK.
// eslint-disable-next-line @typescript-eslint/no-require-imports
(require("./cli") as typeof import("./cli")).run();
