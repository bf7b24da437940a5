/**
 * 5. Cost per million requests for the shipped prod stack: a model whose
 * inputs are this run's measurements (DynamoDB operations per request,
 * the handler's duration and its log bytes per request) and Pulumi.prod.yaml
 * (Lambda memory and architecture), priced with bench/prices.ts.
 *
 * The request mix is half `products` (anonymous) and half `users` (session,
 * `sessionCacheSeconds` 10 as prod sets it). Every DynamoDB read is strongly
 * consistent and every item is small (one read unit, one write unit each).
 * The Lambda duration is the handler's own time with DynamoDB and the
 * upstream on loopback: time spent waiting on a real upstream is billed too,
 * and `per_10ms_upstream_usd_per_million` says how much each 10 ms of it adds.
 *
 * `usd_per_million` counts the handler's own log lines (measured). The
 * breakdown also shows, as estimates, Lambda's START/END/REPORT lines and the
 * API's access log line (components/gateway.ts `accessLogFormat`), which
 * CloudWatch ingests too; `usd_per_million_all_logs` includes them.
 */
import { accessLogFormat } from "../../components/gateway";
import { loadStackConfig } from "../../specs/stackFile";
import { prices, seedEstimateUsdPerMillion } from "../prices";
import { round } from "../support/stats";
import type { DynamoOpsResult } from "./dynamoOps";

export interface CostResult {
    usd_per_million: number;
    usd_per_million_all_logs: number;
    seed_estimate_usd_per_million: { low: number; high: number };
    per_10ms_upstream_usd_per_million: number;
    breakdown_usd_per_million: {
        api_gateway: number;
        lambda_requests: number;
        lambda_duration: number;
        dynamodb_writes: number;
        dynamodb_reads: number;
        handler_logs: number;
        platform_and_access_logs_estimate: number;
    };
    inputs: {
        memory_mb: number;
        architecture: string;
        billed_ms_per_req: number;
        writes_per_req: number;
        reads_per_req: number;
        handler_log_bytes_per_req: number;
        platform_log_bytes_per_req_estimate: number;
        access_log_bytes_per_req_estimate: number;
        mix: string;
        prices: { region: string; as_of: string };
    };
}

/** Lambda's own lines per invocation (Text log format), with typical values. */
function platformLogBytes(billedMs: number, memoryMb: number): number {
    const requestId = "8f5f1c2e-6d1b-4c49-9d47-0b3a3c6f2a11";
    const lines = [
        `START RequestId: ${requestId} Version: $LATEST`,
        `END RequestId: ${requestId}`,
        `REPORT RequestId: ${requestId}\tDuration: ${billedMs.toFixed(2)} ms\tBilled Duration: ${Math.ceil(billedMs)} ms\tMemory Size: ${memoryMb} MB\tMax Memory Used: 96 MB\t`,
    ];
    return lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
}

/** The access log line of a typical request, the format's `$context` variables filled in. */
function accessLogBytes(): number {
    const typical: Record<string, string> = {
        requestId: "Pq3xGhZ1DoEEJ7A=",
        ip: "203.0.113.17",
        requestTime: "22/Nov/2026:10:15:42 +0000",
        httpMethod: "GET",
        routeKey: "ANY /{proxy+}",
        path: "/users/me",
        protocol: "HTTP/1.1",
        status: "200",
        responseLength: "512",
        responseLatency: "24",
        integrationLatency: "21",
        integrationStatus: "200",
        integrationError: "-",
        error: "-",
        userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    };
    const line = JSON.stringify(Object.fromEntries(Object.keys(accessLogFormat).map((key) => [key, typical[key] ?? "-"])));
    return Buffer.byteLength(line) + 1;
}

export function costModel(ops: DynamoOpsResult): CostResult {
    const { lambda } = loadStackConfig("prod").settings;
    const gb = lambda.memoryMb / 1024;
    const perGbSecond = lambda.architecture === "arm64" ? prices.lambda.arm64PerGbSecond : prices.lambda.x86PerGbSecond;
    const half = (a: number, b: number) => (a + b) / 2;
    const billedMs = half(ops.handler.anonymous.billed_mean_ms, ops.handler.session_cache10.billed_mean_ms);
    const writes = half(ops.anonymous.writes_per_req, ops.session_cache10.writes_per_req);
    const reads = half(ops.anonymous.reads_per_req, ops.session_cache10.reads_per_req);
    const handlerLogBytes = half(ops.handler.anonymous.log_bytes_per_req, ops.handler.session_cache10.log_bytes_per_req);
    const platformBytes = platformLogBytes(billedMs, lambda.memoryMb);
    const accessBytes = accessLogBytes();

    const million = 1_000_000;
    const perGbLogs = prices.cloudwatchLogs.ingestionPerGb / 1024 ** 3;
    const breakdown = {
        api_gateway: prices.apiGateway.httpPerMillionRequests,
        lambda_requests: prices.lambda.perMillionRequests,
        lambda_duration: (billedMs / 1000) * gb * perGbSecond * million,
        dynamodb_writes: writes * prices.dynamodb.perMillionWriteRequestUnits,
        dynamodb_reads: reads * prices.dynamodb.perMillionReadRequestUnits,
        handler_logs: handlerLogBytes * perGbLogs * million,
        platform_and_access_logs_estimate: (platformBytes + accessBytes) * perGbLogs * million,
    };
    const measured = breakdown.api_gateway + breakdown.lambda_requests + breakdown.lambda_duration + breakdown.dynamodb_writes + breakdown.dynamodb_reads + breakdown.handler_logs;
    return {
        usd_per_million: round(measured, 3),
        usd_per_million_all_logs: round(measured + breakdown.platform_and_access_logs_estimate, 3),
        seed_estimate_usd_per_million: { ...seedEstimateUsdPerMillion },
        per_10ms_upstream_usd_per_million: round(0.01 * gb * perGbSecond * million, 3),
        breakdown_usd_per_million: Object.fromEntries(Object.entries(breakdown).map(([key, value]) => [key, round(value, 4)])) as CostResult["breakdown_usd_per_million"],
        inputs: {
            memory_mb: lambda.memoryMb,
            architecture: lambda.architecture,
            billed_ms_per_req: round(billedMs, 3),
            writes_per_req: round(writes, 3),
            reads_per_req: round(reads, 3),
            handler_log_bytes_per_req: round(handlerLogBytes, 1),
            platform_log_bytes_per_req_estimate: platformBytes,
            access_log_bytes_per_req_estimate: accessBytes,
            mix: "1/2 products (anonymous), 1/2 users (session, cache 10 s)",
            prices: { region: prices.region, as_of: prices.asOf },
        },
    };
}
