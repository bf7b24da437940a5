/**
 * Trace context: what `traceparent` the upstream is sent, which trace id the
 * log lines carry, and what a client can and cannot make of either.
 */
import { strict as assert } from "node:assert";
import { createHandler, type HandlerDeps } from "../runtime/handler";
import type { RuntimeSettings } from "../runtime/settings";
import { continueOrStart, parseTraceparent, randomTraceIds, readTracestate, xrayTrace, type TraceIds } from "../runtime/steps/trace";
import { answerWith, event, route, runtimeSettings, useHandlerSuite, type EventOptions } from "./support/runtime";

const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const clientSpan = "00f067aa0ba902b7";
const valid = `00-${clientTrace}-${clientSpan}-01`;

/** Ids a test can predict: trace ids `aaaa…01`, `aaaa…02`, …; span ids `bbbb…01`, …. */
function countingIds(): TraceIds & { issued: string[] } {
    let traces = 0;
    let spans = 0;
    const issued: string[] = [];
    return {
        issued,
        traceId: () => {
            const id = `${"a".repeat(30)}${String(++traces).padStart(2, "0")}`;
            issued.push(id);
            return id;
        },
        spanId: () => `${"b".repeat(14)}${String(++spans).padStart(2, "0")}`,
    };
}

describe("trace context: reading what the client sent", function () {
    it("takes a valid version-00 traceparent's trace id, parent id and sampled flag", () => {
        assert.deepEqual(parseTraceparent(valid), { traceId: clientTrace, parentId: clientSpan, sampled: true });
        assert.deepEqual(parseTraceparent(`00-${clientTrace}-${clientSpan}-00`)?.sampled, false);
        assert.deepEqual(parseTraceparent(`00-${clientTrace}-${clientSpan}-09`)?.sampled, true, "the sampled bit, masked out of the other flags");
    });

    it("reads a later version's first fields, as the specification asks, and never version ff", () => {
        assert.deepEqual(parseTraceparent(`cc-${clientTrace}-${clientSpan}-01-what-comes-later`)?.traceId, clientTrace);
        assert.equal(parseTraceparent(`cc-${clientTrace}-${clientSpan}-01.later`), undefined);
        assert.equal(parseTraceparent(`ff-${clientTrace}-${clientSpan}-01`), undefined);
    });

    for (const [label, value] of [
        ["upper-case hex", `00-${clientTrace.toUpperCase()}-${clientSpan}-01`],
        ["an all-zero trace id", `00-${"0".repeat(32)}-${clientSpan}-01`],
        ["an all-zero parent id", `00-${clientTrace}-${"0".repeat(16)}-01`],
        ["a short trace id", `00-${clientTrace.slice(1)}-${clientSpan}-01`],
        ["version 00 with more after it", `${valid}-extra`],
        ["two headers, joined by a comma", `${valid},00-${"1".repeat(32)}-${clientSpan}-01`],
        ["spaces inside", `00- ${clientTrace}-${clientSpan}-01`],
        ["no flags", `00-${clientTrace}-${clientSpan}`],
        ["not hex", `00-${"g".repeat(32)}-${clientSpan}-01`],
        ["an empty value", ""],
    ] as const) {
        it(`refuses a traceparent with ${label}`, () => {
            assert.equal(parseTraceparent(value), undefined);
        });
    }

    it("passes a well-formed tracestate on without its optional whitespace, and drops a malformed one whole", () => {
        assert.equal(readTracestate("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
        assert.equal(readTracestate("tenant@vendor=x,,  "), "tenant@vendor=x");
        assert.equal(readTracestate("Rojo=1"), undefined, "a key in upper case");
        assert.equal(readTracestate("rojo=1,rojo=2"), undefined, "a key twice");
        assert.equal(readTracestate("rojo"), undefined, "no value");
        assert.equal(readTracestate("rojo=a\u0007b"), undefined, "a control character");
        assert.equal(readTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(",")), undefined, "33 entries");
    });

    it("cuts a long tracestate to 512 characters by whole entries, the longest first, then from the end", () => {
        const long = `big=${"x".repeat(200)}`;
        const entries = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, "0")}=${"v".repeat(20)}`);
        const cut = readTracestate([entries[0], long, ...entries.slice(1)].join(","))!;
        assert.ok(cut.length <= 512, `${cut.length}`);
        assert.ok(!cut.includes("big="), "the entry over 128 characters goes first");
        assert.ok(cut.startsWith("k00=") && cut.split(",").every((entry, i) => entry === entries[i]), "then entries from the end");
    });

    it("continues a valid trace with a span of the gateway's own, and starts a sampled new one otherwise, dropping the tracestate", () => {
        const ids = countingIds();
        assert.deepEqual(continueOrStart({ traceparent: valid, tracestate: "rojo=1" }, ids), { traceId: clientTrace, parentId: `${"b".repeat(14)}01`, sampled: true, origin: "client", tracestate: "rojo=1" });
        assert.deepEqual(continueOrStart({ traceparent: valid.toUpperCase(), tracestate: "rojo=1" }, ids), { traceId: `${"a".repeat(30)}01`, parentId: `${"b".repeat(14)}02`, sampled: true, origin: "gateway" });
        assert.deepEqual(continueOrStart(undefined, ids).origin, "gateway");
    });

    it("maps an X-Ray trace header to the same trace: the trace id without version and dashes, X-Ray's parent and sampled decision", () => {
        const ids = countingIds();
        assert.deepEqual(xrayTrace("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", ids), {
            traceId: "5759e988bd862e3fe1be46a994272793",
            parentId: "53995c3f42cd8ad8",
            sampled: true,
            origin: "xray",
        });
        const unsampled = xrayTrace("Root=1-5759E988-BD862E3FE1BE46A994272793;Sampled=0", ids)!;
        assert.deepEqual([unsampled.traceId, unsampled.sampled, unsampled.parentId], ["5759e988bd862e3fe1be46a994272793", false, `${"b".repeat(14)}01`]);
        assert.equal(xrayTrace("1-5759e988-bd862e3fe1be46a994272793", ids)?.traceId, "5759e988bd862e3fe1be46a994272793", "a bare trace id");
        assert.equal(xrayTrace("Root=2-5759e988-bd862e3fe1be46a994272793", ids), undefined);
        assert.equal(xrayTrace(undefined, ids), undefined);
    });

    it("draws ids from the CSPRNG pool, never all zeros", () => {
        // a source that gives zeros first: the ids are drawn again
        let fills = 0;
        const ids = randomTraceIds((buffer) => void (fills++ === 0 ? buffer.fill(0) : buffer.fill(0x5a)));
        assert.match(ids.traceId(), /^5a{31}$|^(5a){16}$/);
        const real = randomTraceIds();
        const drawn = new Set(Array.from({ length: 500 }, () => real.traceId()));
        assert.equal(drawn.size, 500);
        assert.ok([...drawn].every((id) => /^[0-9a-f]{32}$/.test(id)));
        assert.match(real.spanId(), /^[0-9a-f]{16}$/);
    });
});

describe("trace context: what the upstream is sent and the log lines say", function () {
    const suite = useHandlerSuite("dynalite");
    const gateway = (overrides: Partial<RuntimeSettings> = {}, deps: Partial<HandlerDeps> = {}) => {
        const lines: Record<string, any>[] = [];
        const ids = countingIds();
        const handler = createHandler(
            runtimeSettings(suite.tables, suite.dynamo, {
                routes: [
                    route({ name: "open", pathPrefix: "/open", upstream: suite.upstream.url }),
                    route({ name: "login", pathPrefix: "/login", upstream: suite.upstream.url, sessions: { issue: false, revoke: false, returnToken: false } }),
                ],
                ...overrides,
            }),
            { now: suite.clock.now, dynamo: suite.counting.client, log: (line) => lines.push(JSON.parse(line)), traceIds: ids, ...deps },
        );
        const send = async (options: EventOptions) => {
            const result = await handler(event({ path: "/open/x", ...options }));
            const upstream = suite.upstream.requests.at(-1);
            suite.upstream.requests.length = 0;
            return { result, upstream, line: lines.filter((entry) => entry.status !== undefined).at(-1)! };
        };
        return { send, lines, ids };
    };

    it("continues the client's trace: the same trace id and sampled flag, the gateway's span as parent, the tracestate along, the trace id in the log line", async () => {
        const { send } = gateway();
        const { upstream, line } = await send({ headers: { traceparent: `00-${clientTrace}-${clientSpan}-00`, tracestate: "congo=t61rcWkgMzE" } });
        assert.equal(upstream!.headers.traceparent, `00-${clientTrace}-${"b".repeat(14)}01-00`);
        assert.equal(upstream!.headers.tracestate, "congo=t61rcWkgMzE");
        assert.equal(line.trace_id, clientTrace);
    });

    for (const [label, headers] of [
        ["a malformed traceparent", { traceparent: "hello" }],
        ["upper-case hex", { traceparent: valid.toUpperCase() }],
        ["an all-zero trace id", { traceparent: `00-${"0".repeat(32)}-${clientSpan}-01` }],
        ["an all-zero parent id", { traceparent: `00-${clientTrace}-${"0".repeat(16)}-01` }],
        ["two traceparent headers (API Gateway joins them with a comma)", { traceparent: `${valid},00-${"1".repeat(32)}-${clientSpan}-01` }],
        ["the trace context spelled with underscores", { trace_parent: valid, trace_state: "rojo=1" }],
        ["a tracestate without a traceparent", { tracestate: "rojo=1" }],
    ] as const) {
        it(`starts a new trace for ${label}, and sends the upstream none of the client's trace headers`, async () => {
            const { send } = gateway();
            const { upstream, line } = await send({ headers: { ...headers } });
            assert.equal(upstream!.headers.traceparent, `00-${"a".repeat(30)}01-${"b".repeat(14)}01-01`);
            assert.equal(upstream!.headers.tracestate, undefined);
            for (const name of ["trace_parent", "trace_state", "trace-parent", "trace-state"]) assert.equal(upstream!.headers[name], undefined, name);
            assert.equal(line.trace_id, `${"a".repeat(30)}01`);
        });
    }

    it("puts the trace id in every line of a request: its warnings and its refusals too", async () => {
        const { send, lines } = gateway();
        // an upstream that sends a session instruction on a route that issues no sessions: a WARN line beside the request's
        await send({ path: "/login/answer", headers: { traceparent: valid, ...answerWith({ "x-gateway-session": '{"userId":"x"}' }) } });
        await send({ path: "/nowhere", headers: { traceparent: valid } });
        const ours = lines.filter((entry) => !entry._aws);
        assert.ok(ours.some((entry) => entry.message !== undefined), "a warning line");
        assert.ok(ours.some((entry) => entry.reason === "route.none"), "a refusal line");
        assert.ok(ours.every((entry) => entry.trace_id === clientTrace), JSON.stringify(ours));
    });

    it("with X-Ray tracing, sends and logs the invocation's X-Ray trace whatever the client sent", async () => {
        const header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        const { send } = gateway({ tracing: true }, { xrayTraceHeader: () => header });
        const { upstream, line } = await send({ headers: { traceparent: valid, tracestate: "rojo=1", "x-amzn-trace-id": "Root=1-00000001-000000000000000000000001" } });
        assert.equal(upstream!.headers.traceparent, "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01");
        assert.equal(upstream!.headers.tracestate, undefined, "the client's tracestate belongs to the client's trace");
        assert.equal(line.trace_id, "5759e988bd862e3fe1be46a994272793");
    });

    it("with X-Ray tracing but no X-Ray trace to read (npm start), continues or starts a W3C trace as without it", async () => {
        const { send } = gateway({ tracing: true }, { xrayTraceHeader: () => undefined });
        const { upstream } = await send({ headers: { traceparent: valid } });
        assert.equal(upstream!.headers.traceparent, `00-${clientTrace}-${"b".repeat(14)}01-01`);
    });

    it("reads the X-Ray header from Lambda's invoke store before the environment variable, per request", async () => {
        const saved = { env: process.env._X_AMZN_TRACE_ID, awslambda: (globalThis as any).awslambda };
        try {
            process.env._X_AMZN_TRACE_ID = "Root=1-11111111-111111111111111111111111;Parent=1111111111111111;Sampled=1";
            const { send } = gateway({ tracing: true });
            assert.equal((await send({})).line.trace_id, "11111111111111111111111111111111");
            (globalThis as any).awslambda = { InvokeStore: { getXRayTraceId: () => "Root=1-22222222-222222222222222222222222;Parent=2222222222222222;Sampled=0" } };
            const { upstream, line } = await send({});
            assert.equal(line.trace_id, "22222222222222222222222222222222");
            assert.equal(upstream!.headers.traceparent, "00-22222222222222222222222222222222-2222222222222222-00");
        } finally {
            if (saved.env === undefined) delete process.env._X_AMZN_TRACE_ID;
            else process.env._X_AMZN_TRACE_ID = saved.env;
            (globalThis as any).awslambda = saved.awslambda;
        }
    });
});
