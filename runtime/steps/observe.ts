/**
 * Step 5 (observe): one small JSON log line per request, and the metrics
 * only tollgate knows, aggregated in the container.
 *
 * The log line: `level` and `timestamp` (on WARN and ERROR lines only, see
 * below), `correlation_id` (the API Gateway request id), `trace_id` (the W3C
 * trace id the upstream was sent, runtime/steps/trace.ts; on every line,
 * warnings and failures included), `route`, `method`, `status`, `latency_ms`, `limiter_key_hash`
 * (HMAC-SHA256 of the limiter key under the stack's log key, first 16 hex
 * digits: an IP or user id is personal data, and a bare hash of `ip:<address>`
 * could be reversed by hashing every address), `decision` (the limiter's), `auth` (left out on routes that
 * take no credential, where it could only say `anonymous`), `session` (what
 * the request did to sessions), `upstream_ms`, `upstream_error`, `reason` (why
 * the gateway answered itself: a code of specs/reasons.ts, on every refusal and
 * failure). A field with nothing to say is left out. The level says
 * what the line is: ERROR for a 5xx answer, WARN for a 4xx answer and for a
 * request the limiter admitted only because DynamoDB failed (fail open),
 * INFO for the rest. An INFO line, nearly every line, carries neither
 * `level` nor `timestamp`: Lambda reads a JSON line without a level as INFO,
 * and stamps every line with the time it was written, which is the time of
 * the answer; left out, they are a fifth of the line's bytes. A WARN or ERROR
 * line carries both, since Lambda keeps a line's level only with a valid
 * RFC 3339 timestamp beside it. With `tollgate:logSampleRate` below 1, INFO lines are
 * written for that share of requests (and carry `sample_rate`); WARN and
 * ERROR lines, every refusal, error and authentication failure, are always
 * written.
 *
 * The metrics (namespace `Tollgate` unless POWERTOOLS_METRICS_NAMESPACE says
 * otherwise; dimensions `service` and `route`): Requests, RateLimited,
 * AuthFailures, UpstreamErrors (Count) and UpstreamLatency (Milliseconds).
 * They are counted in memory per route and UTC minute and written as one
 * Embedded Metric Format document per route and minute, stamped with the
 * minute, not one per request: the first request of a new minute writes the
 * previous minute's documents, and a route's document is written early when
 * it holds 100 latency values (the most one EMF value array may carry).
 *
 * Why this loses nothing but a container's last minute: everything is
 * written synchronously inside an invocation, before the handler returns,
 * so a freeze never cuts a write short. A container that goes quiet keeps
 * its current minute in memory while Lambda freezes it; its next invocation,
 * however much later, writes it with the minute's own timestamp (CloudWatch
 * takes data points up to two weeks old, though an alarm that already
 * evaluated that minute does not look again). A container Lambda shuts down
 * without invoking it again takes its last minute of metrics with it (at most
 * 60 s of that container's requests; their log lines are written, so Logs
 * Insights still counts them). Lambda signals a shutdown only to functions
 * with extensions, and tollgate runs none.
 *
 * Everything goes through one sink (stdout by default, which Lambda sends to
 * CloudWatch Logs), one call per line, so concurrent requests of the local
 * gateway never mix their lines.
 */
import { createHmac } from "node:crypto";
import type { Reason } from "../../specs/reasons";
import { rememberedPerKey } from "../expiringCache";

export type LogSink = (line: string) => void;

export const serviceName = "tollgate";
export const defaultMetricsNamespace = "Tollgate";
/** Metrics are aggregated per this many seconds (CloudWatch's standard resolution). */
export const metricsIntervalSeconds = 60;
/** The most values one EMF metric may carry. */
const maxMetricValues = 100;

export interface RequestRecord {
    requestId: string;
    /** The request's W3C trace id (32 hex digits). */
    traceId: string;
    method?: string;
    /** Route name; `health`, or absent when no route matched. */
    route?: string;
    /** Whether the route takes a credential (`auth` other than `none`); when false, the line leaves `auth` out. */
    authenticated?: boolean;
    status: number;
    latencyMs: number;
    limiterKey?: string;
    /** The limiter's outcome: admitted, limited, failed-open, failed-closed; `limited-local` when this container's refusal cache answered. */
    decision?: string;
    /** Authentication outcome: anonymous, valid, missing, invalid, forbidden, unavailable. */
    auth?: string;
    /** What the request did to sessions: issued, revoked, revoked-all, renewed, or refused (an instruction the gateway would not act on). */
    session?: string;
    upstreamMs?: number;
    upstreamError?: "refused" | "timeout" | "too-large";
    /** Why the gateway answered itself (specs/reasons.ts); absent when the upstream answered. */
    reason?: Reason;
}

/** `limiter_key_hash`: HMAC-SHA256 of the limiter key under the stack's log key (runtime/auth/gatewayKeys.ts), first 16 hex digits. */
export function hashLimiterKey(limiterKey: string, logKey: Uint8Array): string {
    return createHmac("sha256", logKey).update(limiterKey).digest("hex").slice(0, 16);
}

export interface Observer {
    request(record: RequestRecord): void;
    /** An unexpected failure: logged with its stack for operators, never sent to the client. */
    failure(requestId: string, traceId: string, error: unknown): void;
    /** Something a request did that the gateway refused or ignored and an operator should hear of (an upstream's misplaced session instruction). */
    warning(requestId: string, traceId: string, route: string | undefined, message: string): void;
    /** Writes the metrics counted so far (the local gateway on shutdown, tests). */
    flush(): void;
}

export interface ObserverOptions {
    /** DEBUG, INFO, WARN or ERROR: lines below it are not written. */
    logLevel: string;
    /** Share of INFO request lines written, 0 to 1 (`tollgate:logSampleRate`). */
    sampleRate?: number;
    sink?: LogSink;
    namespace?: string;
    /** Epoch milliseconds. */
    now?: () => number;
    /** A number in [0, 1); decides which INFO lines a sample rate below 1 keeps. */
    random?: () => number;
    /** The stack's log key, once it has been read; until then a line leaves `limiter_key_hash` out rather than hash without it. */
    logKey?: () => Uint8Array | undefined;
}

const levels: Record<string, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };
const authFailures = new Set(["invalid", "missing", "forbidden", "unavailable"]);

/** What a request's line is: an error (5xx), a refusal or a degraded answer (4xx, fail open), or business as usual. */
export function levelOf(record: Pick<RequestRecord, "status" | "decision">): "ERROR" | "WARN" | "INFO" {
    if (record.status >= 500) return "ERROR";
    if (record.status >= 400 || record.decision === "failed-open") return "WARN";
    return "INFO";
}

/** One route's counts and latencies in the current minute. */
interface RouteMetrics {
    requests: number;
    rateLimited: number;
    authFailures: number;
    upstreamErrors: number;
    upstreamLatency: number[];
}

export function createObserver(options: ObserverOptions): Observer {
    const sink = options.sink ?? ((line: string) => void process.stdout.write(`${line}\n`));
    const now = options.now ?? Date.now;
    const random = options.random ?? Math.random;
    const threshold = levels[options.logLevel] ?? levels.INFO;
    const sampleRate = Math.min(1, Math.max(0, options.sampleRate ?? 1));
    const namespace = options.namespace ?? process.env.POWERTOOLS_METRICS_NAMESPACE ?? defaultMetricsNamespace;
    const intervalMs = metricsIntervalSeconds * 1000;

    let minute = -1;
    const byRoute = new Map<string, RouteMetrics>();
    // A caller's key comes back request after request: its HMAC is worked out once per container.
    const hashOf = rememberedPerKey((limiterKey) => {
        const logKey = options.logKey?.();
        return logKey === undefined ? undefined : hashLimiterKey(limiterKey, logKey);
    });
    const keyHash = (limiterKey: string | undefined) => (limiterKey === undefined ? undefined : hashOf(limiterKey));

    const writeMetrics = (route: string, metrics: RouteMetrics, timestamp: number) => {
        const definitions: { Name: string; Unit: string }[] = [{ Name: "Requests", Unit: "Count" }];
        const document: Record<string, unknown> = {
            _aws: { Timestamp: timestamp, CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [["service", "route"]], Metrics: definitions }] },
            service: serviceName,
            route,
            Requests: metrics.requests,
        };
        // A count is written only when it is not zero.
        const add = (name: string, unit: string, value: number | number[]) => {
            definitions.push({ Name: name, Unit: unit });
            document[name] = value;
        };
        if (metrics.rateLimited) add("RateLimited", "Count", metrics.rateLimited);
        if (metrics.authFailures) add("AuthFailures", "Count", metrics.authFailures);
        if (metrics.upstreamErrors) add("UpstreamErrors", "Count", metrics.upstreamErrors);
        if (metrics.upstreamLatency.length) add("UpstreamLatency", "Milliseconds", metrics.upstreamLatency);
        sink(JSON.stringify(document));
    };

    const flush = () => {
        for (const [route, metrics] of byRoute) writeMetrics(route, metrics, minute * intervalMs);
        byRoute.clear();
    };

    const count = (record: RequestRecord, at: number) => {
        const thisMinute = Math.floor(at / intervalMs);
        if (thisMinute !== minute) {
            flush();
            minute = thisMinute;
        }
        const route = record.route ?? "none";
        let metrics = byRoute.get(route);
        if (!metrics) {
            metrics = { requests: 0, rateLimited: 0, authFailures: 0, upstreamErrors: 0, upstreamLatency: [] };
            byRoute.set(route, metrics);
        }
        metrics.requests++;
        if (record.decision === "limited" || record.decision === "limited-local") metrics.rateLimited++;
        if (record.auth !== undefined && authFailures.has(record.auth)) metrics.authFailures++;
        if (record.upstreamError) metrics.upstreamErrors++;
        if (record.upstreamMs !== undefined) {
            metrics.upstreamLatency.push(record.upstreamMs);
            if (metrics.upstreamLatency.length >= maxMetricValues) {
                writeMetrics(route, metrics, minute * intervalMs);
                byRoute.delete(route);
            }
        }
    };

    return {
        request(record) {
            const at = now();
            const level = levelOf(record);
            if (levels[level] >= threshold) {
                const sampled = level === "INFO" && sampleRate < 1;
                if (!sampled || random() < sampleRate) {
                    const info = level === "INFO";
                    // Built in one object literal, in the order operators read it; JSON.stringify leaves out what is undefined.
                    sink(
                        JSON.stringify({
                            level: info ? undefined : level,
                            timestamp: info ? undefined : new Date(at).toISOString(),
                            correlation_id: record.requestId,
                            trace_id: record.traceId,
                            route: record.route,
                            method: record.method,
                            status: record.status,
                            latency_ms: record.latencyMs,
                            limiter_key_hash: keyHash(record.limiterKey),
                            decision: record.decision,
                            auth: record.authenticated === false ? undefined : record.auth,
                            session: record.session,
                            upstream_ms: record.upstreamMs,
                            upstream_error: record.upstreamError,
                            reason: record.reason,
                            sample_rate: sampled ? sampleRate : undefined,
                        }),
                    );
                }
            }
            count(record, at);
        },
        warning(requestId, traceId, route, message) {
            if (levels.WARN < threshold) return;
            sink(JSON.stringify({ level: "WARN", timestamp: new Date(now()).toISOString(), correlation_id: requestId, trace_id: traceId, route, message }));
        },
        failure(requestId, traceId, error) {
            if (levels.ERROR < threshold) return;
            const failure = error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { message: String(error) };
            sink(JSON.stringify({ level: "ERROR", timestamp: new Date(now()).toISOString(), service: serviceName, correlation_id: requestId, trace_id: traceId, message: "unhandled failure", error: failure }));
        },
        flush,
    };
}
