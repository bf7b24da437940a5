/**
 * Step 3: rate limit. Fixed and sliding windows over the rate-limits store,
 * with the per-container state that keeps DynamoDB traffic down:
 *
 * - a refusal cache: once a key is refused, this container refuses it
 *   without a DynamoDB call until the refusal must end (the window's end for
 *   `fixed`; for `sliding`, the moment the previous window's weight has
 *   fallen enough to admit again);
 * - for `sliding`, the previous window's count, read once per key and window
 *   (a finished window's count no longer changes).
 *
 * `fixed` is the seed's algorithm: one conditional UpdateItem per admitted
 * request. `sliding` is Cloudflare's estimate: the request is admitted while
 * `previous * (1 - elapsed / window) + current < limit`, enforced with the same
 * conditional UpdateItem whose limit is the part of the window's budget the
 * previous window has not used up: `floor(limit - previous * weight)`.
 */
import type { RateLimitPolicy, RouteSpec } from "../../specs/routes";
import { ExpiringCache } from "../expiringCache";
import type { RateLimitStore } from "../stores/rateLimitStore";

export type RateLimitOutcome = "admitted" | "limited" | "failed-open" | "failed-closed";

export interface RateLimitDecision {
    outcome: RateLimitOutcome;
    /** `dynamodb` when the store decided, `container` when the refusal cache did. */
    source: "dynamodb" | "container";
    limiterKey: string;
    /** The route's name, as the `RateLimit-Policy` header shows it. */
    policyName: string;
    limit: number;
    windowSeconds: number;
    /** Requests left in the window; the full limit when the store failed and nothing was counted. */
    remaining: number;
    /** Whole seconds until the window ends (or, refused, until a retry can succeed). */
    resetSeconds: number;
    /** On refusals: whole seconds until a retry can succeed. */
    retryAfterSeconds?: number;
}

/**
 * Which requests share a counter, and under what name the `RateLimit-Policy`
 * header shows it. A route's own `rateLimit` counts that route's requests
 * only; a `rateLimit.bucket` counts the requests of every route naming it;
 * routes without a limit of their own share `tollgate:defaultRateLimit`'s.
 */
export interface CounterScope {
    policy: RateLimitPolicy;
    /** Appended to the caller part of the key: `""`, `:route:<name>` or `:bucket:<name>`. */
    suffix: string;
    /** The route's name, or the bucket's. */
    name: string;
}

export function counterScope(route: Pick<RouteSpec, "name" | "rateLimit">, defaultPolicy: RateLimitPolicy): CounterScope {
    const own = route.rateLimit;
    if (!own) return { policy: defaultPolicy, suffix: defaultPolicy.by === "route" ? `:route:${route.name}` : "", name: route.name };
    if (own.bucket !== undefined) return { policy: own, suffix: `:bucket:${own.bucket}`, name: own.bucket };
    return { policy: own, suffix: `:route:${route.name}`, name: route.name };
}

/**
 * The counter a request is charged to (the stored `limiter_key`): the caller,
 * `user:<id>` when the policy keys on users and the request has one, else
 * `ip:<ip>`, followed by the scope: `ip:<ip>` and `user:<id>` for the default
 * policy's shared counter, `ip:<ip>:route:<name>` and `user:<id>:route:<name>`
 * for a route's own limit (and for `by: route` under the default policy),
 * `ip:<ip>:bucket:<name>` and `user:<id>:bucket:<name>` for a bucket.
 */
export function limiterKeyFor(scope: CounterScope, userId: string | undefined, sourceIp: string): string {
    const caller = scope.policy.by !== "ip" && userId !== undefined ? `user:${userId}` : `ip:${sourceIp}`;
    return `${caller}${scope.suffix}`;
}

/** The IETF httpapi RateLimit headers (draft-ietf-httpapi-ratelimit-headers), and Retry-After on refusals. */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
    const name = JSON.stringify(decision.policyName);
    const headers: Record<string, string> = {
        "ratelimit-policy": `${name};q=${decision.limit};w=${decision.windowSeconds}`,
        ratelimit: `${name};r=${decision.remaining};t=${decision.resetSeconds}`,
    };
    if (decision.retryAfterSeconds !== undefined) headers["retry-after"] = String(decision.retryAfterSeconds);
    return headers;
}

export interface RateLimiterOptions {
    store: RateLimitStore;
    /** Epoch milliseconds. */
    now: () => number;
    failureMode: "open" | "closed";
}

interface Window {
    /** Epoch seconds. */
    start: number;
    /** Epoch seconds, with milliseconds. */
    nowSeconds: number;
    /** Share of the previous window still inside the sliding window: 1 at the window's start, 0 at its end. */
    previousWeight: number;
}

function windowAt(nowMs: number, windowSeconds: number): Window {
    const nowSeconds = nowMs / 1000;
    const start = Math.floor(nowSeconds / windowSeconds) * windowSeconds;
    return { start, nowSeconds, previousWeight: (start + windowSeconds - nowSeconds) / windowSeconds };
}

const wholeSecondsUntil = (fromMs: number, toMs: number) => Math.max(1, Math.ceil((toMs - fromMs) / 1000));

export class RateLimiter {
    private readonly store: RateLimitStore;
    private readonly now: () => number;
    private readonly failureMode: "open" | "closed";
    /** Refused keys (per policy) -> epoch ms until which a retry cannot succeed. */
    private readonly refusals = new ExpiringCache<string, number>();
    /** `limiter_key@window_start` of finished windows -> their count. */
    private readonly previousCounts = new ExpiringCache<string, Promise<number>>();

    constructor(options: RateLimiterOptions) {
        this.store = options.store;
        this.now = options.now;
        this.failureMode = options.failureMode;
    }

    /** A refusal this container already knows of, decided without DynamoDB; undefined otherwise. */
    refusedLocally(limiterKey: string, policy: RateLimitPolicy, policyName: string): RateLimitDecision | undefined {
        const now = this.now();
        const until = this.refusals.get(refusalKey(limiterKey, policy), now);
        if (until === undefined) return undefined;
        const retryAfterSeconds = wholeSecondsUntil(now, until);
        return { ...this.base(limiterKey, policy, policyName), outcome: "limited", source: "container", remaining: 0, resetSeconds: retryAfterSeconds, retryAfterSeconds };
    }

    /**
     * Counts the request against its key, or refuses it: from the refusal cache
     * when it knows the key, else with the store. Never throws: a store failure
     * becomes `failed-open` or `failed-closed`.
     */
    async check(limiterKey: string, policy: RateLimitPolicy, policyName: string): Promise<RateLimitDecision> {
        const local = this.refusedLocally(limiterKey, policy, policyName);
        if (local) return local;
        const nowMs = this.now();
        const window = windowAt(nowMs, policy.windowSeconds);
        const windowEndMs = (window.start + policy.windowSeconds) * 1000;
        const base = this.base(limiterKey, policy, policyName);
        try {
            const previous = policy.algorithm === "sliding" ? await this.previousCount(limiterKey, window.start - policy.windowSeconds, policy.windowSeconds, nowMs) : 0;
            const allowance = Math.floor(policy.limit - previous * window.previousWeight);
            // With no allowance left the conditional write would admit a first request
            // (attribute_not_exists holds), so the refusal is decided here.
            const counted =
                allowance > 0
                    ? await this.store.countRequest({
                          limiterKey,
                          windowStart: window.start,
                          limit: allowance,
                          now: Math.floor(window.nowSeconds),
                          // One window more than needed, so the sliding limiter can still read it as the previous one.
                          expiresAt: window.start + 2 * policy.windowSeconds,
                      })
                    : ({ admitted: false } as const);
            if (counted.admitted) {
                return { ...base, outcome: "admitted", source: "dynamodb", remaining: Math.max(0, allowance - counted.count), resetSeconds: wholeSecondsUntil(nowMs, windowEndMs) };
            }
            const untilMs = this.refusalEnd(policy, window, previous, Math.max(allowance, 0), windowEndMs);
            this.refusals.set(refusalKey(limiterKey, policy), untilMs, untilMs, nowMs);
            const retryAfterSeconds = wholeSecondsUntil(nowMs, untilMs);
            return { ...base, outcome: "limited", source: "dynamodb", remaining: 0, resetSeconds: retryAfterSeconds, retryAfterSeconds };
        } catch {
            const outcome = this.failureMode === "open" ? "failed-open" : "failed-closed";
            return { ...base, outcome, source: "dynamodb", remaining: policy.limit, resetSeconds: wholeSecondsUntil(nowMs, windowEndMs) };
        }
    }

    /**
     * When a refused key can next be admitted. The window holds at least
     * `countedAtLeast` requests; with the previous window's weight falling over
     * time, the allowance `floor(limit - previous * weight)` exceeds that count
     * once `weight <= (limit - countedAtLeast - 1) / previous`.
     */
    private refusalEnd(policy: RateLimitPolicy, window: Window, previous: number, countedAtLeast: number, windowEndMs: number): number {
        const spare = policy.limit - countedAtLeast - 1;
        if (policy.algorithm === "fixed" || previous === 0 || spare < 0) return windowEndMs;
        const weightThen = spare / previous;
        const atSeconds = window.start + policy.windowSeconds * (1 - weightThen);
        return Math.min(windowEndMs, Math.max(Math.ceil(atSeconds * 1000), this.now()));
    }

    private previousCount(limiterKey: string, windowStart: number, windowSeconds: number, nowMs: number): Promise<number> {
        const cacheKey = `${limiterKey}@${windowStart}`;
        const cached = this.previousCounts.get(cacheKey, nowMs);
        if (cached) return cached;
        // One read shared by every request of this window that arrives while it is in flight.
        const read = this.store.windowCount(limiterKey, windowStart);
        // Needed until the current window (the one after it) ends.
        this.previousCounts.set(cacheKey, read, (windowStart + 2 * windowSeconds) * 1000, nowMs);
        read.catch(() => this.previousCounts.delete(cacheKey));
        return read;
    }

    private base(limiterKey: string, policy: RateLimitPolicy, policyName: string) {
        return { limiterKey, policyName, limit: policy.limit, windowSeconds: policy.windowSeconds };
    }
}

/** Refusals are per counter and policy: routes sharing an `ip:` counter may have different limits. */
function refusalKey(limiterKey: string, policy: RateLimitPolicy): string {
    return `${limiterKey}\u0000${policy.algorithm}:${policy.limit}/${policy.windowSeconds}`;
}
