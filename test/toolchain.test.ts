/**
 * The Node.js everything here runs on: the Lambda's major, whatever Node the
 * machine has (cli/nodeRuntime.cjs, run by `npm ci` as the `prepare` script).
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { lambdaNodeMajor } from "../specs/lambda";
import { projectDir } from "../specs/stackFile";
import { linkedNode } from "./support/lambdaNode";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeRuntime: { major: number; minimumMajor: number; binaries: Record<string, { package: string; version: string; integrity: string }> } = require("../cli/nodeRuntime.cjs");
const manifest = JSON.parse(fs.readFileSync(path.join(projectDir, "package.json"), "utf8"));

const majorOf = (version: string) => Number(/^v?(\d+)\./.exec(version)?.[1]);

describe("the Node.js the project runs on", () => {
    it(`runs the tests on Node ${lambdaNodeMajor}, the Lambda's major`, () => {
        assert.equal(majorOf(process.version), lambdaNodeMajor, `the tests run on ${process.version}; run them with npm test after npm ci, which links Node ${lambdaNodeMajor} as node_modules/.bin/node`);
    });

    it("pins only binaries of the Lambda's major, each with its tarball's integrity", () => {
        assert.equal(nodeRuntime.major, lambdaNodeMajor);
        for (const [platform, binary] of Object.entries(nodeRuntime.binaries)) {
            assert.equal(majorOf(binary.version), lambdaNodeMajor, `${platform}: ${binary.package}@${binary.version}`);
            assert.match(binary.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/, `${platform}: ${binary.package}@${binary.version}`);
            assert.equal(binary.package, `node-${platform}`);
        }
    });

    it("declares the oldest Node it runs on in package.json and installs no Node binary for a program that depends on it", () => {
        assert.equal(manifest.engines.node, `>=${nodeRuntime.minimumMajor}`);
        const installed = { ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies };
        assert.deepEqual(Object.keys(installed).filter((name) => /^node(-|$)/.test(name)), [], "a Node binary package among the dependencies would become the `node` of every program that installs tollgate");
        assert.equal(manifest.scripts.prepare, "node cli/prepare.cjs");
    });

    it("links node_modules/.bin/node to the pinned binary where the machine's Node is another major", function () {
        const machineNode = process.env.npm_node_execpath;
        if (!machineNode) this.skip();
        const machineVersion = execFileSync(machineNode!, ["--version"], { encoding: "utf8" }).trim();
        const binary = nodeRuntime.binaries[`${process.platform}-${process.arch}`];
        if (majorOf(machineVersion) === lambdaNodeMajor || !binary) {
            assert.equal(fs.existsSync(linkedNode), false, "no link is needed where npm already runs on the Lambda's major");
            return;
        }
        assert.equal(execFileSync(linkedNode, ["--version"], { encoding: "utf8" }).trim(), `v${binary.version}`);
        assert.equal(process.execPath, fs.realpathSync(linkedNode), "npm test runs on the linked binary");
    });
});

describe("the dependencies' install scripts", () => {
    it("has a decision in allowScripts for every installed package with an install script, so npm ci neither warns nor runs one unreviewed", () => {
        const lock = JSON.parse(fs.readFileSync(path.join(projectDir, "package-lock.json"), "utf8")) as { packages: Record<string, { name?: string; hasInstallScript?: boolean }> };
        const withScripts = Object.entries(lock.packages)
            .filter(([key, entry]) => key !== "" && entry.hasInstallScript)
            // An aliased package (`docker-classic` is `npm:@pulumi/docker@...`) is known to npm by its registry name.
            .map(([key, entry]) => entry.name ?? key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length));
        assert.ok(withScripts.length > 0, "the lockfile marks packages with install scripts");
        const allowScripts: Record<string, boolean> = manifest.allowScripts ?? {};
        assert.deepEqual([...new Set(withScripts)].filter((name) => !(name in allowScripts)), [], "packages whose install scripts have no decision in package.json's allowScripts");
        assert.deepEqual(Object.entries(allowScripts).filter(([, allowed]) => allowed !== false), [], "docs/dependencies.md says why no install script is needed; one that is needed is approved with its reason there");
    });
});
