/**
 * tollgate: a serverless API gateway on AWS.
 *
 *   client -> API Gateway HTTP API ($default stage) -> gateway Lambda -> upstreams
 *                                                          |
 *                                      DynamoDB: rate limits, sessions, app tables
 *                                      (replicas per tollgate:tables.replicaRegions,
 *                                       AWS Backup per tollgate:backup)
 *
 * Reads the stack's `tollgate:*` config, validates it (a bad value stops the
 * program here, naming the key, before any resource exists), and composes the
 * components for this stack.
 */
import * as pulumi from "@pulumi/pulumi";
import { Backup } from "./components/backup";
import { Domain } from "./components/domain";
import { Gateway, gatewayFunctionName } from "./components/gateway";
import { Logging } from "./components/logging";
import { Tables } from "./components/tables";
import { assertionIssuer, capturedSettings } from "./specs/lambda";
import { jwksPath } from "./specs/routes";
import { ConfigError, parsePulumiConfigValues, resolveSettings, type TollgateSettings } from "./specs/config";
import { builtInTables, physicalTableName, rateLimitsTable, replicaRegionsOf, sessionsTable } from "./specs/tables";

function loadSettings(): TollgateSettings {
    try {
        return resolveSettings(parsePulumiConfigValues(pulumi.runtime.allConfig()), { region: new pulumi.Config("aws").get("region") });
    } catch (error) {
        // A RunError prints its message alone, without a stack trace.
        if (error instanceof ConfigError) throw new pulumi.RunError(error.message);
        throw error;
    }
}

const settings = loadSettings();
const { prefix } = settings;
const tags = { "tollgate:project": "tollgate", "tollgate:environment": settings.environment, "tollgate:stack": pulumi.getStack() };
const tableSpecs = [...builtInTables, ...settings.appTables];
const lambdaName = gatewayFunctionName(prefix);

// The alarms and dashboard need the API's id, and the API needs the log groups
// made beside them: Logging takes the id as a deferred output, resolved below.
const [apiId, resolveApiId] = pulumi.deferredOutput<string>();

const logging = new Logging("logging", {
    prefix,
    functionName: lambdaName,
    apiId,
    tableNames: tableSpecs.map((spec) => physicalTableName(prefix, spec)),
    replicatedTables: tableSpecs.map((spec) => ({ tableName: physicalTableName(prefix, spec), regions: replicaRegionsOf(spec, settings.tables.replicaRegions) })),
    environment: settings.environment,
    retentionDays: settings.logRetentionDays,
    alarmEmail: settings.alarmEmail,
    tags,
});

const tables = new Tables("tables", {
    prefix,
    specs: tableSpecs,
    pointInTimeRecovery: settings.tables.pointInTimeRecovery,
    deletionProtection: settings.tables.deletionProtection,
    kmsKeyArn: settings.tables.kmsKeyArn,
    replicaRegions: settings.tables.replicaRegions,
    replicaKmsKeyArns: settings.tables.replicaKmsKeyArns,
    alarmTopicArn: logging.alarmTopic.arn,
    tags,
});

const backup = settings.backup.enabled
    ? new Backup("backup", {
          prefix,
          tableArns: Object.values(tables.tables).map((table) => table.arn),
          schedule: settings.backup.schedule,
          retentionDays: settings.backup.retentionDays,
          copyToRegion: settings.backup.copyToRegion,
          kmsKeyArn: settings.tables.kmsKeyArn,
          copyKmsKeyArn: settings.backup.copyToRegion ? settings.tables.replicaKmsKeyArns[settings.backup.copyToRegion] : undefined,
          tags,
      })
    : undefined;

const gateway = new Gateway("gateway", {
    prefix,
    tables: { rateLimits: tables.table(rateLimitsTable.name), sessions: tables.table(sessionsTable.name) },
    runtime: capturedSettings(settings),
    logGroups: { lambda: logging.lambdaLogGroup, access: logging.accessLogGroup },
    lambda: settings.lambda,
    throttle: settings.throttle,
    cors: settings.cors,
    logLevel: settings.logLevel,
    jwtSecret: settings.jwtSecret === undefined ? undefined : pulumi.secret(settings.jwtSecret),
    gatewayKeys: { generation: settings.identity.keyGeneration },
    vpc: settings.vpc,
    kms: { tablesKeyArn: settings.tables.kmsKeyArn, secretsKeyArn: settings.secretsKmsKeyArn },
    tags,
});
resolveApiId(gateway.api.id);

const domain = settings.domain
    ? new Domain("domain", {
          domainName: settings.domain.name,
          hostedZoneId: settings.domain.hostedZoneId,
          certificateArn: settings.domain.certificateArn,
          apiId: gateway.api.id,
          stage: gateway.stage.id,
          tags,
      })
    : undefined;

export const apiUrl = gateway.url;
export const functionName = gateway.function.name;
export const tableNames = tables.names;
export const logGroupNames = logging.logGroupNames;
export const dashboardName = logging.dashboard.dashboardName;
export const domainUrl = domain?.url;
export const backupVaultName = backup?.vault.name;
/** What an upstream verifies `x-gateway-assertion` with: the gateway's JWKS (served on the custom domain too) and the `iss` to expect. */
export const identityJwksUrl = domain ? pulumi.interpolate`${domain.url}${jwksPath}` : gateway.jwksUrl;
export const identityIssuer = assertionIssuer(settings);
