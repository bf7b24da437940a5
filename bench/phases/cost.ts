/**
 * 5. Cost per million requests for the shipped prod stack: a model whose
 * inputs are this run's measurements (DynamoDB operations per request,
 * the handler's duration and the bytes it writes to its log group) and the
 * program (Pulumi.prod.yaml's Lambda memory and architecture, the Lambda's
 * logging config, each log group's class, the access log's format), priced
 * with bench/prices.ts.
 *
 * The request mix is half `products` (anonymous) and half `users` (session,
 * `sessionCacheSeconds` 10 as prod sets it). Every DynamoDB read is strongly
 * consistent and every item is small (one read unit, one write unit each).
 * The Lambda duration is the handler's own time with DynamoDB and the
 * upstream on loopback, the median request's rounded up to the billed
 * millisecond (`billed_p50_ms`; the mean, `billed_mean_ms`, is kept beside
 * it): time spent waiting on a real upstream is billed too, and
 * `per_10ms_upstream_usd_per_million` says how much each 10 ms of it adds.
 *
 * Logs, per log group, each at its class's ingestion price:
 * - the Lambda's group: the handler's request lines and EMF documents
 *   (measured), and Lambda's own START/END/REPORT records, which its system
 *   log level WARN drops (estimated, 0 bytes at WARN);
 * - the access log: API Gateway's line for a typical request, the format's
 *   `$context` variables filled in (estimated).
 * `usd_per_million` counts the handler's own bytes; `usd_per_million_all_logs`
 * every byte of every group.
 */
import { lambdaLoggingConfig, accessLogFormat } from "../../components/gateway";
import { logGroupClasses } from "../../components/logging";
import { loadStackConfig } from "../../specs/stackFile";
import { prices, seedEstimateUsdPerMillion } from "../prices";
import { round } from "../support/stats";
import type { DynamoOpsResult } from "./dynamoOps";

export interface LogGroupCost {
    /** `/aws/lambda/...` or `/aws/apigateway/...`. */
    group: string;
    class: string;
    bytes_per_req: number;
    usd_per_gb: number;
    usd_per_million: number;
    /** `measured` (this run's handler output) or `estimated` (a typical line). */
    source: "measured" | "estimated";
}

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
    /** Every byte each log group ingests per request, and its price. */
    logs_by_group: {
        handler_lines: LogGroupCost;
        handler_emf: LogGroupCost;
        lambda_platform: LogGroupCost;
        access: LogGroupCost;
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
        system_log_level: string;
        mix: string;
        prices: { region: string; as_of: string };
    };
}

/** Lambda's own records per invocation in the JSON log format, typical values: none at system log level WARN. */
function platformLogBytes(systemLogLevel: string, billedMs: number, memoryMb: number): number {
    if (systemLogLevel === "WARN") return 0;
    const requestId = "8f5f1c2e-6d1b-4c49-9d47-0b3a3c6f2a11";
    const time = "2026-11-26T10:15:42.123Z";
    const records = [
        { time, type: "platform.start", record: { requestId, version: "$LATEST" } },
        { time, type: "platform.runtimeDone", record: { requestId, status: "success", metrics: { durationMs: billedMs, producedBytes: 512 } } },
        {
            time,
            type: "platform.report",
            record: { requestId, metrics: { durationMs: billedMs, billedDurationMs: Math.ceil(billedMs), memorySizeMB: memoryMb, maxMemoryUsedMB: 96 }, status: "success" },
        },
    ];
    return records.reduce((sum, record) => sum + Buffer.byteLength(JSON.stringify(record)) + 1, 0);
}

/** The access log line of a typical request, the format's `$context` variables filled in. */
function accessLogBytes(): number {
    const typical: Record<string, string> = {
        requestId: "Pq3xGhZ1DoEEJ7A=",
        ip: "203.0.113.17",
        httpMethod: "GET",
        path: "/users/me",
        status: "200",
        responseLatency: "24",
        integrationError: "-",
    };
    const line = JSON.stringify(Object.fromEntries(Object.keys(accessLogFormat).map((key) => [key, typical[key] ?? "-"])));
    return Buffer.byteLength(line) + 1;
}

const million = 1_000_000;
const classPrice = (logClass: string) => (logClass === "INFREQUENT_ACCESS" ? prices.cloudwatchLogs.infrequentAccessIngestionPerGb : prices.cloudwatchLogs.ingestionPerGb);

function groupCost(group: string, logClass: string, bytesPerRequest: number, source: LogGroupCost["source"]): LogGroupCost {
    const usdPerGb = classPrice(logClass);
    return {
        group,
        class: logClass,
        bytes_per_req: round(bytesPerRequest, 1),
        usd_per_gb: usdPerGb,
        usd_per_million: round((bytesPerRequest * million * usdPerGb) / 1024 ** 3, 4),
        source,
    };
}

export function costModel(ops: DynamoOpsResult): CostResult {
    const { lambda, logLevel } = loadStackConfig("prod").settings;
    const gb = lambda.memoryMb / 1024;
    const perGbSecond = lambda.architecture === "arm64" ? prices.lambda.arm64PerGbSecond : prices.lambda.x86PerGbSecond;
    const half = (a: number, b: number) => (a + b) / 2;
    const billedMs = half(ops.handler.anonymous.billed_p50_ms, ops.handler.session_cache10.billed_p50_ms);
    const writes = half(ops.anonymous.writes_per_req, ops.session_cache10.writes_per_req);
    const reads = half(ops.anonymous.reads_per_req, ops.session_cache10.reads_per_req);
    const lineBytes = half(ops.handler.anonymous.log_line_bytes_per_req, ops.handler.session_cache10.log_line_bytes_per_req);
    const emfBytes = half(ops.handler.anonymous.emf_bytes_per_req, ops.handler.session_cache10.emf_bytes_per_req);
    const systemLogLevel = lambdaLoggingConfig(logLevel, "").systemLogLevel as string;
    const platformBytes = platformLogBytes(systemLogLevel, billedMs, lambda.memoryMb);
    const accessBytes = accessLogBytes();

    const lambdaGroup = "/aws/lambda/{prefix}-gateway";
    const logs = {
        handler_lines: groupCost(lambdaGroup, logGroupClasses.lambda, lineBytes, "measured"),
        handler_emf: groupCost(lambdaGroup, logGroupClasses.lambda, emfBytes, "measured"),
        lambda_platform: groupCost(lambdaGroup, logGroupClasses.lambda, platformBytes, "estimated"),
        access: groupCost("/aws/apigateway/{prefix}-api", logGroupClasses.access, accessBytes, "estimated"),
    };
    const exact = {
        api_gateway: prices.apiGateway.httpPerMillionRequests,
        lambda_requests: prices.lambda.perMillionRequests,
        lambda_duration: (billedMs / 1000) * gb * perGbSecond * million,
        dynamodb_writes: writes * prices.dynamodb.perMillionWriteRequestUnits,
        dynamodb_reads: reads * prices.dynamodb.perMillionReadRequestUnits,
        handler_logs: ((lineBytes + emfBytes) * million * classPrice(logGroupClasses.lambda)) / 1024 ** 3,
        platform_and_access_logs_estimate:
            (platformBytes * million * classPrice(logGroupClasses.lambda)) / 1024 ** 3 + (accessBytes * million * classPrice(logGroupClasses.access)) / 1024 ** 3,
    };
    const measured = exact.api_gateway + exact.lambda_requests + exact.lambda_duration + exact.dynamodb_writes + exact.dynamodb_reads + exact.handler_logs;
    return {
        usd_per_million: round(measured, 3),
        usd_per_million_all_logs: round(measured + exact.platform_and_access_logs_estimate, 3),
        seed_estimate_usd_per_million: { ...seedEstimateUsdPerMillion },
        per_10ms_upstream_usd_per_million: round(0.01 * gb * perGbSecond * million, 3),
        breakdown_usd_per_million: Object.fromEntries(Object.entries(exact).map(([key, value]) => [key, round(value, 4)])) as CostResult["breakdown_usd_per_million"],
        logs_by_group: logs,
        inputs: {
            memory_mb: lambda.memoryMb,
            architecture: lambda.architecture,
            billed_ms_per_req: round(billedMs, 3),
            writes_per_req: round(writes, 3),
            reads_per_req: round(reads, 3),
            handler_log_bytes_per_req: round(lineBytes + emfBytes, 1),
            platform_log_bytes_per_req_estimate: platformBytes,
            access_log_bytes_per_req_estimate: accessBytes,
            system_log_level: systemLogLevel,
            mix: "1/2 products (anonymous), 1/2 users (session, cache 10 s)",
            prices: { region: prices.region, as_of: prices.asOf },
        },
    };
}
