/**
 * Faults: DynamoDB stopped under load and restarted, upstreams that hang,
 * reset the connection or fail, and an invocation whose remaining time runs
 * out while it waits. The gateways run in processes of their own (the local
 * gateway's HTTP emulation and the handler, support/gatewayMain.ts) against
 * a dynalite that keeps its data on disk across the stop.
 */
import { strict as assert } from "node:assert";
import { createHook } from "node:async_hooks";
import * as net from "node:net";
import { startLoad } from "../../bench/support/load";
import { createHandler } from "../../runtime/handler";
import { createSessions } from "../../runtime/sessions";
import type { RuntimeSettings } from "../../runtime/settings";
import type { RouteSpec } from "../../specs/routes";
import { gatewayEvent } from "../../bench/support/inProcess";
import { startDynamo, type TestDynamo } from "../support/dynamo";
import { freshTables, runtimeSettings, startUpstream, type Upstream } from "../support/runtime";
import { startGatewayProcess } from "./support/gatewayChild";
import type { ChildService } from "../../bench/support/processes";

const upstreamTimeoutMs = 1500;
const generous = { by: "ip", limit: 100_000_000, windowSeconds: 60, algorithm: "fixed" } as const;

function settingsFor(tables: { rateLimits: string; sessions: string }, dynamo: TestDynamo, upstream: string, overrides: Partial<RuntimeSettings> = {}): RuntimeSettings {
    const routes: RouteSpec[] = [
        { name: "open", pathPrefix: "/open", upstream, auth: "none", permissions: [], rateLimit: generous },
        { name: "users", pathPrefix: "/users", upstream, auth: "session", permissions: [], rateLimit: { ...generous, by: "user" } },
        { name: "flaky", pathPrefix: "/flaky", upstream, auth: "none", permissions: [], rateLimit: generous },
    ];
    return runtimeSettings(tables, dynamo, { routes, defaultRateLimit: generous, upstreamTimeoutMs, ...overrides });
}

interface Answer {
    at: number;
    gateway: "open" | "closed";
    route: "open" | "users";
    status: number;
}

describe("reliability: faults", function () {
    this.timeout(180_000);
    let dynamo: TestDynamo;
    let upstream: Upstream;
    let tables: { rateLimits: string; sessions: string };
    let token: string;
    let failOpen: ChildService;
    let failClosed: ChildService;

    before(async () => {
        dynamo = await startDynamo("dynalite");
        upstream = await startUpstream();
        tables = await freshTables(dynamo);
        ({ token } = await createSessions({ dynamo: dynamo.client, tableName: tables.sessions }).create({ userId: "u-fault" }));
        [failOpen, failClosed] = await Promise.all([
            startGatewayProcess(settingsFor(tables, dynamo, upstream.url, { rateLimitFailureMode: "open" })),
            startGatewayProcess(settingsFor(tables, dynamo, upstream.url, { rateLimitFailureMode: "closed" })),
        ]);
    });

    after(async () => {
        await failOpen?.stop();
        await failClosed?.stop();
        await upstream?.close();
        await dynamo?.close();
    });

    it("survives DynamoDB stopped mid-load: the limiter fails open or closed as configured, auth answers 503, and it recovers within 5 s of the restart", async () => {
        // given both gateways under load on an anonymous and a session route
        const answers: Answer[] = [];
        const loadSeconds = 16;
        const loads = (["open", "closed"] as const).map((gateway) =>
            startLoad({
                url: (gateway === "open" ? failOpen : failClosed).url,
                connections: 8,
                duration: loadSeconds,
                timeout: 10,
                requests: (["open", "users"] as const).map((route) => ({
                    method: "GET",
                    path: route === "open" ? "/open/items" : "/users/me",
                    headers: route === "users" ? { authorization: `Bearer ${token}` } : {},
                    onResponse: (status: number) => void answers.push({ at: Date.now(), gateway, route, status }),
                })),
            }),
        );

        // when DynamoDB stops after 4 s and comes back 5 s later
        await new Promise((resolve) => setTimeout(resolve, 4_000));
        const stoppedAt = Date.now();
        await dynamo.stop();
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        // (The store answers from some moment inside start(), before it returns: the outage is over once start() begins.)
        const restartedAt = Date.now();
        await dynamo.start();
        const results = await Promise.all(loads);

        // then nothing crashed and nothing answered 500, 502 or 504
        assert.ok(failOpen.alive() && failClosed.alive(), "a gateway process exited");
        const statuses = new Set(answers.map((answer) => answer.status));
        assert.deepEqual([...statuses].filter((status) => status !== 200 && status !== 503), [], `statuses seen: ${[...statuses]}`);

        // during the outage (its first second left for requests already in flight)
        const during = answers.filter((answer) => answer.at > stoppedAt + 1_000 && answer.at < restartedAt);
        const outage = (gateway: Answer["gateway"], route: Answer["route"]) => during.filter((answer) => answer.gateway === gateway && answer.route === route);
        const statusesOf = (list: Answer[]) => [...new Set(list.map((answer) => answer.status))];
        assert.ok(outage("open", "open").length > 0 && outage("closed", "open").length > 0, "requests were answered during the outage");
        assert.deepEqual(statusesOf(outage("open", "open")), [200], "fail open: anonymous requests admitted");
        assert.deepEqual(statusesOf(outage("closed", "open")), [503], "fail closed: anonymous requests refused with 503");
        assert.deepEqual(statusesOf([...outage("open", "users"), ...outage("closed", "users")]), [503], "session auth answers 503");

        // and after the restart, every stream is back to 200 within 5 s
        let recoveryMs = 0;
        for (const gateway of ["open", "closed"] as const) {
            for (const route of ["open", "users"] as const) {
                const after = answers.filter((answer) => answer.gateway === gateway && answer.route === route && answer.at >= restartedAt);
                assert.ok(after.some((answer) => answer.status === 200), `${gateway}/${route}: no 200 after the restart`);
                const lastFailure = after.filter((answer) => answer.status !== 200).at(-1);
                recoveryMs = Math.max(recoveryMs, lastFailure ? lastFailure.at - restartedAt : 0);
            }
        }
        assert.ok(recoveryMs <= 5_000, `recovered ${recoveryMs} ms after the restart`);
        const requests = results.reduce((sum, result) => sum + result.requests.total, 0);
        console.log(
            `      faults/dynamodb: ${requests} requests, DynamoDB stopped ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s under load (1 fault), ` +
                `during it: fail-open 200 x ${outage("open", "open").length}, fail-closed 503 x ${outage("closed", "open").length}, ` +
                `auth 503 x ${outage("open", "users").length + outage("closed", "users").length}; 500 = 0, gateways alive, recovered ${recoveryMs} ms after the restart`,
        );
    });

    it("answers 504 for an upstream that hangs, 502 for one that resets, and passes an upstream's 5xx through", async () => {
        // given an upstream that hangs, resets, or fails, five times each, concurrently
        const cases = [
            { path: "/flaky/slow", expected: 504 },
            { path: "/flaky/reset", expected: 502 },
            { path: "/flaky/status/503", expected: 503 },
            { path: "/flaky/status/500", expected: 500 },
        ];
        const tries = cases.flatMap((entry) => Array.from({ length: 5 }, () => entry));
        // when they are requested through the gateway
        const answers = await Promise.all(
            tries.map(async ({ path, expected }) => {
                const started = Date.now();
                const response = await fetch(`${failOpen.url}${path}`);
                return { path, expected, status: response.status, body: await response.text(), type: response.headers.get("content-type"), elapsedMs: Date.now() - started };
            }),
        );
        // then each gets its status, the gateway's own answers as problem+json without internal detail
        for (const answer of answers) {
            assert.equal(answer.status, answer.expected, `${answer.path}: ${answer.status} ${answer.body}`);
            if (answer.path === "/flaky/slow" || answer.path === "/flaky/reset") {
                assert.equal(answer.type, "application/problem+json");
                assert.ok(!/127\.0\.0\.1|ECONN|Error|at /.test(answer.body), answer.body);
            } else {
                assert.equal(answer.body, `status ${answer.expected}`, "the upstream's own body");
            }
        }
        // the hang was cut at the configured timeout, not before
        const hung = answers.filter((answer) => answer.path === "/flaky/slow");
        assert.ok(hung.every((answer) => answer.elapsedMs >= upstreamTimeoutMs), `504 before ${upstreamTimeoutMs} ms: ${hung.map((a) => a.elapsedMs)}`);
        assert.ok(failOpen.alive(), "the gateway process exited");
        console.log(
            `      faults/upstream: ${tries.length} faults injected (5 hangs -> 504 after ${Math.min(...hung.map((a) => a.elapsedMs))}-${Math.max(...hung.map((a) => a.elapsedMs))} ms, timeout ${upstreamTimeoutMs} ms; 5 resets -> 502; 10 upstream 5xx passed through), gateway alive`,
        );
    });

    it("answers before the invocation's remaining time runs out and leaves no connection or timer of it behind", async () => {
        // given an upstream that accepts connections and never answers, and a warm handler whose upstream timeout exceeds the remaining time
        // (It reads what it is sent, so it sees the client's FIN when the gateway closes the connection.)
        const open = new Map<net.Socket, { requested: boolean }>();
        const hanging = net.createServer((socket) => {
            const state = { requested: false };
            open.set(socket, state);
            socket.on("data", () => (state.requested = true));
            socket.on("close", () => open.delete(socket));
            socket.on("error", () => undefined);
        });
        await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
        const hangingPort = (hanging.address() as net.AddressInfo).port;
        const handler = createHandler(
            settingsFor(tables, dynamo, `http://127.0.0.1:${hangingPort}`, {
                upstreamTimeoutMs: 60_000,
                routes: [{ name: "hang", pathPrefix: "/hang", upstream: `http://127.0.0.1:${hangingPort}`, auth: "none", permissions: [], rateLimit: generous }],
            }),
            { log: () => undefined },
        );
        assert.equal((await handler(gatewayEvent({ path: "/health/ready", sourceIp: "198.51.100.9" }))).statusCode, 200);

        // Every timer and socket created while the invocations run, until it is gone.
        const created = new Map<number, { type: string; resource: any }>();
        let tracking = false;
        const hook = createHook({
            init(asyncId, type, _trigger, resource) {
                if (tracking && (type === "Timeout" || type === "TCPWRAP" || type === "TCPCONNECTWRAP")) created.set(asyncId, { type, resource });
            },
            destroy(asyncId) {
                created.delete(asyncId);
            },
        }).enable();
        const remainingMs = 1_500;
        const invocations: { status?: number; elapsedMs: number }[] = [];
        try {
            // when invocations wait on it with 1.5 s left (and one with less than the handler's margin)
            tracking = true;
            for (const remaining of [remainingMs, remainingMs, 100]) {
                const started = Date.now();
                const result = await handler(gatewayEvent({ path: "/hang/report", sourceIp: "198.51.100.9" }), { getRemainingTimeInMillis: () => remaining - (Date.now() - started) });
                invocations.push({ status: result.statusCode, elapsedMs: Date.now() - started });
            }
            tracking = false;
            await new Promise((resolve) => setTimeout(resolve, 300));
        } catch (error) {
            hook.disable();
            hanging.close();
            throw error;
        }
        const requestsLeftOpen = [...open.values()].filter((state) => state.requested).length;
        // The upstream client may keep a spare connection it opened and never used; its pool closes it after its idle timeout.
        const idleAfterAnswer = open.size - requestsLeftOpen;
        const idleDeadline = Date.now() + 10_000;
        while (open.size > 0 && Date.now() < idleDeadline) await new Promise((resolve) => setTimeout(resolve, 100));
        const idleGoneAfterMs = 10_000 - (idleDeadline - Date.now());
        hook.disable();
        hanging.close();

        // then each answered 504 before its remaining time ran out
        for (const [i, invocation] of invocations.entries()) {
            const remaining = i < 2 ? remainingMs : 100;
            assert.equal(invocation.status, 504);
            assert.ok(invocation.elapsedMs < remaining, `answered after ${invocation.elapsedMs} ms of ${remaining}`);
        }
        // and the upstream connections were closed, and no timer that would still fire is left
        assert.equal(requestsLeftOpen, 0, "connections that carried a request to the hanging upstream left open");
        assert.equal(open.size, 0, "idle connections to the hanging upstream still open 10 s later");
        const leftOpen = [...created.values()].filter(({ type, resource }) => {
            if (type === "Timeout") return resource.hasRef?.() && !resource._destroyed;
            const peer: { port?: number } = {};
            try {
                resource.getpeername?.(peer);
            } catch {
                return false;
            }
            return peer.port === hangingPort;
        });
        assert.deepEqual(leftOpen.map(({ type }) => type), []);
        console.log(
            `      faults/remaining-time: ${invocations.length} invocations whose remaining time ran out before the upstream answered -> 504 after ${invocations.map((i) => i.elapsedMs).join(", ")} ms ` +
                `(of ${remainingMs}, ${remainingMs}, 100); connections that carried a request left open 0; ` +
                `${idleAfterAnswer} idle pooled connection(s) closed by the pool ${Math.round(idleGoneAfterMs)} ms later; live timers left 0`,
        );
    });
});
