#!/usr/bin/env node
/**
 * The package's `prepare` script: npm runs it after `npm ci` and `npm install`
 * here, before `npm pack`, and when a program or `pulumi package add` installs
 * tollgate from a clone of the repository. From the sources, it links the
 * Node.js the scripts run on (nodeRuntime.cjs) and builds `dist/`
 * (`npm run build`). In the packed package `dist/` is already built and the
 * sources to build it are not there: it does nothing.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const projectDir = path.resolve(__dirname, "..");

if (fs.existsSync(path.join(projectDir, "cli", "build.ts"))) {
    require("./nodeRuntime.cjs").main();
    const npmCli = process.env.npm_execpath;
    const [command, prefix] = npmCli && /\.c?js$/.test(npmCli) ? [process.execPath, [npmCli]] : ["npm", []];
    // The build runs on the linked Node: npm puts node_modules/.bin first on the script's PATH.
    const built = spawnSync(command, [...prefix, "run", "build"], { cwd: projectDir, stdio: "inherit" });
    process.exitCode = built.status ?? 1;
}
