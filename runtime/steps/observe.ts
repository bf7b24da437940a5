/**
 * Step 5 (observe): one structured JSON log line per request with Powertools
 * Logger, and the request's EMF metrics with Powertools Metrics.
 *
 * Log line keys: `correlation_id` (the API Gateway request id), `route`,
 * `method`, `status`, `latency_ms`, `limiter_key_hash` (SHA-256 of the limiter
 * key, first 16 hex digits: an IP or user id is personal data), `decision`
 * (the limiter's), `auth`, `upstream_ms`.
 *
 * Metrics (namespace `Tollgate` unless POWERTOOLS_METRICS_NAMESPACE says
 * otherwise; dimensions `service` and `route`): Requests, RateLimited,
 * AuthFailures, UpstreamErrors (Count) and UpstreamLatency (Milliseconds);
 * a count is written only when it is not zero.
 *
 * Both go through one sink (stdout by default, which Lambda sends to
 * CloudWatch Logs). Everything about one request is written synchronously
 * in one call, so concurrent requests of the local gateway never mix.
 */
import { createHash } from "node:crypto";
import { Logger, type LogItem } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

export type LogSink = (line: string) => void;

export const serviceName = "tollgate";
export const defaultMetricsNamespace = "Tollgate";

export interface RequestRecord {
    requestId: string;
    method?: string;
    /** Route name; `health`, or absent when no route matched. */
    route?: string;
    status: number;
    latencyMs: number;
    limiterKey?: string;
    /** The limiter's outcome: admitted, limited, failed-open, failed-closed; `limited-local` when this container's refusal cache answered. */
    decision?: string;
    /** Authentication outcome: anonymous, valid, missing, invalid, forbidden, unavailable. */
    auth?: string;
    upstreamMs?: number;
    upstreamError?: "refused" | "timeout" | "too-large";
    /** What the request did to sessions: issued, revoked, revoked-all, renewed, or refused (an instruction the gateway would not act on). */
    session?: string;
}

/** Powertools Logger writing to a sink instead of its own console. */
class SinkLogger extends Logger {
    constructor(
        private readonly sink: LogSink,
        options: ConstructorParameters<typeof Logger>[0],
    ) {
        super(options);
    }

    protected override printLog(_logLevel: number, log: LogItem): void {
        log.prepareForPrint();
        this.sink(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
    }
}

export function hashLimiterKey(limiterKey: string): string {
    return createHash("sha256").update(limiterKey).digest("hex").slice(0, 16);
}

export interface Observer {
    request(record: RequestRecord): void;
    /** An unexpected failure: logged with its stack for operators, never sent to the client. */
    failure(requestId: string, error: unknown): void;
    /** Something a request did that the gateway refused or ignored and an operator should hear of (an upstream's misplaced session instruction). */
    warning(requestId: string, route: string | undefined, message: string): void;
}

export function createObserver(options: { logLevel: string; sink?: LogSink; namespace?: string }): Observer {
    const sink = options.sink ?? ((line: string) => void process.stdout.write(`${line}\n`));
    const logger = new SinkLogger(sink, { serviceName, logLevel: options.logLevel as never });
    const metrics = new Metrics({
        namespace: options.namespace ?? process.env.POWERTOOLS_METRICS_NAMESPACE ?? defaultMetricsNamespace,
        serviceName,
    });

    return {
        request(record) {
            logger.info("request", {
                correlation_id: record.requestId,
                route: record.route,
                method: record.method,
                status: record.status,
                latency_ms: record.latencyMs,
                limiter_key_hash: record.limiterKey ? hashLimiterKey(record.limiterKey) : undefined,
                decision: record.decision,
                auth: record.auth,
                upstream_ms: record.upstreamMs,
                upstream_error: record.upstreamError,
                session: record.session,
            });
            metrics.addDimension("route", record.route ?? "none");
            metrics.addMetric("Requests", MetricUnit.Count, 1);
            if (record.decision === "limited" || record.decision === "limited-local") metrics.addMetric("RateLimited", MetricUnit.Count, 1);
            if (record.auth === "invalid" || record.auth === "missing" || record.auth === "forbidden" || record.auth === "unavailable") {
                metrics.addMetric("AuthFailures", MetricUnit.Count, 1);
            }
            if (record.upstreamError) metrics.addMetric("UpstreamErrors", MetricUnit.Count, 1);
            if (record.upstreamMs !== undefined) metrics.addMetric("UpstreamLatency", MetricUnit.Milliseconds, record.upstreamMs);
            try {
                sink(JSON.stringify(metrics.serializeMetrics()));
            } finally {
                metrics.clearMetrics();
                metrics.clearDimensions();
            }
        },
        warning(requestId, route, message) {
            logger.warn(message, { correlation_id: requestId, route });
        },
        failure(requestId, error) {
            logger.error("unhandled failure", { correlation_id: requestId, error: error as Error });
        },
    };
}
