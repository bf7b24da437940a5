/**
 * 2. DynamoDB operations per request, counted by a middleware on the client
 * the handler is given, with the prod stack's routes and limits:
 *
 * - anonymous: `products` (auth none, sliding, by ip), 10 clients each sending
 *   one request a second for 100 simulated seconds (1,000 requests);
 * - session: `users` (auth session, sliding, by user), 10 users at the same
 *   rate, with `sessionCacheSeconds` 0 and 10;
 * - flood: one client that has used up its `products` limit sends 1,000 more
 *   requests, 25 at a time, within the same second: operations per refusal.
 *
 * The same runs give what the cost model needs from the handler itself: its
 * wall time per request (in this process, DynamoDB and the upstream on
 * loopback) and the bytes of its own log lines per request.
 */
import { performance } from "node:perf_hooks";
import type { Handler } from "../../runtime/handler";
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
    /** Bytes of the handler's own log lines (JSON log line and EMF document, newline included). */
    log_bytes_per_req: number;
}

export interface DynamoOpsResult {
    anonymous: OpsPerRequest;
    session_nocache: OpsPerRequest;
    session_cache10: OpsPerRequest;
    flood: { ops_per_refused: number; requests: number; refused: number; operations: number; concurrency: number };
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
    const logBytes = log.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
    const cost: HandlerCost = {
        requests: steadyRequests,
        mean_ms: round(mean(latencies), 3),
        p50_ms: round(percentile(latencies, 50), 3),
        p99_ms: round(percentile(latencies, 99), 3),
        billed_mean_ms: round(mean(latencies.map((ms) => Math.ceil(ms))), 3),
        log_bytes_per_req: round(logBytes / steadyRequests, 1),
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

        return {
            anonymous: anonymous.ops,
            session_nocache: sessionNoCache.ops,
            session_cache10: sessionCache10.ops,
            flood: { ops_per_refused: round(floodOperations / Math.max(refused, 1), 4), requests: floodRequests, refused, operations: floodOperations, concurrency },
            handler: { anonymous: anonymous.cost, session_cache10: sessionCache10.cost },
            workload: `${clients} clients x 1 request/s for ${steadyRequests / clients} simulated seconds; flood of ${floodRequests} from one client at its limit, ${concurrency} in flight`,
        };
    } finally {
        await rig.close();
    }
}
