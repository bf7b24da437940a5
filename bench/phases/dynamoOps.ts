/**
 * 2. DynamoDB operations per request, counted by a middleware on the client
 * the handler is given, with the prod stack's routes and limits:
 *
 * - anonymous: `products` (auth none, sliding, by ip), 10 clients each sending
 *   one request a second for 100 simulated seconds (1,000 requests);
 * - session: `users` (auth session, sliding, by user), 10 users at the same
 *   rate, with `sessionCacheSeconds` 0 and 10;
 * - flood: one client that has used up its `products` limit sends 1,000 more
 *   requests, 25 at a time, within the same second: operations per refusal;
 * - sessions through the gateway, on an issuing `/auth` and a revoking
 *   `/auth/logout` route beside the prod routes (the built-in login upstream
 *   behind them, a fixed limit by ip): per login, per logout, per logout of
 *   every session of a user (5 each), and per request whose session is due
 *   for renewal (`renewWithinSeconds` 3600, a day's session with half an hour
 *   left, on the prod `users` route); 200 of each.
 *
 * The same runs give what the cost model needs from the handler itself: its
 * wall time per request (in this process, DynamoDB and the upstream on
 * loopback) and the bytes it writes to its log group per request: its
 * request lines, and its EMF documents, which it writes per route and
 * minute (so a run ends with a request in the next minute, as a container's
 * next invocation would, to have the last minute's written too).
 */
import { performance } from "node:perf_hooks";
import type { Handler } from "../../runtime/handler";
import type { RouteSpec } from "../../specs/routes";
import { sessionCookieName } from "../../specs/sessions";
import { startLoginUpstream, type LoginUpstream } from "../../local/login";
import { gatewayEvent, SimulatedClock, startRig, type Rig } from "../support/inProcess";
import { mean, percentile, round } from "../support/stats";

export interface OpsPerRequest {
    writes_per_req: number;
    reads_per_req: number;
}

export interface HandlerCost {
    requests: number;
    /** Wall time of a handler call, this machine, everything on loopback. */
    mean_ms: number;
    p50_ms: number;
    p99_ms: number;
    /** Mean of the durations rounded up to whole milliseconds, as Lambda bills them. */
    billed_mean_ms: number;
    /**
     * The median request's duration rounded up to whole milliseconds: what the
     * cost model bills. On a loaded machine the mean is mostly requests waiting
     * for a CPU that other processes hold, which a Lambda's own vCPU does not.
     */
    billed_p50_ms: number;
    /** Bytes the handler writes to its log group per request, newlines included: its log lines and its EMF documents. */
    log_bytes_per_req: number;
    /** The request lines' part of it. */
    log_line_bytes_per_req: number;
    /** The EMF documents' part of it. */
    emf_bytes_per_req: number;
}

export interface DynamoOpsResult {
    anonymous: OpsPerRequest;
    session_nocache: OpsPerRequest;
    session_cache10: OpsPerRequest;
    flood: { ops_per_refused: number; requests: number; refused: number; operations: number; concurrency: number };
    /** A login through an issuing route: the route's counter and the new session. */
    login: OpsPerRequest;
    /** `{"revoke": "current"}`: the session read, the route's counter, the delete. */
    logout: OpsPerRequest;
    /** `{"revoke": "all"}` for a user with `sessions_per_user` sessions, per logout. */
    logout_all: OpsPerRequest & { sessions_per_user: number };
    /** A request whose session is due for renewal: the usual read and counter, and the renewal's conditional write. */
    renewed: OpsPerRequest;
    handler: { anonymous: HandlerCost; session_cache10: HandlerCost };
    workload: string;
}

const clients = 10;
const steadyRequests = 1_000;
/** Ten clients at one request a second each: one request every 100 ms in turn. */
const stepMs = 1000 / clients;

async function steady(rig: Rig, handler: Handler, clock: SimulatedClock, request: (client: number) => Parameters<typeof gatewayEvent>[0], log: string[]) {
    rig.dynamo.reset();
    log.length = 0;
    const latencies: number[] = [];
    for (let i = 0; i < steadyRequests; i++) {
        const started = performance.now();
        const result = await handler(gatewayEvent(request(i % clients)));
        latencies.push(performance.now() - started);
        if (result.statusCode !== 200) throw new Error(`steady workload: request ${i} answered ${result.statusCode}: ${result.body}`);
        clock.advance(stepMs);
    }
    const counts = rig.dynamo.counts();
    const ops: OpsPerRequest = { writes_per_req: round(counts.writes / steadyRequests, 3), reads_per_req: round(counts.reads / steadyRequests, 3) };
    // The next minute's first request writes the last minute's metrics; its own line is not the workload's.
    clock.advance(60_000);
    await handler(gatewayEvent({ path: "/health/live", sourceIp: "192.0.2.250" }));
    const bytes = (lines: string[]) => lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
    const emf = log.filter((line) => line.startsWith('{"_aws"'));
    const requestLines = log.filter((line) => !line.startsWith('{"_aws"') && !line.includes('"route":"health"'));
    const cost: HandlerCost = {
        requests: steadyRequests,
        mean_ms: round(mean(latencies), 3),
        p50_ms: round(percentile(latencies, 50), 3),
        p99_ms: round(percentile(latencies, 99), 3),
        billed_mean_ms: round(mean(latencies.map((ms) => Math.ceil(ms))), 3),
        billed_p50_ms: Math.ceil(percentile(latencies, 50)),
        log_bytes_per_req: round((bytes(requestLines) + bytes(emf)) / steadyRequests, 1),
        log_line_bytes_per_req: round(bytes(requestLines) / steadyRequests, 1),
        emf_bytes_per_req: round(bytes(emf) / steadyRequests, 1),
    };
    return { ops, cost };
}

export async function measureDynamoOps(): Promise<DynamoOpsResult> {
    const rig = await startRig();
    try {
        const log: string[] = [];
        const sink = (line: string) => void log.push(line);
        const ipOf = (client: number) => `198.51.100.${client + 1}`;

        // Warm the code paths first (JIT, the SDK's connections), so the first workload measured does not pay for it.
        const warmClock = new SimulatedClock();
        const warmToken = await rig.session("bench-warm-up", warmClock);
        const warmHandler = rig.handler(rig.prodSettings(), warmClock);
        for (let i = 0; i < 200; i++) {
            await warmHandler(gatewayEvent({ path: "/products/1", sourceIp: "192.0.2.1" }));
            await warmHandler(gatewayEvent({ path: "/users/me", sourceIp: "192.0.2.1", headers: { authorization: `Bearer ${warmToken}` } }));
            warmClock.advance(stepMs);
        }

        const anonymousClock = new SimulatedClock();
        const anonymous = await steady(rig, rig.handler(rig.prodSettings(), anonymousClock, sink), anonymousClock, (client) => ({ path: "/products/42", sourceIp: ipOf(client) }), log);

        const sessionRun = async (cacheSeconds: number) => {
            const clock = new SimulatedClock();
            const tokens = await Promise.all(Array.from({ length: clients }, (_, i) => rig.session(`bench-user-${cacheSeconds}-${i}`, clock)));
            const handler = rig.handler(rig.prodSettings({ sessionCacheSeconds: cacheSeconds }), clock, sink);
            return steady(rig, handler, clock, (client) => ({ path: "/users/me", sourceIp: ipOf(client), headers: { authorization: `Bearer ${tokens[client]}` } }), log);
        };
        const sessionNoCache = await sessionRun(0);
        const sessionCache10 = await sessionRun(10);

        // The flood: a client at its limit, then 1,000 more requests, 25 in flight at a time.
        const floodClock = new SimulatedClock();
        const floodHandler = rig.handler(rig.prodSettings(), floodClock);
        const products = rig.prodSettings().routes.find((route) => route.name === "products")!;
        const floodIp = "203.0.113.66";
        for (let i = 0; i < products.rateLimit!.limit; i++) {
            const result = await floodHandler(gatewayEvent({ path: "/products/1", sourceIp: floodIp }));
            if (result.statusCode !== 200) throw new Error(`flood: request ${i} under the limit answered ${result.statusCode}`);
        }
        rig.dynamo.reset();
        const floodRequests = 1_000;
        const concurrency = 25;
        let refused = 0;
        for (let sent = 0; sent < floodRequests; sent += concurrency) {
            const batch = await Promise.all(Array.from({ length: concurrency }, () => floodHandler(gatewayEvent({ path: "/products/1", sourceIp: floodIp }))));
            refused += batch.filter((result) => result.statusCode === 429).length;
        }
        const floodCounts = rig.dynamo.counts();
        const floodOperations = floodCounts.reads + floodCounts.writes;

        const lifecycle = await sessionLifecycle(rig);

        return {
            ...lifecycle,
            anonymous: anonymous.ops,
            session_nocache: sessionNoCache.ops,
            session_cache10: sessionCache10.ops,
            flood: { ops_per_refused: round(floodOperations / Math.max(refused, 1), 4), requests: floodRequests, refused, operations: floodOperations, concurrency },
            handler: { anonymous: anonymous.cost, session_cache10: sessionCache10.cost },
            workload: `${clients} clients x 1 request/s for ${steadyRequests / clients} simulated seconds; flood of ${floodRequests} from one client at its limit, ${concurrency} in flight; ${lifecycleRuns} logins, logouts, logouts of 5 sessions and renewed requests`,
        };
    } finally {
        await rig.close();
    }
}

const lifecycleRuns = 200;
const sessionsPerUser = 5;

/** Operations per request of `run`, which sends `requests` requests and throws on any answer it did not expect. */
async function opsOf(rig: Rig, requests: number, run: () => Promise<void>): Promise<OpsPerRequest> {
    rig.dynamo.reset();
    await run();
    const counts = rig.dynamo.counts();
    return { writes_per_req: round(counts.writes / requests, 3), reads_per_req: round(counts.reads / requests, 3) };
}

function expect(result: { statusCode?: number; body?: string }, status: number, what: string): void {
    if (result.statusCode !== status) throw new Error(`${what} answered ${result.statusCode}: ${result.body}`);
}

async function sessionLifecycle(rig: Rig): Promise<Pick<DynamoOpsResult, "login" | "logout" | "logout_all" | "renewed">> {
    const login: LoginUpstream = await startLoginUpstream("bench-login");
    try {
        const clock = new SimulatedClock();
        const byIp = { by: "ip", limit: 1000, windowSeconds: 60, algorithm: "fixed" } as const;
        const prod = rig.prodSettings();
        const routes: RouteSpec[] = [
            ...prod.routes,
            { name: "auth", pathPrefix: "/auth", upstream: login.url, auth: "none", permissions: [], rateLimit: byIp, sessions: { issue: true, returnToken: false, revoke: false } },
            { name: "logout", pathPrefix: "/auth/logout", upstream: `${login.url}/logout`, auth: "session", permissions: [], rateLimit: byIp, sessions: { issue: false, returnToken: false, revoke: true } },
        ];
        const handler = rig.handler({ ...prod, routes, sessions: { ...prod.sessions!, renewWithinSeconds: 3600 } }, clock);
        const cookie = sessionCookieName(prod.sessions!.cookie);
        const ipOf = (i: number) => `198.51.100.${(i % clients) + 101}`;
        const logIn = async (i: number, username: string): Promise<string> => {
            const body = JSON.stringify({ username });
            const result = await handler(gatewayEvent({ method: "POST", path: "/auth/login", sourceIp: ipOf(i), headers: { "content-type": "application/json" }, body }));
            expect(result, 200, "login");
            clock.advance(stepMs);
            const set = result.cookies?.find((line) => line.startsWith(`${cookie}=`)) ?? "";
            return set.slice(cookie.length + 1).split(";")[0];
        };
        const logOut = async (i: number, token: string, path: string) => {
            expect(await handler(gatewayEvent({ method: "POST", path, sourceIp: ipOf(i), cookies: [`${cookie}=${token}`] })), 200, path);
            clock.advance(stepMs);
        };

        const tokens: string[] = [];
        const loginOps = await opsOf(rig, lifecycleRuns, async () => {
            for (let i = 0; i < lifecycleRuns; i++) tokens.push(await logIn(i, `bench-login-${i}`));
        });
        const logoutOps = await opsOf(rig, lifecycleRuns, async () => {
            for (let i = 0; i < lifecycleRuns; i++) await logOut(i, tokens[i], "/auth/logout");
        });
        const users = lifecycleRuns / sessionsPerUser;
        const perUser: string[][] = [];
        for (let u = 0; u < users; u++) {
            const mine: string[] = [];
            for (let s = 0; s < sessionsPerUser; s++) mine.push(await logIn(u, `bench-everywhere-${u}`));
            perUser.push(mine);
        }
        const logoutAllOps = await opsOf(rig, users, async () => {
            for (let u = 0; u < users; u++) await logOut(u, perUser[u][0], "/auth/logout/all");
        });

        // A day's sessions issued 23.5 hours ago: half an hour left, inside the hour's window.
        const issuedAt = clock.ms - 23.5 * 3600_000;
        const due = await Promise.all(Array.from({ length: lifecycleRuns }, (_, i) => rig.session(`bench-rolling-${i}`, clock, issuedAt)));
        const renewedOps = await opsOf(rig, lifecycleRuns, async () => {
            for (let i = 0; i < lifecycleRuns; i++) {
                const result = await handler(gatewayEvent({ path: "/users/me", sourceIp: ipOf(i), cookies: [`${cookie}=${due[i]}`] }));
                expect(result, 200, "renewed request");
                if (!result.cookies?.some((line) => line.startsWith(`${cookie}=${due[i]};`))) throw new Error("renewed request: no refreshed cookie");
                clock.advance(stepMs);
            }
        });
        return { login: loginOps, logout: logoutOps, logout_all: { ...logoutAllOps, sessions_per_user: sessionsPerUser }, renewed: renewedOps };
    } finally {
        await login.close();
    }
}
