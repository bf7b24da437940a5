/**
 * A DynamoDB that is there but does not answer: one that accepts every
 * connection and never says a word, and one that answers every call, but
 * only after seconds. Both under load, through gateways in processes of
 * their own (support/gatewayMain.ts), one failing open and one failing
 * closed. No request may wait past the stores' give-up time
 * (runtime/stores/dynamo.ts `storeGiveUpMs`) plus a margin for this
 * machine, and none may get a 500: the limiter fails open or closed as
 * configured and authentication answers 503.
 */
import { strict as assert } from "node:assert";
import { startLoad } from "../../bench/support/load";
import type { ChildService } from "../../bench/support/processes";
import { createSessions } from "../../runtime/sessions";
import type { RuntimeSettings } from "../../runtime/settings";
import { storeGiveUpMs, storeTimeouts } from "../../runtime/stores/dynamo";
import type { RouteSpec } from "../../specs/routes";
import { startDynamo, type TestDynamo } from "../support/dynamo";
import { startDynamoProxy, type DynamoProxy } from "../support/dynamoProxy";
import { startSilentServer } from "../support/loopback";
import { freshTables, runtimeSettings, startUpstream, type Upstream } from "../support/runtime";
import { startGatewayProcess } from "./support/gatewayChild";

/** Room for a loaded two-core machine on top of the give-up time: two gateway processes, the load generator and the store share it. */
const marginMs = 1_500;
const loadSeconds = 8;
const connections = 12;
const generous = { by: "ip", limit: 100_000_000, windowSeconds: 60, algorithm: "sliding" } as const;

function settingsFor(tables: { rateLimits: string; sessions: string }, dynamoEndpoint: string, upstream: string, failureMode: "open" | "closed"): RuntimeSettings {
    const routes: RouteSpec[] = [
        { name: "open", pathPrefix: "/open", upstream, auth: "none", permissions: [], rateLimit: generous },
        { name: "users", pathPrefix: "/users", upstream, auth: "session", permissions: [], rateLimit: { ...generous, by: "user" } },
    ];
    return runtimeSettings(tables, { endpoint: dynamoEndpoint }, { routes, defaultRateLimit: generous, rateLimitFailureMode: failureMode, upstreamTimeoutMs: 2_000 });
}

interface Answer {
    gateway: "open" | "closed";
    route: "open" | "users";
    status: number;
}

interface LoadOutcome {
    answers: Answer[];
    /** Every response's latency, ms (autocannon's per-response figure). */
    latencies: number[];
    requests: number;
    errors: number;
}

/** Both gateways under load on the anonymous and the session route for `loadSeconds`, every answer recorded. */
async function loadBoth(gateways: { open: ChildService; closed: ChildService }, token: string): Promise<LoadOutcome> {
    const answers: Answer[] = [];
    const latencies: number[] = [];
    const runs = await Promise.all(
        (["open", "closed"] as const).map((gateway) => {
            const instance = startLoad({
                url: gateways[gateway].url,
                connections,
                duration: loadSeconds,
                timeout: 20,
                requests: (["open", "users"] as const).map((route) => ({
                    method: "GET" as const,
                    path: route === "open" ? "/open/items" : "/users/me",
                    headers: route === "users" ? { authorization: `Bearer ${token}` } : {},
                    onResponse: (status: number) => void answers.push({ gateway, route, status }),
                })),
            });
            instance.on("response", (_client, _status, _bytes, ms) => void latencies.push(ms));
            return instance;
        }),
    );
    return { answers, latencies, requests: runs.reduce((sum, run) => sum + run.requests.total, 0), errors: runs.reduce((sum, run) => sum + run.errors + run.timeouts, 0) };
}

describe("reliability: a DynamoDB that does not answer", function () {
    this.timeout(180_000);
    let dynamo: TestDynamo;
    let upstream: Upstream;
    let tables: { rateLimits: string; sessions: string };
    let token: string;
    let started: ChildService[] = [];

    before(async () => {
        dynamo = await startDynamo("dynalite", { inMemory: true });
        upstream = await startUpstream();
        tables = await freshTables(dynamo);
        ({ token } = await createSessions({ dynamo: dynamo.client, tableName: tables.sessions }).create({ userId: "u-slow-store" }));
    });
    afterEach(async () => {
        await Promise.all(started.map((child) => child.stop()));
        started = [];
    });
    after(async () => {
        await upstream?.close();
        await dynamo?.close();
    });

    async function gatewaysAt(dynamoEndpoint: string) {
        const [open, closed] = await Promise.all([
            startGatewayProcess(settingsFor(tables, dynamoEndpoint, upstream.url, "open")),
            startGatewayProcess(settingsFor(tables, dynamoEndpoint, upstream.url, "closed")),
        ]);
        started.push(open, closed);
        return { open, closed };
    }

    /** What every scenario here must show: the configured answers, in time, and nothing else. */
    function assertAnsweredInTime(outcome: LoadOutcome, gateways: { open: ChildService; closed: ChildService }, scenario: string): void {
        const { answers } = outcome;
        assert.ok(gateways.open.alive() && gateways.closed.alive(), "a gateway process exited");
        assert.equal(outcome.errors, 0, "connection errors or client timeouts");
        assert.ok(answers.length > 0, "nothing was answered");
        const statuses = [...new Set(answers.map((answer) => answer.status))].sort();
        assert.deepEqual(
            statuses.filter((status) => status !== 200 && status !== 503),
            [],
            `statuses seen: ${statuses}`,
        );
        const of = (gateway: Answer["gateway"], route: Answer["route"]) => [...new Set(answers.filter((a) => a.gateway === gateway && a.route === route).map((a) => a.status))];
        assert.deepEqual(of("open", "open"), [200], "fail open: anonymous requests admitted");
        assert.deepEqual(of("closed", "open"), [503], "fail closed: anonymous requests refused with 503");
        assert.deepEqual([...new Set([...of("open", "users"), ...of("closed", "users")])], [503], "session auth answers 503");
        const slowest = Math.max(...outcome.latencies);
        assert.ok(slowest <= storeGiveUpMs + marginMs, `slowest answer ${Math.round(slowest)} ms; give-up ${storeGiveUpMs} ms + margin ${marginMs} ms`);
        console.log(
            `      ${scenario}: ${outcome.requests} requests over ${loadSeconds} s (${connections} connections per gateway); ` +
                `fail-open 200 x ${answers.filter((a) => a.gateway === "open" && a.route === "open").length}, fail-closed 503 x ${answers.filter((a) => a.gateway === "closed" && a.route === "open").length}, ` +
                `auth 503 x ${answers.filter((a) => a.route === "users").length}; 500 = 0; slowest ${Math.round(slowest)} ms (give-up ${storeGiveUpMs} ms)`,
        );
    }

    it("answers every request within the give-up time when DynamoDB accepts connections and never answers", async () => {
        // given DynamoDB's endpoint accepting connections and never answering
        const silent = await startSilentServer();
        try {
            const gateways = await gatewaysAt(silent.url);
            // when both gateways are under load
            const outcome = await loadBoth(gateways, token);
            // then
            assert.ok(silent.connections() > 0, "the gateways reached the store");
            assertAnsweredInTime(outcome, gateways, "slow-store/silent");
        } finally {
            await silent.close();
        }
    });

    it("answers every request within the give-up time when DynamoDB answers only after 3 s", async () => {
        // given every DynamoDB answer held back 3 s, three request timeouts
        const delayMs = 3 * storeTimeouts.requestMs;
        let proxy: DynamoProxy | undefined;
        try {
            proxy = await startDynamoProxy(dynamo.endpoint, () => ({ kind: "forward", delayMs }));
            const gateways = await gatewaysAt(proxy.endpoint);
            // when both gateways are under load
            const outcome = await loadBoth(gateways, token);
            // then
            assert.ok(proxy.log.length > 0, "the gateways reached the store");
            assertAnsweredInTime(outcome, gateways, `slow-store/answers after ${delayMs / 1000} s`);
        } finally {
            await proxy?.close();
        }
    });
});
