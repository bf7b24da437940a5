/**
 * The Node the tests run a Lambda archive on: the major of the Lambda runtime
 * the program deploys (specs/lambda.ts). `npm test` itself runs on that major
 * (cli/nodeRuntime.cjs links it as node_modules/.bin/node where the machine's
 * Node is another), so this is the test runner's own Node; where the runner is
 * another major (the tests started outside npm on an older Node), the linked
 * binary is used if it is there.
 *
 * Where neither is the runtime's major, the tests run the archive on the
 * runner's Node, and their titles say which Node that was and why.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { lambdaNodeMajor, lambdaRuntime } from "../../specs/lambda";
import { projectDir } from "../../specs/stackFile";

export interface LambdaNode {
    /** The binary to start a Lambda container with. */
    execPath: string;
    /** `v24.22.3` */
    version: string;
    /** True when `version` is the Lambda runtime's major. */
    matchesRuntime: boolean;
    /** For test titles: which Node, from where, and whether it is the runtime's. */
    description: string;
}

/** What `npm ci` links for the scripts (cli/nodeRuntime.cjs). */
export const linkedNode = path.join(projectDir, "node_modules", ".bin", process.platform === "win32" ? "node.exe" : "node");

function majorOf(version: string): number {
    return Number(/^v(\d+)\./.exec(version)?.[1]);
}

function findLambdaNode(): LambdaNode {
    if (majorOf(process.version) === lambdaNodeMajor) {
        return { execPath: process.execPath, version: process.version, matchesRuntime: true, description: `Node ${process.version}, the ${lambdaRuntime} major` };
    }
    let reason = `node_modules/.bin/node is not there (npm ci links it)`;
    if (fs.existsSync(linkedNode)) {
        const version = execFileSync(linkedNode, ["--version"], { encoding: "utf8" }).trim();
        if (majorOf(version) === lambdaNodeMajor) {
            return { execPath: fs.realpathSync(linkedNode), version, matchesRuntime: true, description: `Node ${version} (node_modules/.bin/node), the ${lambdaRuntime} major` };
        }
        reason = `node_modules/.bin/node is Node ${version}`;
    }
    return {
        execPath: process.execPath,
        version: process.version,
        matchesRuntime: false,
        description: `Node ${process.version} (the test runner's: ${reason}), not the ${lambdaRuntime} major`,
    };
}

export const lambdaNode: LambdaNode = findLambdaNode();
