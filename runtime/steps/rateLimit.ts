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
 *
 * Each key's windows start at an offset of their own within the window
 * length, derived from the key under a secret of the stack (an HMAC with the
 * window key of runtime/auth/gatewayKeys.ts): counters do not all reset on
 * the epoch's minute, and nobody without the secret can tell when another
 * key's counter resets.
 */
import { createHmac } from "node:crypto";
import type { RateLimitPolicy, RouteSpec } from "../../specs/routes";
import { ExpiringCache, rememberedPerKey } from "../expiringCache";
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
    /** Whose counter: the route's own `rateLimit`, its bucket's, or `tollgate:defaultRateLimit`'s. */
    kind: "route" | "bucket" | "default";
    policy: RateLimitPolicy;
    /** Appended to the caller part of the key: `""`, `:route:<name>` or `:bucket:<name>` (the name encoded as a key part). */
    suffix: string;
    /** The route's name, or the bucket's. */
    name: string;
}

export function counterScope(route: Pick<RouteSpec, "name" | "rateLimit">, defaultPolicy: RateLimitPolicy): CounterScope {
    const own = route.rateLimit;
    if (!own) return { kind: "default", policy: defaultPolicy, suffix: defaultPolicy.by === "route" ? `:route:${keyPart(route.name)}` : "", name: route.name };
    if (own.bucket !== undefined) return { kind: "bucket", policy: own, suffix: `:bucket:${keyPart(own.bucket)}`, name: own.bucket };
    return { kind: "route", policy: own, suffix: `:route:${keyPart(route.name)}`, name: route.name };
}

/**
 * One part of a limiter key, with `%` and `:` percent-encoded (`%25`, `%3A`):
 * parts are joined with `:`, so no user id, address, route or bucket name can
 * hold the separator and make up another key (user `alice:route:users` is
 * `user:alice%3Aroute%3Ausers`, never `user:alice` on route `users`).
 */
export function keyPart(text: string): string {
    return text.replace(/[%:]/g, (character) => (character === "%" ? "%25" : "%3A"));
}

/**
 * The client as `by: ip` counts it: an IPv4 address as it is; an IPv6
 * address by its first `ipv6PrefixLength` bits (`2001:db8:1:2::/64`), since
 * one subscriber holds a whole /64 and could take a fresh address for every
 * request; an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) as the IPv4
 * address it is. At 128 an IPv6 address counts as it came.
 */
export function clientOf(sourceIp: string, ipv6PrefixLength: number): string {
    if (!sourceIp.includes(":")) return sourceIp;
    const groups = ipv6Groups(sourceIp);
    if (!groups) return sourceIp;
    if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
        return `${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`;
    }
    if (ipv6PrefixLength >= 128) return sourceIp;
    const masked = groups.map((group, i) => {
        const bits = Math.min(16, Math.max(0, ipv6PrefixLength - i * 16));
        return bits === 0 ? 0 : group & (0xffff << (16 - bits)) & 0xffff;
    });
    return `${ipv6Text(masked)}/${ipv6PrefixLength}`;
}

/** The eight 16-bit groups of an IPv6 address (a zone `%eth0` ignored, a dotted IPv4 tail read), or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
    let text = address.split("%", 1)[0].toLowerCase();
    const dotted = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
    if (dotted) {
        const bytes = dotted.slice(2).map(Number);
        if (bytes.some((byte) => byte > 255)) return undefined;
        text = `${dotted[1]}${((bytes[0] << 8) | bytes[1]).toString(16)}:${((bytes[2] << 8) | bytes[3]).toString(16)}`;
    }
    const halves = text.split("::");
    if (halves.length > 2) return undefined;
    const parse = (half: string) => (half === "" ? [] : half.split(":"));
    const head = parse(halves[0]);
    const tail = halves.length === 2 ? parse(halves[1]) : [];
    const written = [...head, ...tail];
    if (written.some((group) => !/^[0-9a-f]{1,4}$/.test(group))) return undefined;
    const missing = 8 - written.length;
    if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
    return [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail].map((group) => parseInt(group, 16));
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups (the first of equals) as `::`. */
function ipv6Text(groups: number[]): string {
    let bestStart = -1;
    let bestLength = 1;
    for (let i = 0; i < 8; ) {
        if (groups[i] !== 0) {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && groups[j] === 0) j++;
        if (j - i > bestLength) {
            bestStart = i;
            bestLength = j - i;
        }
        i = j;
    }
    const hex = groups.map((group) => group.toString(16));
    if (bestStart < 0) return hex.join(":");
    return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/**
 * The counter a request is charged to (the stored `limiter_key`): the caller,
 * then the scope. The caller is `user:<id>` when the policy keys on users and
 * the request proved one; `ip:<client>` otherwise (`clientOf`); and
 * `auth-failed:<client>` for a request whose credential failed, so that
 * guessing is limited without spending anyone's own budget. Then the scope:
 * nothing for the default policy's shared counter, `:route:<name>` for a
 * route's own limit (and for `by: route` under the default policy),
 * `:bucket:<name>` for a bucket. Every part is encoded with `keyPart`.
 */
export function limiterKeyFor(scope: CounterScope, caller: { userId?: string; client: string; failed?: boolean }): string {
    if (caller.failed) return `auth-failed:${keyPart(caller.client)}${scope.suffix}`;
    const who = scope.policy.by !== "ip" && caller.userId !== undefined ? `user:${keyPart(caller.userId)}` : `ip:${keyPart(caller.client)}`;
    return `${who}${scope.suffix}`;
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
    /**
     * The stack's secret for window offsets (runtime/auth/gatewayKeys.ts), once
     * it has been read; while it cannot be, the limiter cannot tell a key's
     * window and answers as for a failed store (`failureMode`).
     */
    windowKey: () => Uint8Array | undefined;
}

interface Window {
    /** Epoch seconds. */
    start: number;
    /** Epoch seconds, with milliseconds. */
    nowSeconds: number;
    /** Share of the previous window still inside the sliding window: 1 at the window's start, 0 at its end. */
    previousWeight: number;
}

/** The window holding `nowMs` of a key whose windows start `offsetSeconds` after each multiple of the window length. */
function windowAt(nowMs: number, windowSeconds: number, offsetSeconds: number): Window {
    const nowSeconds = nowMs / 1000;
    const start = Math.floor((nowSeconds - offsetSeconds) / windowSeconds) * windowSeconds + offsetSeconds;
    return { start, nowSeconds, previousWeight: (start + windowSeconds - nowSeconds) / windowSeconds };
}

/** A 48-bit number drawn from the key under the window key: the same in every container of the stack, unknown without the secret. */
export function windowSeed(limiterKey: string, windowKey: Uint8Array): number {
    return createHmac("sha256", windowKey).update(limiterKey).digest().readUIntBE(0, 6);
}

/** Whole seconds after each multiple of `windowSeconds` (since the epoch) at which the key's windows start: 0 to `windowSeconds - 1`. */
export function windowOffsetSeconds(limiterKey: string, windowSeconds: number, windowKey: Uint8Array): number {
    return windowSeed(limiterKey, windowKey) % windowSeconds;
}

/** The epoch second at which the window holding `nowMs` began for this key (what `window_start` stores). */
export function windowStartOf(limiterKey: string, windowSeconds: number, windowKey: Uint8Array, nowMs: number): number {
    return windowAt(nowMs, windowSeconds, windowOffsetSeconds(limiterKey, windowSeconds, windowKey)).start;
}

const wholeSecondsUntil = (fromMs: number, toMs: number) => Math.max(1, Math.ceil((toMs - fromMs) / 1000));

export class RateLimiter {
    private readonly store: RateLimitStore;
    private readonly now: () => number;
    private readonly failureMode: "open" | "closed";
    /** A key's `windowSeed`, once the window key is read; a caller's key comes back request after request. */
    private readonly seedOf: (limiterKey: string) => number | undefined;
    /** Refused keys (per policy) -> epoch ms until which a retry cannot succeed. */
    private readonly refusals = new ExpiringCache<string, number>();
    /** `limiter_key@window_start` of finished windows -> their count. */
    private readonly previousCounts = new ExpiringCache<string, Promise<number>>();

    constructor(options: RateLimiterOptions) {
        this.store = options.store;
        this.now = options.now;
        this.failureMode = options.failureMode;
        this.seedOf = rememberedPerKey((limiterKey) => {
            const windowKey = options.windowKey();
            return windowKey === undefined ? undefined : windowSeed(limiterKey, windowKey);
        });
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
        const base = this.base(limiterKey, policy, policyName);
        const seed = this.seedOf(limiterKey);
        if (seed === undefined) return this.failed(base, nowMs, policy);
        const window = windowAt(nowMs, policy.windowSeconds, seed % policy.windowSeconds);
        const windowEndMs = (window.start + policy.windowSeconds) * 1000;
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
            return this.failed(base, nowMs, policy, windowEndMs);
        }
    }

    /** The store (or the window key) failed: nothing was counted, and `failureMode` decides. */
    private failed(base: ReturnType<RateLimiter["base"]>, nowMs: number, policy: RateLimitPolicy, windowEndMs = nowMs + policy.windowSeconds * 1000): RateLimitDecision {
        const outcome = this.failureMode === "open" ? "failed-open" : "failed-closed";
        return { ...base, outcome, source: "dynamodb", remaining: policy.limit, resetSeconds: wholeSecondsUntil(nowMs, windowEndMs) };
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
