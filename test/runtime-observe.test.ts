/**
 * What a request leaves behind for operators: a small JSON line that a
 * sample rate may thin out for successful requests only, and metrics
 * aggregated per route and minute instead of an EMF document per request.
 */
import { strict as assert } from "node:assert";
import { createHash, createHmac } from "node:crypto";
import { createObserver, levelOf, metricsIntervalSeconds, type RequestRecord } from "../runtime/steps/observe";
import { createHandler } from "../runtime/handler";
import { freePort } from "./support/loopback";
import { event, route, runtimeSettings, useHandlerSuite } from "./support/runtime";

const minuteMs = metricsIntervalSeconds * 1000;

function recording(options: Partial<Parameters<typeof createObserver>[0]> = {}) {
    const lines: string[] = [];
    let ms = Date.UTC(2031, 0, 1, 12, 0, 0);
    const observer = createObserver({ logLevel: "INFO", sink: (line) => void lines.push(line), now: () => ms, ...options });
    return {
        observer,
        advance: (by: number) => void (ms += by),
        logLines: () => lines.map((line) => JSON.parse(line)).filter((entry) => !entry._aws),
        metricLines: () => lines.map((line) => JSON.parse(line)).filter((entry) => entry._aws),
    };
}

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const admitted: RequestRecord = { requestId: "r-ok", traceId, route: "open", method: "GET", status: 200, latencyMs: 12, limiterKey: "ip:192.0.2.1", decision: "admitted", auth: "anonymous", authenticated: false, upstreamMs: 9 };

describe("observe: the request line", () => {
    it("says ERROR for a 5xx answer, WARN for a 4xx answer or a fail-open admission, INFO otherwise", () => {
        assert.equal(levelOf({ status: 200, decision: "admitted" }), "INFO");
        assert.equal(levelOf({ status: 304 }), "INFO");
        assert.equal(levelOf({ status: 200, decision: "failed-open" }), "WARN");
        assert.equal(levelOf({ status: 429, decision: "limited" }), "WARN");
        assert.equal(levelOf({ status: 401 }), "WARN");
        assert.equal(levelOf({ status: 503, decision: "failed-closed" }), "ERROR");
        assert.equal(levelOf({ status: 502 }), "ERROR");
    });

    it("keeps a share of the INFO lines under a sample rate, marked with the rate, and never a refusal, an error or an authentication failure", () => {
        // given a sample rate of 0.25 and a random source that keeps every fourth decision
        const draws = [0.1, 0.5, 0.9, 0.7];
        let draw = 0;
        const { observer, logLines } = recording({ sampleRate: 0.25, random: () => draws[draw++ % draws.length] });
        // when eight successful requests and one of each kind of trouble are observed
        for (let i = 0; i < 8; i++) observer.request({ ...admitted, requestId: `ok-${i}` });
        const trouble: RequestRecord[] = [
            { ...admitted, requestId: "limited", status: 429, decision: "limited", upstreamMs: undefined },
            { ...admitted, requestId: "limited-local", status: 429, decision: "limited-local", upstreamMs: undefined },
            { ...admitted, requestId: "invalid", route: "users", authenticated: true, status: 401, auth: "invalid", upstreamMs: undefined },
            { ...admitted, requestId: "forbidden", route: "users", authenticated: true, status: 403, auth: "forbidden", upstreamMs: undefined },
            { ...admitted, requestId: "auth-down", route: "users", authenticated: true, status: 503, auth: "unavailable", upstreamMs: undefined },
            { ...admitted, requestId: "failed-open", decision: "failed-open" },
            { ...admitted, requestId: "failed-closed", status: 503, decision: "failed-closed", upstreamMs: undefined },
            { ...admitted, requestId: "upstream-down", status: 502, upstreamError: "refused" },
            { ...admitted, requestId: "not-found", route: undefined, status: 404, decision: undefined, limiterKey: undefined, upstreamMs: undefined },
        ];
        for (const record of trouble) observer.request(record);
        // then two of the eight successes are written, each saying the rate, and every trouble line is written without it
        const lines = logLines();
        const kept = lines.filter((entry) => entry.correlation_id.startsWith("ok-"));
        assert.deepEqual(kept.map((entry) => entry.correlation_id), ["ok-0", "ok-4"]);
        assert.ok(kept.every((entry) => entry.sample_rate === 0.25));
        assert.deepEqual(
            lines.filter((entry) => !entry.correlation_id.startsWith("ok-")).map((entry) => entry.correlation_id),
            trouble.map((record) => record.requestId),
        );
        assert.ok(lines.filter((entry) => !entry.correlation_id.startsWith("ok-")).every((entry) => entry.sample_rate === undefined));
    });

    it("writes every line, without sample_rate, at the default rate of 1", () => {
        const { observer, logLines } = recording({ random: () => 0.999 });
        for (let i = 0; i < 5; i++) observer.request({ ...admitted, requestId: `ok-${i}` });
        assert.equal(logLines().length, 5);
        assert.ok(logLines().every((entry) => entry.sample_rate === undefined));
    });

    it("carries what operators need and nothing personal", () => {
        const { observer, logLines } = recording({ logKey: () => Buffer.from("a-stack-log-key-of-32-characters!") });
        observer.request({ ...admitted, route: "users", authenticated: true, auth: "valid", limiterKey: "user:alice@example.com" });
        const [entry] = logLines();
        assert.deepEqual(Object.keys(entry), ["correlation_id", "trace_id", "route", "method", "status", "latency_ms", "limiter_key_hash", "decision", "auth", "upstream_ms"]);
        assert.equal(entry.trace_id, traceId);
        assert.match(entry.limiter_key_hash, /^[0-9a-f]{16}$/);
        assert.ok(!JSON.stringify(entry).includes("alice"), "the limiter key itself is not logged");
    });

    it("gives a WARN or ERROR line its level and an RFC 3339 timestamp, and leaves both to Lambda on an INFO line", () => {
        const { observer, logLines } = recording();
        observer.request(admitted);
        observer.request({ ...admitted, requestId: "limited", status: 429, decision: "limited" });
        observer.request({ ...admitted, requestId: "broken", status: 504, upstreamError: "timeout" });
        const [info, warn, error] = logLines();
        assert.deepEqual([info.level, info.timestamp], [undefined, undefined]);
        assert.equal(warn.level, "WARN");
        assert.equal(error.level, "ERROR");
        for (const entry of [warn, error]) assert.equal(entry.timestamp, new Date(Date.UTC(2031, 0, 1, 12, 0, 0)).toISOString());
    });

    it("hashes the limiter key with an HMAC under the stack's log key, so an address cannot be found by hashing every address", () => {
        // given two stacks' observers and the plain SHA-256 anyone could compute
        const keyed = (logKey: string) => {
            const { observer, logLines } = recording({ logKey: () => Buffer.from(logKey) });
            observer.request({ ...admitted, limiterKey: "ip:192.0.2.1" });
            return logLines()[0].limiter_key_hash;
        };
        const plain = createHash("sha256").update("ip:192.0.2.1").digest("hex").slice(0, 16);
        // then the hash is the HMAC, differs per stack, and is not the bare hash
        assert.equal(keyed("stack-one-log-key-of-32-characters"), createHmac("sha256", "stack-one-log-key-of-32-characters").update("ip:192.0.2.1").digest("hex").slice(0, 16));
        assert.notEqual(keyed("stack-one-log-key-of-32-characters"), keyed("stack-two-log-key-of-32-characters"));
        assert.notEqual(keyed("stack-one-log-key-of-32-characters"), plain);
        // and without the key (not read yet) the field is left out, never filled with a bare hash
        const { observer, logLines } = recording();
        observer.request({ ...admitted, limiterKey: "ip:192.0.2.1" });
        assert.equal(logLines()[0].limiter_key_hash, undefined);
    });

    it("writes nothing below the log level, and refusals and errors still at WARN", () => {
        const { observer, logLines } = recording({ logLevel: "WARN" });
        observer.request(admitted);
        observer.request({ ...admitted, requestId: "limited", status: 429, decision: "limited" });
        observer.request({ ...admitted, requestId: "broken", status: 502, upstreamError: "timeout" });
        assert.deepEqual(logLines().map((entry) => entry.correlation_id), ["limited", "broken"]);
    });

    it("logs an unexpected failure at ERROR with its stack", () => {
        const { observer, logLines } = recording();
        observer.failure("r-crash", traceId, new TypeError("boom"));
        const [entry] = logLines();
        assert.equal(entry.level, "ERROR");
        assert.equal(entry.correlation_id, "r-crash");
        assert.equal(entry.trace_id, traceId);
        assert.equal(entry.error.name, "TypeError");
        assert.match(entry.error.stack, /boom/);
    });
});

describe("observe: metrics", () => {
    it("writes a route's document early once it holds 100 latency values, and the rest with its minute", () => {
        // given
        const { observer, advance, metricLines } = recording();
        // when 150 proxied requests arrive within a minute, then one in the next
        for (let i = 0; i < 150; i++) observer.request({ ...admitted, upstreamMs: i });
        const early = metricLines();
        advance(minuteMs);
        observer.request({ ...admitted, route: "other" });
        // then the first 100 went out as they filled, and the other 50 with the minute's end
        assert.equal(early.length, 1);
        assert.equal(early[0].UpstreamLatency.length, 100);
        assert.equal(early[0].Requests, 100);
        const all = metricLines().filter((document) => document.route === "open");
        assert.deepEqual(all.map((document) => document.Requests), [100, 50]);
        assert.deepEqual(all.flatMap((document) => document.UpstreamLatency), Array.from({ length: 150 }, (_, i) => i));
        assert.equal(all[0]._aws.Timestamp, all[1]._aws.Timestamp, "both stamped with the minute the requests arrived in");
    });

    it("writes a minute held over a quiet spell at the next request, stamped with that minute", () => {
        // given requests in one minute, then an hour with none (a frozen container)
        const { observer, advance, metricLines } = recording();
        const minute = Math.floor(Date.UTC(2031, 0, 1, 12, 0, 0) / minuteMs) * minuteMs;
        observer.request(admitted);
        observer.request({ ...admitted, status: 429, decision: "limited" });
        advance(3_600_000);
        assert.equal(metricLines().length, 0, "nothing is written while no request arrives");
        // when the next request arrives
        observer.request(admitted);
        // then the held minute is written with its own timestamp
        const [held] = metricLines();
        assert.equal(held._aws.Timestamp, minute);
        assert.equal(held.Requests, 2);
        assert.equal(held.RateLimited, 1);
    });

    it("writes what it holds on flush", () => {
        const { observer, metricLines } = recording();
        observer.request(admitted);
        observer.flush();
        observer.flush();
        assert.equal(metricLines().length, 1);
    });
});

describe("observe: through the handler (dynalite)", function () {
    const suite = useHandlerSuite("dynalite");

    it("never samples away a refusal, an authentication failure or an upstream error, at a sample rate of 0", async () => {
        // given a handler that writes no successful request's line
        const lines: string[] = [];
        const port = await freePort();
        const handler = createHandler(
            runtimeSettings(suite.tables, suite.dynamo, {
                logSampleRate: 0,
                routes: [
                    route({ name: "open", pathPrefix: "/open", upstream: suite.upstream.url, rateLimit: { by: "ip", limit: 1, windowSeconds: 60, algorithm: "fixed" } }),
                    route({ name: "users", pathPrefix: "/users", upstream: suite.upstream.url, auth: "session" }),
                    route({ name: "down", pathPrefix: "/down", upstream: `http://127.0.0.1:${port}` }),
                ],
            }),
            { now: suite.clock.now, dynamo: suite.counting.client, log: (line) => lines.push(line) },
        );
        // when
        const statuses = [];
        for (const path of ["/open", "/open", "/users", "/down", "/nowhere"]) statuses.push((await handler(event({ path, requestId: `id${path}-${statuses.length}` }))).statusCode);
        // then every answer but the success has its line
        assert.deepEqual(statuses, [200, 429, 401, 502, 404]);
        const logged = lines.map((line) => JSON.parse(line)).filter((entry) => !entry._aws);
        assert.deepEqual(
            logged.map((entry) => [entry.status, entry.level]),
            [
                [429, "WARN"],
                [401, "WARN"],
                [502, "ERROR"],
                [404, "WARN"],
            ],
        );
        assert.equal(logged.find((entry) => entry.status === 401).auth, "missing");
    });
});
