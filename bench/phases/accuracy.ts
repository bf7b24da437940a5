/**
 * 4. Limiter accuracy: the real limiter (runtime/steps/rateLimit.ts) over the
 * real rate-limits store on dynalite, with time injected, for `fixed` and
 * `sliding` at 100 requests per 60 s:
 *
 * - a steady client at twice the limit's rate for six windows, starting
 *   part-way into a window;
 * - a bursty client that sends twice the limit in the last half second of a
 *   window and twice the limit again in the first tenth of a second of the
 *   next, at five window boundaries.
 *
 * The figure is the most requests admitted in any rolling interval of one
 * window's length, as a multiple of the limit (1.0 is exact; a fixed window
 * lets up to twice the limit through across a boundary). Each key's windows
 * start at an offset of their own; the clients here know their key's (as a
 * client reads it off the `RateLimit` header), so the bursts hit its boundaries.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { startEmbeddedStore } from "../../local/store";
import { ensureTables } from "../../data/createTables";
import type { RateLimitAlgorithm, RateLimitPolicy } from "../../specs/routes";
import { rateLimitsTable } from "../../specs/tables";
import { randomBytes } from "node:crypto";
import { RateLimiter, windowOffsetSeconds } from "../../runtime/steps/rateLimit";
import { createStoreClient } from "../../runtime/stores/dynamo";
import { DynamoRateLimitStore } from "../../runtime/stores/rateLimitStore";
import { SimulatedClock } from "../support/inProcess";
import { round } from "../support/stats";

export interface ClientAccuracy {
    sent: number;
    admitted: number;
    /** Most admitted in any rolling window, divided by the limit. */
    max_ratio: number;
}

export interface AlgorithmAccuracy {
    max_ratio: number;
    steady: ClientAccuracy;
    bursty: ClientAccuracy;
}

export interface AccuracyResult {
    fixed: AlgorithmAccuracy;
    sliding: AlgorithmAccuracy;
    policy: { limit: number; window_s: number };
}

const limit = 100;
const windowSeconds = 60;
const windowMs = windowSeconds * 1000;

/** The most timestamps (sorted, ms) inside any interval [t, t + length). */
export function maxInRollingWindow(sortedMs: number[], lengthMs: number): number {
    let best = 0;
    let first = 0;
    for (let last = 0; last < sortedMs.length; last++) {
        while (sortedMs[last] - sortedMs[first] >= lengthMs) first++;
        best = Math.max(best, last - first + 1);
    }
    return best;
}

/** Request times of the steady client: twice the limit's rate, six windows, from 37% into a window. */
function steadySchedule(startMs: number): number[] {
    const intervalMs = windowMs / (2 * limit);
    const times: number[] = [];
    for (let t = startMs + 0.37 * windowMs; t < startMs + 6.37 * windowMs; t += intervalMs) times.push(t);
    return times;
}

/** Request times of the bursty client: 2x the limit just before five boundaries and 2x just after. */
function burstySchedule(startMs: number): number[] {
    const times: number[] = [];
    for (let boundary = 1; boundary <= 5; boundary++) {
        const edge = startMs + boundary * 2 * windowMs;
        for (let i = 0; i < 2 * limit; i++) times.push(edge - 500 + (i * 500) / (2 * limit));
        for (let i = 0; i < 2 * limit; i++) times.push(edge + (i * 100) / (2 * limit));
    }
    return times;
}

async function drive(limiter: RateLimiter, clock: SimulatedClock, key: string, policy: RateLimitPolicy, schedule: number[]): Promise<ClientAccuracy> {
    const admitted: number[] = [];
    for (const at of schedule) {
        clock.ms = at;
        const decision = await limiter.check(key, policy, "accuracy");
        if (decision.outcome === "admitted") admitted.push(at);
        else if (decision.outcome !== "limited") throw new Error(`the limiter answered ${decision.outcome}: the store failed`);
    }
    return { sent: schedule.length, admitted: admitted.length, max_ratio: round(maxInRollingWindow(admitted, windowMs) / limit, 3) };
}

export async function measureAccuracy(): Promise<AccuracyResult> {
    const store = await startEmbeddedStore({});
    const admin = new DynamoDBClient({ endpoint: store.endpoint, region: "eu-west-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    const dynamo = createStoreClient({ region: "eu-west-1", endpoint: store.endpoint });
    try {
        const names = await ensureTables(admin, `accuracy${process.pid}`, [rateLimitsTable], { enableTtl: false });
        const rateLimits = new DynamoRateLimitStore(dynamo, names[rateLimitsTable.name]);
        const clock = new SimulatedClock();
        const start = clock.ms;
        const measure = async (algorithm: RateLimitAlgorithm): Promise<AlgorithmAccuracy> => {
            const policy: RateLimitPolicy = { by: "ip", limit, windowSeconds, algorithm };
            // One container's limiter, as a Lambda container holds one.
            const windowKey = randomBytes(32);
            const limiter = new RateLimiter({ store: rateLimits, now: clock.now, failureMode: "closed", windowKey: () => windowKey });
            const windowOf = (key: string) => start + windowOffsetSeconds(key, windowSeconds, windowKey) * 1000;
            const [steadyKey, burstyKey] = [`ip:steady-${algorithm}`, `ip:bursty-${algorithm}`];
            const steady = await drive(limiter, clock, steadyKey, policy, steadySchedule(windowOf(steadyKey)));
            const bursty = await drive(limiter, clock, burstyKey, policy, burstySchedule(windowOf(burstyKey)));
            return { max_ratio: Math.max(steady.max_ratio, bursty.max_ratio), steady, bursty };
        };
        return { fixed: await measure("fixed"), sliding: await measure("sliding"), policy: { limit, window_s: windowSeconds } };
    } finally {
        admin.destroy();
        dynamo.destroy();
        await store.close();
    }
}
