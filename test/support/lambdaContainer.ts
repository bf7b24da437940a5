/**
 * A Lambda container for tests: a fresh Node process (test/support/lambdaDriver.js)
 * that loads a function's unpacked archive the way the Node.js runtime does
 * (`LAMBDA_TASK_ROOT`, `_HANDLER`, `@aws-sdk/*` the only modules provided from
 * outside the archive) and then serves many invocations, warm, over IPC.
 *
 * The process runs on the Lambda runtime's Node major where this platform has
 * it (test/support/lambdaNode.ts: `lambdaNode.description` says which Node),
 * and refuses a callback-style handler as the nodejs24.x runtime does.
 */
import { fork, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { lambdaRuntime } from "../../specs/lambda";
import { projectDir } from "../../specs/stackFile";
import { lambdaNode } from "./lambdaNode";

export interface LambdaContainerOptions {
    /** The unpacked archive (what Lambda puts in /var/task). */
    taskRoot: string;
    /** The function's `handler` input, e.g. `__index.handler`. */
    handler: string;
    /** The function's environment variables, plus whatever the test adds (endpoints, credentials). */
    environment: Record<string, string>;
    /** The function's `timeout`: `getRemainingTimeInMillis()` counts down from it in each invocation. */
    timeoutSeconds: number;
}

export interface LambdaContainer {
    /** The Node version the function's process runs (`v24.21.0`). */
    nodeVersion: string;
    /** Invokes the handler with one event; rejects when the handler throws (Lambda's invocation error). */
    invoke(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2>;
    /** Everything the function wrote to stdout so far (its log lines and EMF documents). */
    stdout(): string;
    stderr(): string;
    close(): Promise<void>;
}

const driver = path.join(__dirname, "lambdaDriver.js");

type DriverMessage =
    | { kind: "ready"; node: string }
    | { kind: "init-error"; error: { message: string; stack?: string } }
    | { kind: "result"; id: number; result: APIGatewayProxyStructuredResultV2 }
    | { kind: "error"; id: number; error: { name: string; message: string; stack?: string } };

export async function startLambdaContainer(options: LambdaContainerOptions): Promise<LambdaContainer> {
    // Stands in for /var/runtime/node_modules: the SDK, and nothing else.
    const provided = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-lambda-runtime-"));
    fs.symlinkSync(path.join(projectDir, "node_modules", "@aws-sdk"), path.join(provided, "@aws-sdk"), "dir");
    const child: ChildProcess = fork(driver, [], {
        cwd: options.taskRoot,
        execPath: lambdaNode.execPath,
        execArgv: [],
        stdio: ["ignore", "pipe", "pipe", "ipc"],
        env: {
            PATH: process.env.PATH ?? "",
            NODE_PATH: provided,
            LAMBDA_TASK_ROOT: options.taskRoot,
            _HANDLER: options.handler,
            AWS_EXECUTION_ENV: `AWS_Lambda_${lambdaRuntime}`,
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
            ...options.environment,
        },
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => (stderr += chunk));

    const pending = new Map<number, { resolve: (result: APIGatewayProxyStructuredResultV2) => void; reject: (error: Error) => void }>();
    let nextId = 0;
    let exited: Error | undefined;
    const ready = new Promise<string>((resolve, reject) => {
        child.on("message", (message: DriverMessage) => {
            if (message.kind === "ready") resolve(message.node);
            else if (message.kind === "init-error") reject(new Error(`the function failed to initialise: ${message.error.stack ?? message.error.message}`));
            else if (message.kind === "result") pending.get(message.id)?.resolve(message.result);
            else pending.get(message.id)?.reject(Object.assign(new Error(`the handler threw ${message.error.name}: ${message.error.message}`), { stack: message.error.stack }));
            if (message.kind === "result" || message.kind === "error") pending.delete(message.id);
        });
        child.once("exit", (code, signal) => {
            exited = new Error(`the function's process exited (${signal ?? code}); stderr:\n${stderr}`);
            reject(exited);
            for (const { reject: fail } of pending.values()) fail(exited);
            pending.clear();
        });
    });
    const removeProvided = () => fs.rmSync(provided, { recursive: true, force: true });
    let nodeVersion: string;
    try {
        nodeVersion = await ready;
    } catch (error) {
        removeProvided();
        throw error;
    }

    return {
        nodeVersion,
        invoke: (event) =>
            new Promise((resolve, reject) => {
                if (exited) return reject(exited);
                const id = ++nextId;
                pending.set(id, { resolve, reject });
                child.send({ kind: "invoke", id, event, timeoutMs: options.timeoutSeconds * 1000 });
            }),
        stdout: () => stdout,
        stderr: () => stderr,
        close: async () => {
            if (child.exitCode === null && child.signalCode === null) {
                const gone = new Promise((resolve) => child.once("exit", resolve));
                child.kill();
                await gone;
            }
            removeProvided();
        },
    };
}
