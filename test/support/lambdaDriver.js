/**
 * What the Lambda Node.js runtime does with a function's archive, reduced to
 * what tests need: load the handler `_HANDLER` names (`file.export`) from
 * `LAMBDA_TASK_ROOT` once (the cold start), then serve invocations one at a
 * time, as a warm container does, for as long as the process lives.
 *
 * Plain JavaScript with no dependencies, so nothing but the archive and the
 * modules Lambda provides (NODE_PATH) can be loaded. Like the runtime
 * interface client of nodejs24.x and later (aws/aws-lambda-nodejs-runtime-interface-client,
 * src/function/callback-deprecation.ts), it refuses at load a handler that
 * declares three or more parameters: the runtime takes that as callback style,
 * which it no longer supports. Started by
 * test/support/lambdaContainer.ts with `child_process.fork`; messages over IPC:
 *
 *   -> { kind: "invoke", id, event, timeoutMs }
 *   <- { kind: "ready", node } | { kind: "init-error", error }
 *   <- { kind: "result", id, result } | { kind: "error", id, error }
 */
"use strict";
const path = require("node:path");
const { randomUUID } = require("node:crypto");

function describeError(error) {
    return { name: (error && error.name) || "Error", message: (error && error.message) || String(error), stack: error && error.stack };
}

// Stands in for DNS: names under the `.test` top-level domain (reserved for
// testing, RFC 2606) resolve to this machine. A test gives the program upstream
// URLs a deploy accepts (it refuses loopback addresses) and still serves them
// from a recorder on 127.0.0.1.
const dns = require("node:dns");
const systemLookup = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
    if (typeof options === "function") [options, callback] = [{}, options];
    if (typeof hostname !== "string" || !/\.test\.?$/i.test(hostname)) return systemLookup.call(this, hostname, options, callback);
    const all = typeof options === "object" && options !== null && options.all;
    process.nextTick(() => (all ? callback(null, [{ address: "127.0.0.1", family: 4 }]) : callback(null, "127.0.0.1", 4)));
};

function loadHandler() {
    const spec = process.env._HANDLER || "";
    const dot = spec.lastIndexOf(".");
    if (dot <= 0) throw new Error(`_HANDLER '${spec}' is not of the form file.export`);
    const exported = require(path.join(process.env.LAMBDA_TASK_ROOT, spec.slice(0, dot)));
    const handler = exported[spec.slice(dot + 1)];
    if (typeof handler !== "function") throw new Error(`${spec} is not a function`);
    if (handler.length >= 3 && runtimeNodeMajor() >= 24) {
        throw new Error("AWS Lambda has removed support for callback-based function handlers starting with Node.js 24 (the handler declares a callback parameter)");
    }
    return handler;
}

/** The Node major of the runtime this container stands in for, read from AWS_EXECUTION_ENV (`AWS_Lambda_nodejs24.x`). */
function runtimeNodeMajor() {
    const match = /^AWS_Lambda_nodejs(\d+)\.x$/.exec(process.env.AWS_EXECUTION_ENV || "");
    return match ? Number(match[1]) : 0;
}

let handler;
try {
    handler = loadHandler();
} catch (error) {
    process.send({ kind: "init-error", error: describeError(error) }, () => process.exit(1));
}

if (handler) {
    // One invocation at a time per container, in the order they arrive.
    let previous = Promise.resolve();
    const invoke = async ({ id, event, timeoutMs }) => {
        const deadline = Date.now() + timeoutMs;
        const context = {
            awsRequestId: randomUUID(),
            functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
            memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
            callbackWaitsForEmptyEventLoop: true,
            getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        };
        try {
            const result = await handler(event, context);
            process.send({ kind: "result", id, result });
        } catch (error) {
            process.send({ kind: "error", id, error: describeError(error) });
        }
    };
    process.on("message", (message) => {
        if (message && message.kind === "invoke") previous = previous.then(() => invoke(message));
    });
    process.on("disconnect", () => process.exit(0));
    process.send({ kind: "ready", node: process.version });
}
