import { strict as assert } from "node:assert";
import { createHmac } from "node:crypto";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { dynamoKinds } from "./support/dynamo";
import { freePort } from "./support/loopback";
import { bodyOf, event, route, runtimeSettings, testKeyMaterial, useHandlerSuite } from "./support/runtime";
import { createHandler } from "../runtime/handler";
import type { RuntimeSettings } from "../runtime/settings";

for (const kind of dynamoKinds) {
    describe(`handler: own answers, logs and metrics (${kind})`, function () {
        const suite = useHandlerSuite(kind);
        let lines: string[];
        beforeEach(() => {
            lines = [];
        });

        const gateway = (overrides: Partial<RuntimeSettings> = {}) =>
            createHandler(
                runtimeSettings(suite.tables, suite.dynamo, {
                    routes: [
                        route({ name: "open", pathPrefix: "/open", upstream: suite.upstream.url, rateLimit: { by: "ip", limit: 1, windowSeconds: 60, algorithm: "fixed" } }),
                        route({ name: "users", pathPrefix: "/users", upstream: suite.upstream.url, auth: "session" }),
                    ],
                    ...overrides,
                }),
                { now: suite.clock.now, dynamo: suite.counting.client, log: (line) => lines.push(line) },
            );
        const logLines = () => lines.map((line) => JSON.parse(line)).filter((entry) => !entry._aws);
        const metricLines = () => lines.map((line) => JSON.parse(line)).filter((entry) => entry._aws);

        it("answers GET /health/live with 200 {status: ok} and no DynamoDB call", async () => {
            const result = await gateway()(event({ path: "/health/live" }));
            assert.equal(result.statusCode, 200);
            assert.deepEqual(bodyOf(result), { status: "ok" });
            assert.equal(suite.counting.total(), 0);
        });

        it("answers GET /health/ready with 200 when both tables answer", async () => {
            const result = await gateway()(event({ path: "/health/ready" }));
            assert.equal(result.statusCode, 200);
            assert.deepEqual(bodyOf(result), { status: "ok" });
            assert.deepEqual(Object.fromEntries(suite.counting.counts), { GetItemCommand: 2 });
        });

        it("keeps /health/ready's answer for 5 s per container: a probe flood costs two reads, parallel probes share them", async () => {
            // given a container that answered once
            const handler = gateway();
            await handler(event({ path: "/health/ready" }));
            suite.counting.reset();
            // when 50 probes come within 5 s, 20 of them at once
            suite.clock.advance(1_000);
            await Promise.all(Array.from({ length: 20 }, () => handler(event({ path: "/health/ready" }))));
            for (let i = 0; i < 30; i++) await handler(event({ path: "/health/ready" }));
            suite.clock.advance(3_900);
            const stillCached = await handler(event({ path: "/health/ready" }));
            // then none of them reads DynamoDB
            assert.equal(stillCached.statusCode, 200);
            assert.equal(suite.counting.total(), 0);
            // and once the answer is 5 s old, the next probe (and the 20 beside it) checks again, once
            suite.clock.advance(100);
            await Promise.all(Array.from({ length: 20 }, () => handler(event({ path: "/health/ready" }))));
            assert.deepEqual(Object.fromEntries(suite.counting.counts), { GetItemCommand: 2 });
        });

        it("answers /health/ready with 503 when a table is missing", async () => {
            const result = await gateway({ tables: { rateLimits: suite.tables.rateLimits, sessions: "no-such-table" } })(event({ path: "/health/ready" }));
            assert.equal(result.statusCode, 503);
            assert.equal(result.headers!["content-type"], "application/problem+json");
            assert.ok(!result.body!.includes("no-such-table"), "no internal detail");
        });

        it("answers 405 to other methods on the health paths", async () => {
            const result = await gateway()(event({ method: "POST", path: "/health/live" }));
            assert.equal(result.statusCode, 405);
            assert.equal(result.headers!.allow, "GET, HEAD");
        });

        it("answers 404 problem+json when no route matches, with no DynamoDB call", async () => {
            const result = await gateway()(event({ path: "/nowhere" }));
            assert.equal(result.statusCode, 404);
            assert.deepEqual(bodyOf(result), { type: "about:blank", title: "Not Found", status: 404, detail: "No route matches this path." });
            assert.equal(suite.counting.total(), 0);
        });

        it("answers 400 to malformed events instead of failing", async () => {
            const handler = gateway();
            const good = event({ path: "/open" });
            const malformed: unknown[] = [
                undefined,
                {},
                { ...good, requestContext: undefined },
                { ...good, rawPath: 42 },
                { ...good, headers: "x" },
                { ...good, requestContext: { ...good.requestContext, http: { ...good.requestContext.http, sourceIp: undefined } } },
                { ...good, body: "***not base64***", isBase64Encoded: true },
                { ...good, body: { a: 1 } },
            ];
            for (const bad of malformed) {
                const result = await handler(bad as APIGatewayProxyEventV2);
                assert.equal(result.statusCode, 400, JSON.stringify(bad)?.slice(0, 80));
                assert.equal(result.headers!["content-type"], "application/problem+json");
                assert.ok(result.headers!["x-request-id"]);
            }
            assert.equal(suite.upstream.requests.length, 0);
        });

        it("puts the request id on every answer", async () => {
            const handler = gateway();
            for (const path of ["/open", "/users", "/nowhere", "/health/live"]) {
                const result = await handler(event({ path, requestId: `id-${path}` }));
                assert.equal(result.headers!["x-request-id"], `id-${path}`);
            }
        });

        it("writes one log line per request, with the request id as correlation id and the limiter key hashed", async () => {
            // when
            suite.clock.advance(1_000);
            await gateway()(event({ path: "/open/x", requestId: "req-log-1", sourceIp: "192.0.2.44" }));
            // then
            const [entry, ...more] = logLines();
            assert.equal(more.length, 0);
            assert.equal(entry.correlation_id, "req-log-1");
            assert.equal(entry.route, "open");
            assert.equal(entry.status, 200);
            assert.equal(entry.decision, "admitted");
            assert.equal(typeof entry.latency_ms, "number");
            assert.equal(entry.limiter_key_hash, createHmac("sha256", Buffer.from(testKeyMaterial.logKey)).update("ip:192.0.2.44:route:open").digest("hex").slice(0, 16));
            assert.ok(!lines.join("\n").includes("192.0.2.44"), "the client IP is not logged");
            assert.equal(entry.level, undefined, "an INFO line leaves its level to Lambda's default");
            assert.equal(entry.method, "GET");
            assert.equal(typeof entry.upstream_ms, "number");
            assert.equal(entry.timestamp, undefined, "and its time to the log event's");
            assert.equal(entry.auth, undefined, "a route without auth has no auth outcome to log");
        });

        it("emits EMF metrics per route and minute, not per request: Requests, UpstreamLatency, RateLimited, AuthFailures, UpstreamErrors", async () => {
            // given
            const port = await freePort();
            const handler = gateway({
                routes: [
                    route({ name: "open", pathPrefix: "/open", upstream: suite.upstream.url, rateLimit: { by: "ip", limit: 1, windowSeconds: 60, algorithm: "fixed" } }),
                    route({ name: "users", pathPrefix: "/users", upstream: suite.upstream.url, auth: "session" }),
                    route({ name: "down", pathPrefix: "/down", upstream: `http://127.0.0.1:${port}` }),
                ],
            });
            const minuteStart = suite.clock.ms;
            // when requests arrive within one minute
            await handler(event({ path: "/open" }));
            await handler(event({ path: "/open" }));
            await handler(event({ path: "/users" }));
            await handler(event({ path: "/down" }));
            suite.clock.advance(59_000);
            await handler(event({ path: "/users" }));
            // then nothing is written for them yet, and every request has its log line
            assert.equal(metricLines().length, 0);
            assert.deepEqual(logLines().map((entry) => entry.status), [200, 429, 401, 502, 401]);
            // when the first request of the next minute arrives
            suite.clock.advance(1_000);
            await handler(event({ path: "/health/live" }));
            // then the finished minute is written: one document per route, stamped with the minute
            const metrics = metricLines();
            assert.deepEqual(metrics.map((document) => document.route).sort(), ["down", "open", "users"]);
            for (const document of metrics) {
                assert.equal(document._aws.Timestamp, minuteStart);
                assert.equal(document._aws.CloudWatchMetrics[0].Namespace, "Tollgate");
                assert.deepEqual(document._aws.CloudWatchMetrics[0].Dimensions, [["service", "route"]]);
                assert.equal(document.service, "tollgate");
                const declared = document._aws.CloudWatchMetrics[0].Metrics.map((metric: { Name: string }) => metric.Name);
                assert.deepEqual(declared.filter((name: string) => document[name] === undefined), [], "every declared metric has a value");
            }
            const of = (name: string) => metrics.find((document) => document.route === name);
            assert.equal(of("open").Requests, 2);
            assert.equal(of("open").RateLimited, 1);
            assert.equal(of("open").UpstreamLatency.length, 1, "one latency value per proxied request");
            assert.equal(of("users").Requests, 2);
            assert.equal(of("users").AuthFailures, 2);
            assert.equal(of("down").UpstreamErrors, 1);
            assert.equal(of("open").AuthFailures, undefined, "a count of zero is left out");
        });
    });
}
