/**
 * The one DynamoDB client a container uses (runtime/stores/dynamo.ts): the
 * low-level client, its middleware resolved once per command and reused, a
 * fixed User-Agent, no logger or recursion-detection middleware. Each of
 * these saves CPU on every store call, and none of them would show as a
 * wrong answer if it were lost; these tests are what notice.
 *
 * Most handler tests give the handler a client of their own (`deps.dynamo`);
 * here the handler builds its own, as the Lambda does.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import ts from "typescript";
import { GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { createHandler } from "../runtime/handler";
import { createDynamoClient, storeUserAgent } from "../runtime/stores/dynamo";
import { startEmptyDynamo } from "./support/loopback";
import { startDynamoProxy, type DynamoProxy } from "./support/dynamoProxy";
import { Clock, event, freshTables, route, runtimeSettings, useDynamoAndUpstream } from "./support/runtime";

const projectDir = path.resolve(__dirname, "..");

/** The commands the stores send. */
const storeCommands = { GetItem: GetItemCommand, UpdateItem: UpdateItemCommand };

/**
 * Counts how often each store command has its middleware stack resolved (a
 * client without the middleware cache resolves it on every call), until
 * `restore`.
 */
function countResolutions(): { counts: Record<string, number>; restore(): void } {
    const counts: Record<string, number> = {};
    const restores: (() => void)[] = [];
    for (const [name, command] of Object.entries(storeCommands)) {
        const prototype = command.prototype as { resolveMiddleware: (...args: unknown[]) => unknown };
        const inherited = prototype.resolveMiddleware;
        counts[name] = 0;
        prototype.resolveMiddleware = function (this: unknown, ...args: unknown[]) {
            counts[name]++;
            return inherited.apply(this, args);
        };
        restores.push(() => delete (prototype as Partial<typeof prototype>).resolveMiddleware);
    }
    return { counts, restore: () => restores.forEach((restore) => restore()) };
}

/** Sets environment variables until the returned function puts them back. */
function withEnvironment(values: Record<string, string>): () => void {
    const saved = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
    Object.assign(process.env, values);
    return () => {
        for (const [name, value] of Object.entries(saved)) {
            if (value === undefined) delete process.env[name];
            else process.env[name] = value;
        }
    };
}

/** What the Lambda runtime sets in every container; the SDK's recursion detection copies the trace id into each call. */
const lambdaEnvironment = { AWS_LAMBDA_FUNCTION_NAME: "tollgate-test-gateway", _X_AMZN_TRACE_ID: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1" };

/** Every import specifier in the project's `runtime/` sources, as `file -> specifier`. */
function runtimeImports(): string[] {
    const found: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(path.join(projectDir, dir), { withFileTypes: true })) {
            const relative = `${dir}/${entry.name}`;
            if (entry.isDirectory()) walk(relative);
            else if (entry.name.endsWith(".ts")) {
                const { importedFiles } = ts.preProcessFile(fs.readFileSync(path.join(projectDir, relative), "utf8"), true, true);
                for (const { fileName } of importedFiles) found.push(`${relative} -> ${fileName}`);
            }
        }
    };
    walk("runtime");
    return found;
}

describe("the stores' DynamoDB client", function () {
    this.timeout(60_000);

    describe("as createDynamoClient builds it", () => {
        it("caches the middleware and leaves out the SDK's logger, recursion-detection and per-call User-Agent middleware", () => {
            // given the client a container builds
            const client = createDynamoClient({ region: "eu-west-1", endpoint: "http://127.0.0.1:9" });
            try {
                // then its config asks for the middleware cache
                assert.equal(client.config.cacheMiddleware, true);
                // and its stack holds the fixed User-Agent instead of the SDK's, and neither the logger nor recursion detection
                const names = client.middlewareStack.identify().map((entry) => entry.split(" - ")[0]);
                for (const left of ["loggerMiddleware", "recursionDetectionMiddleware", "getUserAgentMiddleware"]) assert.ok(!names.includes(left), `${left} is on the stack: ${names.join(", ")}`);
                assert.ok(names.includes("fixedUserAgent"), `no fixedUserAgent on the stack: ${names.join(", ")}`);
            } finally {
                client.destroy();
            }
        });

        it("reports no call to a logger: no input or output is filtered for logging", async () => {
            // given a DynamoDB stand-in, and a logger put on the client's config where the SDK's logger middleware would find it
            const { url, close } = await startEmptyDynamo();
            const client = createDynamoClient({ region: "eu-west-1", endpoint: url });
            // The logger middleware reports each call to `info` (or `error`), with the command's input and output filtered for logging;
            // `debug` also hears from endpoint resolution, which is not in question here.
            const logged: unknown[] = [];
            const record = (entry: unknown) => void logged.push(entry);
            client.config.logger = { debug: () => undefined, info: record, warn: record, error: record };
            try {
                // when a store call is made
                await client.send(new GetItemCommand({ TableName: "t", Key: { k: { S: "1" } } }));
                // then nothing reached the logger
                assert.deepEqual(logged, []);
            } finally {
                client.destroy();
                await close();
            }
        });
    });

    describe("in a handler given no client", () => {
        const servers = useDynamoAndUpstream("dynalite");
        let proxy: DynamoProxy;
        const calls: { operation: string; headers: http.IncomingHttpHeaders }[] = [];
        let tables: { rateLimits: string; sessions: string };

        before(async () => {
            tables = await freshTables(servers.dynamo);
            proxy = await startDynamoProxy(servers.dynamo.endpoint, ({ operation, headers }) => {
                calls.push({ operation, headers });
                return undefined;
            });
        });
        after(async () => proxy?.close());

        it("sends every store call with the fixed User-Agent and no trace header, resolving each command's middleware once", async () => {
            // given a handler in a Lambda-like environment that builds its own DynamoDB client, pointed at a proxy that records each call
            const restoreEnvironment = withEnvironment(lambdaEnvironment);
            const resolutions = countResolutions();
            try {
                const handler = createHandler(
                    runtimeSettings(tables, { endpoint: proxy.endpoint }, {
                        routes: [route({ name: "open", pathPrefix: "/open", upstream: servers.upstream.url, rateLimit: { by: "ip", limit: 100, windowSeconds: 60, algorithm: "fixed" } })],
                    }),
                    { now: new Clock().now, log: () => undefined },
                );
                // when a readiness check (one GetItem per table) and three limited requests (one UpdateItem each) arrive
                assert.equal((await handler(event({ path: "/health/ready" }))).statusCode, 200);
                for (let i = 0; i < 3; i++) assert.equal((await handler(event({ path: "/open/items" }))).statusCode, 200);
                // then every call reached DynamoDB with the fixed User-Agent and no X-Amzn-Trace-Id
                assert.deepEqual(
                    calls.map((call) => call.operation),
                    ["GetItem", "GetItem", "UpdateItem", "UpdateItem", "UpdateItem"],
                );
                for (const call of calls) {
                    assert.equal(call.headers["user-agent"], storeUserAgent, `${call.operation} sent User-Agent ${call.headers["user-agent"]}`);
                    assert.equal(call.headers["x-amzn-trace-id"], undefined, `${call.operation} carried the Lambda's trace id`);
                }
                // and each command's middleware was resolved once, on its first call
                assert.deepEqual(resolutions.counts, { GetItem: 1, UpdateItem: 1 });
            } finally {
                resolutions.restore();
                restoreEnvironment();
            }
        });
    });

    it("keeps the runtime on the low-level client: nothing in runtime/ imports the document client", () => {
        // The document client marshals every call through its own middleware and cannot use the middleware cache;
        // the stores build attribute values themselves instead.
        const documentClientImports = runtimeImports().filter((edge) => edge.endsWith("-> @aws-sdk/lib-dynamodb"));
        assert.deepEqual(documentClientImports, []);
    });
});
