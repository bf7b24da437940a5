/**
 * Logging: where the gateway's logs go and who hears about trouble. The two
 * log groups (the Lambda's and the HTTP API's access log) with a retention,
 * the SNS topic every tollgate alarm notifies, the alarms on the Lambda and
 * the API, one CloudWatch dashboard for the whole stack (the tables' and their
 * indexes' throttles among it), and the Logs
 * Insights queries an operator starts from, saved under `tollgate/{prefix}/`.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { configDefaults } from "../specs/config";
import { transformed, type Transform } from "./transform";

/**
 * The class of each log group: the cheapest that what the group is used for allows.
 *
 * - The Lambda's group is STANDARD: tollgate's metrics reach CloudWatch as
 *   Embedded Metric Format documents in it, and CloudWatch extracts EMF only
 *   from Standard groups; Live Tail, metric filters (for an alarm on a log
 *   pattern) and subscription filters (streaming the lines elsewhere) need
 *   Standard too.
 * - The access log is INFREQUENT_ACCESS (half the ingestion price): it is read
 *   when something is investigated, with Logs Insights, which Infrequent
 *   Access supports (all commands but pattern, diff, filterIndex and unmask).
 *   Nothing extracts metrics from it: API Gateway publishes its own. It gives
 *   up subscription filters and export to S3, so it cannot be streamed to
 *   another service: `transform.accessLogGroup` keeps it STANDARD for that.
 *
 * docs/observability.md ("What each class supports") lists each feature per
 * class with its source; that API Gateway delivers access logs to an
 * Infrequent Access group has not been tried on AWS.
 *
 * A log group's class is fixed when it is created: changing it replaces the
 * group, and its events go with the old one.
 */
export const logGroupClasses = { lambda: "STANDARD", access: "INFREQUENT_ACCESS" } as const;

/**
 * The saved Logs Insights queries, read against the log lines the gateway
 * writes (runtime/steps/observe.ts: one JSON line per request) and the access
 * log's JSON (`accessLogFormat` in components/gateway.ts). test/lambda-e2e.test.ts
 * checks every field a query on the Lambda's group reads against the lines the
 * deployed handler writes. That checks field names only: no query has been
 * run against Logs Insights, so a syntax mistake would show on its first run
 * on a deployed stack. INFO lines may be sampled (`tollgate:logSampleRate`);
 * refusals, errors and authentication failures never are.
 */
export const logsInsightsQueries = {
    "slowest-requests": {
        logGroup: "lambda",
        description: "The 50 slowest requests the gateway answered, with the time its upstream took.",
        query: ["fields @timestamp, correlation_id, route, method, status, latency_ms, upstream_ms", "filter ispresent(latency_ms)", "sort latency_ms desc", "limit 50"],
    },
    "refusals-by-route-and-key": {
        logGroup: "lambda",
        description: "Rate-limit refusals (429, and 503 when the limiter fails closed) counted by route and limiter key hash: who is being refused, without their address or id.",
        query: [
            'filter decision in ["limited", "limited-local", "failed-closed"]',
            "stats count(*) as refusals, min(@timestamp) as first, max(@timestamp) as last by route, limiter_key_hash",
            "sort refusals desc",
            "limit 100",
        ],
    },
    "5xx-with-upstream-errors": {
        logGroup: "lambda",
        description: "The gateway's 5xx answers by route, status and upstream error (refused, timeout, too-large), with the slowest upstream time.",
        query: ["filter status >= 500", "stats count(*) as answers, max(upstream_ms) as slowest_upstream_ms by route, status, upstream_error", "sort answers desc"],
    },
    "auth-failures": {
        logGroup: "lambda",
        description: "Authentication failures (401, 403, and 503 when sessions could not be read) by route and outcome.",
        query: ['filter auth in ["missing", "invalid", "forbidden", "unavailable"]', "stats count(*) as failures by route, auth, status", "sort failures desc"],
    },
    "refusals-by-reason": {
        logGroup: "lambda",
        description: "Every answer the gateway made itself (refusals and failures) counted by reason code (docs/request-handling.md lists them) and route, with the first and last of each.",
        query: ["filter ispresent(reason)", "stats count(*) as answers, min(@timestamp) as first, max(@timestamp) as last by reason, route, status", "sort answers desc", "limit 100"],
    },
    "api-gateway-5xx": {
        logGroup: "access",
        description: "5xx answers in the HTTP API's access log, API Gateway's own included (a Lambda that did not answer within 30 s shows as 503 with its integration error).",
        query: ['filter status like /^5/', "fields @timestamp, requestId, httpMethod, path, status, integrationError, responseLatency", "sort @timestamp desc", "limit 100"],
    },
} as const satisfies Record<string, { logGroup: "lambda" | "access"; description: string; query: readonly string[] }>;

/** The saved name of a query: a folder per stack in the Logs Insights console. */
export function savedQueryName(prefix: string, query: keyof typeof logsInsightsQueries): string {
    return `tollgate/${prefix}/${query}`;
}

/** An alarm as the Logging and Tables components create them: one metric (or query) against a threshold. */
export type AlarmTransform = Transform<aws.cloudwatch.MetricAlarmArgs>;

export interface LoggingArgs {
    /**
     * Prefix of every physical name: the access log group is
     * `/aws/apigateway/{prefix}-api`, the topic `{prefix}-alarms`.
     * @example "tollgate-dev"
     */
    prefix: string;
    /**
     * Name of the gateway Lambda. Its log group is `/aws/lambda/{functionName}`,
     * the name Lambda writes to, so the group must exist before the function
     * first runs (otherwise Lambda creates it, with no retention).
     * @example "tollgate-dev-gateway"
     */
    functionName: string;
    /** Id of the HTTP API, for the 5xx alarm and the dashboard's API widgets. */
    apiId: pulumi.Input<string>;
    /** Physical names of the tables shown on the dashboard, one line per table. */
    tableNames: pulumi.Input<string>[];
    /**
     * Global tables and their replica regions: the dashboard draws the replication
     * latency to each (a widget only when there is one).
     * @default []
     * @example [{ tableName: "tollgate-prod-sessions", regions: ["eu-central-1"] }]
     */
    replicatedTables?: { tableName: pulumi.Input<string>; regions: readonly string[] }[];
    /**
     * Tables with global secondary indexes, and the indexes' names: the dashboard
     * draws each index's read and write throttles (a widget only when there is one).
     * @default []
     * @example [{ tableName: "tollgate-prod-sessions", indexNames: ["UserIdIndex"] }]
     */
    indexedTables?: { tableName: pulumi.Input<string>; indexNames: readonly string[] }[];
    /**
     * Environment shown in the dashboard's title.
     * @default "dev"
     */
    environment?: string;
    /**
     * Days CloudWatch keeps the log groups' events (one of the values CloudWatch accepts).
     * @default 7
     */
    retentionDays?: number;
    /**
     * Email address subscribed to the alarm topic. AWS sends a confirmation
     * message first; alarms reach the address once it is confirmed.
     * @default no subscription
     * @example "oncall@example.com"
     */
    alarmEmail?: pulumi.Input<string>;
    /** Tags added to every taggable resource. @default {} */
    tags?: Record<string, string>;
    /** Change any argument of the resources this component creates. */
    transform?: {
        lambdaLogGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
        accessLogGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
        alarmTopic?: Transform<aws.sns.TopicArgs>;
        alarmSubscription?: Transform<aws.sns.TopicSubscriptionArgs>;
        /** Applied to each of the Lambda and API alarms (the name tells which). */
        alarm?: AlarmTransform;
        dashboard?: Transform<aws.cloudwatch.DashboardArgs>;
        /** Applied to each saved Logs Insights query (the name tells which). */
        query?: Transform<aws.cloudwatch.QueryDefinitionArgs>;
    };
}

/**
 * When an alarm fires: any Lambda error or throttle (the handler answers its
 * own failures with problem+json, so an `Errors` data point is a crash or a
 * timeout), and a handful of 5xx answers within five minutes.
 */
export const alarmThresholds = {
    periodSeconds: 300,
    lambdaErrors: 1,
    lambdaThrottles: 1,
    api5xx: 5,
} as const;

function resolveLoggingArgs(args: LoggingArgs) {
    const defaults = configDefaults();
    return {
        ...args,
        environment: args.environment ?? defaults.environment,
        retentionDays: args.retentionDays ?? defaults.logRetentionDays,
        alarmEmail: args.alarmEmail || undefined,
        replicatedTables: (args.replicatedTables ?? []).filter((table) => table.regions.length > 0),
        indexedTables: (args.indexedTables ?? []).filter((table) => table.indexNames.length > 0),
        tags: args.tags ?? {},
        transform: args.transform ?? {},
    };
}

export class Logging extends pulumi.ComponentResource {
    readonly lambdaLogGroup: aws.cloudwatch.LogGroup;
    readonly accessLogGroup: aws.cloudwatch.LogGroup;
    readonly alarmTopic: aws.sns.Topic;
    /** Set when `alarmEmail` is. */
    readonly alarmSubscription?: aws.sns.TopicSubscription;
    readonly alarms: {
        lambdaErrors: aws.cloudwatch.MetricAlarm;
        lambdaThrottles: aws.cloudwatch.MetricAlarm;
        api5xx: aws.cloudwatch.MetricAlarm;
    };
    readonly dashboard: aws.cloudwatch.Dashboard;
    /** The saved Logs Insights queries, by the keys of `logsInsightsQueries`. */
    readonly queries: Readonly<Record<keyof typeof logsInsightsQueries, aws.cloudwatch.QueryDefinition>>;
    /** `{ lambda, api }`: the two log groups' names. */
    readonly logGroupNames: pulumi.Output<{ lambda: string; api: string }>;

    constructor(name: string, args: LoggingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tollgate:logging:Logging", name, {}, opts);
        const settings = resolveLoggingArgs(args);
        const { prefix, tags, transform } = settings;
        const child = { parent: this };

        // A class change replaces a group under the same name, which must go before its successor can be made.
        const logGroup = (role: keyof typeof logGroupClasses, logGroupName: string, t?: Transform<aws.cloudwatch.LogGroupArgs>) =>
            new aws.cloudwatch.LogGroup(
                ...transformed(
                    t,
                    `${name}-${role}`,
                    { name: logGroupName, logGroupClass: logGroupClasses[role], retentionInDays: settings.retentionDays, tags },
                    { ...child, deleteBeforeReplace: true },
                ),
            );
        this.lambdaLogGroup = logGroup("lambda", `/aws/lambda/${settings.functionName}`, transform.lambdaLogGroup);
        this.accessLogGroup = logGroup("access", `/aws/apigateway/${prefix}-api`, transform.accessLogGroup);

        this.alarmTopic = new aws.sns.Topic(...transformed(transform.alarmTopic, `${name}-alarms`, { name: `${prefix}-alarms`, tags }, { ...child }));
        if (settings.alarmEmail) {
            this.alarmSubscription = new aws.sns.TopicSubscription(
                ...transformed(transform.alarmSubscription, `${name}-alarm-email`, { topic: this.alarmTopic.arn, protocol: "email", endpoint: settings.alarmEmail }, { ...child }),
            );
        }

        const alarm = (role: string, description: string, metric: Pick<aws.cloudwatch.MetricAlarmArgs, "namespace" | "metricName" | "dimensions">, threshold: number) =>
            new aws.cloudwatch.MetricAlarm(
                ...transformed(
                    transform.alarm,
                    `${name}-${role}`,
                    {
                        name: `${prefix}-${role}`,
                        alarmDescription: description,
                        ...metric,
                        statistic: "Sum",
                        period: alarmThresholds.periodSeconds,
                        evaluationPeriods: 1,
                        threshold,
                        comparisonOperator: "GreaterThanOrEqualToThreshold",
                        // No traffic is no trouble.
                        treatMissingData: "notBreaching",
                        alarmActions: [this.alarmTopic.arn],
                        okActions: [this.alarmTopic.arn],
                        tags,
                    },
                    { ...child },
                ),
            );
        this.alarms = {
            lambdaErrors: alarm(
                "lambda-errors",
                `The gateway Lambda ${settings.functionName} failed (crash or timeout) at least ${alarmThresholds.lambdaErrors} time(s) in 5 minutes.`,
                { namespace: "AWS/Lambda", metricName: "Errors", dimensions: { FunctionName: settings.functionName } },
                alarmThresholds.lambdaErrors,
            ),
            lambdaThrottles: alarm(
                "lambda-throttles",
                `Invocations of ${settings.functionName} were throttled (account or reserved concurrency exhausted).`,
                { namespace: "AWS/Lambda", metricName: "Throttles", dimensions: { FunctionName: settings.functionName } },
                alarmThresholds.lambdaThrottles,
            ),
            api5xx: alarm(
                "api-5xx",
                `The HTTP API answered 5xx at least ${alarmThresholds.api5xx} times in 5 minutes (502/504: upstreams, 503: DynamoDB for auth).`,
                { namespace: "AWS/ApiGateway", metricName: "5xx", dimensions: { ApiId: settings.apiId } },
                alarmThresholds.api5xx,
            ),
        };

        const region = aws.getRegionOutput({}, child).region;
        this.dashboard = new aws.cloudwatch.Dashboard(
            ...transformed(
                transform.dashboard,
                `${name}-dashboard`,
                {
                    // Dashboard names allow letters, digits, '-' and '_' only.
                    dashboardName: prefix.replace(/[^A-Za-z0-9_-]/g, "-"),
                    dashboardBody: pulumi.jsonStringify(
                        dashboardBody({
                            region,
                            environment: settings.environment,
                            functionName: settings.functionName,
                            apiId: settings.apiId,
                            tableNames: settings.tableNames,
                            replicatedTables: settings.replicatedTables,
                            indexedTables: settings.indexedTables,
                        }),
                    ),
                },
                { ...child },
            ),
        );

        const groups = { lambda: this.lambdaLogGroup, access: this.accessLogGroup };
        this.queries = Object.fromEntries(
            Object.entries(logsInsightsQueries).map(([key, saved]) => [
                key,
                new aws.cloudwatch.QueryDefinition(
                    ...transformed(
                        transform.query,
                        `${name}-query-${key}`,
                        {
                            // Named explicitly: an auto-name would add a suffix and drop the folder.
                            name: savedQueryName(prefix, key as keyof typeof logsInsightsQueries),
                            logGroupNames: [groups[saved.logGroup].name],
                            queryString: saved.query.join("\n| "),
                        },
                        { ...child },
                    ),
                ),
            ]),
        ) as Record<keyof typeof logsInsightsQueries, aws.cloudwatch.QueryDefinition>;

        this.logGroupNames = pulumi.output({ lambda: this.lambdaLogGroup.name, api: this.accessLogGroup.name });
        this.registerOutputs({
            lambdaLogGroup: this.lambdaLogGroup.name,
            accessLogGroup: this.accessLogGroup.name,
            alarmTopicArn: this.alarmTopic.arn,
            dashboardName: this.dashboard.dashboardName,
        });
    }
}

interface DashboardSources {
    region: pulumi.Input<string>;
    environment: string;
    functionName: string;
    apiId: pulumi.Input<string>;
    tableNames: pulumi.Input<string>[];
    replicatedTables: { tableName: pulumi.Input<string>; regions: readonly string[] }[];
    indexedTables: { tableName: pulumi.Input<string>; indexNames: readonly string[] }[];
}

/** The dashboard: API traffic and latency, Lambda duration, and DynamoDB per table and per index; two widgets a row. */
function dashboardBody(sources: DashboardSources) {
    const { region, apiId, functionName } = sources;
    const api = (metric: string, stat: string, label: string) => ["AWS/ApiGateway", metric, "ApiId", apiId, { stat, label }];
    const lambda = (stat: string) => ["AWS/Lambda", "Duration", "FunctionName", functionName, { stat, label: stat }];
    const perTable = (metrics: string[]) =>
        sources.tableNames.flatMap((table) => metrics.map((metric) => ["AWS/DynamoDB", metric, "TableName", table, { stat: "Sum", label: pulumi.interpolate`${table} ${metric}` }]));
    const panels: { title: string; metrics: unknown[]; view?: string }[] = [
        { title: "Requests", metrics: [api("Count", "Sum", "requests")] },
        { title: "4xx and 5xx responses", metrics: [api("4xx", "Sum", "4xx"), api("5xx", "Sum", "5xx")] },
        { title: "Latency (ms)", metrics: [api("Latency", "p50", "p50"), api("Latency", "p99", "p99")] },
        { title: "Lambda duration (ms)", metrics: [lambda("p50"), lambda("p99"), lambda("Maximum")] },
        { title: "DynamoDB consumed capacity per table", metrics: perTable(["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"]) },
        { title: "DynamoDB throttles per table", metrics: perTable(["ReadThrottleEvents", "WriteThrottleEvents"]) },
    ];
    // An index's throttles are reported under TableName and GlobalSecondaryIndexName, and are not in the table's.
    if (sources.indexedTables.length > 0) {
        panels.push({
            title: "DynamoDB throttles per index",
            metrics: sources.indexedTables.flatMap(({ tableName, indexNames }) =>
                indexNames.flatMap((index) =>
                    ["ReadThrottleEvents", "WriteThrottleEvents"].map((metric) => [
                        "AWS/DynamoDB",
                        metric,
                        "TableName",
                        tableName,
                        "GlobalSecondaryIndexName",
                        index,
                        { stat: "Sum", label: pulumi.interpolate`${tableName} ${index} ${metric}` },
                    ]),
                ),
            ),
        });
    }
    if (sources.replicatedTables.length > 0) {
        panels.push({
            title: "DynamoDB replication latency (ms)",
            metrics: sources.replicatedTables.flatMap(({ tableName, regions }) =>
                regions.map((receiving) => ["AWS/DynamoDB", "ReplicationLatency", "TableName", tableName, "ReceivingRegion", receiving, { stat: "Average", label: pulumi.interpolate`${tableName} -> ${receiving}` }]),
            ),
        });
    }
    return {
        widgets: [
            {
                type: "text",
                x: 0,
                y: 0,
                width: 24,
                height: 1,
                properties: { markdown: `## tollgate (${sources.environment}): API Gateway -> ${functionName} -> DynamoDB` },
            },
            ...panels.map((panel, i) => ({
                type: "metric",
                x: (i % 2) * 12,
                y: 1 + Math.floor(i / 2) * 6,
                width: 12,
                height: 6,
                properties: { title: panel.title, region, view: "timeSeries", stacked: false, period: 60, metrics: panel.metrics },
            })),
        ],
    };
}
