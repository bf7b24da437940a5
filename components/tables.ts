/**
 * Tables: one DynamoDB table per table spec (the built-in rate-limits and
 * sessions tables, then `tollgate:appTables`), each with its alarms (the
 * table's, and each global secondary index's throttles) and, for
 * the rare PROVISIONED table, application autoscaling of its capacity. A table
 * with replica regions is a global table (version 2019.11.21), with an alarm on
 * the replication latency to each replica. An on-demand table's replicas are
 * blocks of the one `aws.dynamodb.Table`. A PROVISIONED table's are
 * `aws.dynamodb.TableReplica` resources made after its autoscaling: DynamoDB
 * refuses a replica of a table whose write capacity is neither on demand nor
 * autoscaled, and replica blocks are added while the table is created, before
 * its scaling targets and policies can exist (terraform-provider-aws#13097).
 *
 * The specs are plain data (specs/tables.ts), already validated at
 * config load; the local gateway creates its tables from the same specs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { TableSettings } from "../specs/args";
import { configDefaults } from "../specs/config";
import { keyAttributes, physicalTableName, replicaRegionsOf, sharedAlarmName, type KeyAttribute, type TableSpec } from "../specs/tables";
import type { AlarmTransform } from "./logging";
import { transformed, type Transform } from "./transform";

/**
 * The table settings are `tollgate:tables` (specs/args.ts), read the same way:
 * a spec's own `replicaRegions` replaces `replicaRegions` (the rate-limits
 * spec says `[]`), each replica gets point-in-time recovery and deletion
 * protection as its table has them, and with `protect` off a table inherits
 * this component's own `protect` option.
 */
export interface TablesArgs extends TableSettings {
    /**
     * Prefix of every table name: a spec named `sessions` becomes `{prefix}-sessions`.
     * @example "tollgate-dev"
     */
    prefix: string;
    /** The tables, as specs; names must be unique. */
    specs: readonly TableSpec[];
    /** SNS topic the tables' alarms notify. @default alarms without actions */
    alarmTopicArn?: pulumi.Input<string>;
    /**
     * Target utilisation (percent) that autoscaling keeps PROVISIONED tables and their indexes at.
     * @default 70
     */
    targetUtilizationPercent?: number;
    /** Tags added to every table and alarm, under each spec's own tags. @default {} */
    tags?: Record<string, string>;
    /** Change any argument of the resources this component creates (the name tells which table). */
    transform?: {
        table?: Transform<aws.dynamodb.TableArgs>;
        alarm?: AlarmTransform;
        scalingTarget?: Transform<aws.appautoscaling.TargetArgs>;
        scalingPolicy?: Transform<aws.appautoscaling.PolicyArgs>;
        /** The replicas of a PROVISIONED global table (an on-demand table's replicas are set through `table`). */
        replica?: Transform<aws.dynamodb.TableReplicaArgs>;
    };
}

/** The alarms every table has, two per global secondary index, and one per replica region of a global table. */
export interface TableAlarms {
    /** Throttled reads of the table itself: DynamoDB counts an index's under the index's own dimension (`indexes`). */
    readThrottles: aws.cloudwatch.MetricAlarm;
    writeThrottles: aws.cloudwatch.MetricAlarm;
    systemErrors: aws.cloudwatch.MetricAlarm;
    /** Throttled reads and writes of each global secondary index, by index name; empty for a table without one. */
    indexes: Readonly<Record<string, IndexAlarms>>;
    /** By receiving region; empty for a regional table. */
    replicationLatency: Readonly<Record<string, aws.cloudwatch.MetricAlarm>>;
}

/** The alarms of one global secondary index, on `AWS/DynamoDB` with the dimensions `TableName` and `GlobalSecondaryIndexName`. */
export interface IndexAlarms {
    readThrottles: aws.cloudwatch.MetricAlarm;
    writeThrottles: aws.cloudwatch.MetricAlarm;
}

/**
 * When replication to a region counts as behind: the average `ReplicationLatency`
 * (typically 0.5-2.5 s between regions) at a minute or more for two
 * five-minute periods running. A replica that far behind is what a failover to
 * that region would lose.
 */
export const replicationLatencyAlarm = {
    thresholdMs: 60_000,
    periodSeconds: 300,
    evaluationPeriods: 2,
} as const;

/** Autoscaling of one PROVISIONED table: a target and a target-tracking policy per table/index and direction. */
export interface TableScaling {
    targets: aws.appautoscaling.Target[];
    policies: aws.appautoscaling.Policy[];
}

function resolveTablesArgs(args: TablesArgs) {
    const defaults = configDefaults().tables;
    const seen = new Set<string>();
    const replicaRegions = args.replicaRegions ?? defaults.replicaRegions;
    const replicaKmsKeyArns = args.replicaKmsKeyArns ?? defaults.replicaKmsKeyArns;
    const deletionProtection = args.deletionProtection ?? defaults.deletionProtection;
    for (const spec of args.specs) {
        if (seen.has(spec.name)) throw new pulumi.RunError(`Tables: two specs are named '${spec.name}'`);
        seen.add(spec.name);
        const regions = replicaRegionsOf(spec, replicaRegions);
        if (regions.length === 0) continue;
        if (spec.stream !== undefined && spec.stream !== "NEW_AND_OLD_IMAGES") {
            throw new pulumi.RunError(`Tables: '${spec.name}' has replicas, so it streams NEW_AND_OLD_IMAGES; its spec asks for ${spec.stream}`);
        }
        const keyless = args.kmsKeyArn ? regions.filter((region) => !replicaKmsKeyArns[region]) : [];
        if (keyless.length > 0) {
            throw new pulumi.RunError(`Tables: '${spec.name}' is encrypted with a customer key, and replicaKmsKeyArns has no key for ${keyless.join(", ")}`);
        }
    }
    const shared = sharedAlarmName(args.specs, replicaRegions);
    if (shared) throw new pulumi.RunError(`Tables: tables '${shared.first}' and '${shared.second}' would both have the alarm ${args.prefix}-${shared.alarm}; rename a table or an index`);
    return {
        ...args,
        replicaRegions,
        replicaKmsKeyArns,
        pointInTimeRecovery: args.pointInTimeRecovery ?? defaults.pointInTimeRecovery,
        deletionProtection,
        protect: args.protect ?? deletionProtection,
        targetUtilizationPercent: args.targetUtilizationPercent ?? 70,
        tags: args.tags ?? {},
        transform: args.transform ?? {},
    };
}

type ResolvedTablesArgs = ReturnType<typeof resolveTablesArgs>;

/**
 * `protect` for the tables and their replicas when it is on, and nothing
 * otherwise: unset, a resource inherits its parent's `protect`, so a program
 * that protects the whole component keeps its tables protected.
 */
function protection(settings: Pick<ResolvedTablesArgs, "protect">): pulumi.CustomResourceOptions {
    return settings.protect ? { protect: true } : {};
}

/** With no `maxReadCapacity`/`maxWriteCapacity`, autoscaling may grow capacity to this multiple of the starting value. */
const defaultScalingHeadroom = 10;

export class Tables extends pulumi.ComponentResource {
    /** Every table by spec name (`rate-limits`, `sessions`, then the app tables). */
    readonly tables: Readonly<Record<string, aws.dynamodb.Table>>;
    /** The spec each table was made from, by spec name. */
    readonly specs: Readonly<Record<string, TableSpec>>;
    readonly alarms: Readonly<Record<string, TableAlarms>>;
    /** PROVISIONED tables only, by spec name. */
    readonly scaling: Readonly<Record<string, TableScaling>>;
    /** The `aws.dynamodb.TableReplica`s of PROVISIONED global tables, by spec name and region. */
    readonly replicas: Readonly<Record<string, Readonly<Record<string, aws.dynamodb.TableReplica>>>>;
    /** Spec name -> physical table name. */
    readonly names: pulumi.Output<Record<string, string>>;
    /** Spec name -> table ARN (the table in the stack's region, for a global table). */
    readonly arns: pulumi.Output<Record<string, string>>;
    /** Spec name -> the regions its replicas are in; `[]` for a regional table. */
    readonly replicaRegions: Readonly<Record<string, readonly string[]>>;

    constructor(name: string, args: TablesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tollgate:tables:Tables", name, {}, opts);
        const settings = resolveTablesArgs(args);
        const tables: Record<string, aws.dynamodb.Table> = {};
        const specs: Record<string, TableSpec> = {};
        const alarms: Record<string, TableAlarms> = {};
        const scaling: Record<string, TableScaling> = {};
        const replicas: Record<string, Record<string, aws.dynamodb.TableReplica>> = {};
        const replicaRegions: Record<string, string[]> = {};

        for (const spec of settings.specs) {
            const role = `${name}-${spec.name}`;
            const table = this.createTable(role, spec, settings);
            tables[spec.name] = table;
            specs[spec.name] = spec;
            replicaRegions[spec.name] = replicaRegionsOf(spec, settings.replicaRegions);
            alarms[spec.name] = this.createAlarms(role, table, spec, replicaRegions[spec.name], settings);
            if (spec.billingMode === "PROVISIONED") {
                scaling[spec.name] = this.createScaling(role, spec, table, settings);
                if (replicaRegions[spec.name].length > 0) replicas[spec.name] = this.createReplicas(role, table, replicaRegions[spec.name], scaling[spec.name], spec, settings);
            }
        }

        this.tables = tables;
        this.specs = specs;
        this.alarms = alarms;
        this.scaling = scaling;
        this.replicas = replicas;
        this.replicaRegions = replicaRegions;
        this.names = pulumi.output(Object.fromEntries(Object.entries(tables).map(([specName, table]) => [specName, table.name])));
        this.arns = pulumi.output(Object.fromEntries(Object.entries(tables).map(([specName, table]) => [specName, table.arn])));
        this.registerOutputs({ names: this.names, arns: this.arns });
    }

    /** The table made from the spec named `specName`; throws if there is none. */
    table(specName: string): aws.dynamodb.Table {
        const table = this.tables[specName];
        if (!table) throw new pulumi.RunError(`Tables: no table spec named '${specName}' (have ${Object.keys(this.tables).join(", ")})`);
        return table;
    }

    private createTable(role: string, spec: TableSpec, settings: ResolvedTablesArgs): aws.dynamodb.Table {
        const provisioned = spec.billingMode === "PROVISIONED";
        const replicaRegions = replicaRegionsOf(spec, settings.replicaRegions);
        // Global tables replicate through the table's stream, which must carry both images.
        const stream = replicaRegions.length > 0 ? "NEW_AND_OLD_IMAGES" : spec.stream;
        const capacity = provisioned ? { readCapacity: spec.readCapacity, writeCapacity: spec.writeCapacity } : {};
        // A PROVISIONED table's replicas come after its autoscaling (createReplicas).
        const inlineReplicas = provisioned ? [] : replicaRegions;
        const keySchemas = (hash: KeyAttribute, range?: KeyAttribute) => [
            { attributeName: hash.name, keyType: "HASH" },
            ...(range ? [{ attributeName: range.name, keyType: "RANGE" }] : []),
        ];
        const args: aws.dynamodb.TableArgs = {
            name: physicalTableName(settings.prefix, spec),
            billingMode: provisioned ? "PROVISIONED" : "PAY_PER_REQUEST",
            ...capacity,
            hashKey: spec.hashKey.name,
            rangeKey: spec.rangeKey?.name,
            attributes: keyAttributes(spec).map((attribute) => ({ name: attribute.name, type: attribute.type })),
            globalSecondaryIndexes: spec.globalSecondaryIndexes?.map((index) => ({
                name: index.name,
                keySchemas: keySchemas(index.hashKey, index.rangeKey),
                projectionType: index.projection ?? "ALL",
                nonKeyAttributes: index.projection === "INCLUDE" ? index.nonKeyAttributes : undefined,
                ...capacity,
            })),
            ttl: spec.ttlAttribute ? { attributeName: spec.ttlAttribute, enabled: true } : undefined,
            pointInTimeRecovery: { enabled: settings.pointInTimeRecovery },
            serverSideEncryption: { enabled: true, kmsKeyArn: settings.kmsKeyArn },
            deletionProtectionEnabled: settings.deletionProtection,
            tableClass: spec.tableClass ?? "STANDARD",
            streamEnabled: stream !== undefined,
            streamViewType: stream,
            replicas: inlineReplicas.length
                ? inlineReplicas.map((regionName) => ({
                      regionName,
                      pointInTimeRecovery: settings.pointInTimeRecovery,
                      kmsKeyArn: settings.kmsKeyArn ? settings.replicaKmsKeyArns[regionName] : undefined,
                      deletionProtectionEnabled: settings.deletionProtection,
                      propagateTags: true,
                  }))
                : undefined,
            tags: { ...settings.tags, ...spec.tags },
        };
        // Autoscaling owns the capacity of a PROVISIONED table once it exists, and its
        // TableReplica resources own its replicas (which the table then reports).
        const ignoreChanges = provisioned
            ? ["readCapacity", "writeCapacity", "globalSecondaryIndexes[*].readCapacity", "globalSecondaryIndexes[*].writeCapacity", ...(replicaRegions.length ? ["replicas"] : [])]
            : [];
        return new aws.dynamodb.Table(...transformed(settings.transform.table, role, args, { parent: this, ignoreChanges, ...protection(settings) }));
    }

    private createAlarms(role: string, table: aws.dynamodb.Table, spec: TableSpec, replicaRegions: readonly string[], settings: ResolvedTablesArgs): TableAlarms {
        const actions = settings.alarmTopicArn ? [settings.alarmTopicArn] : [];
        const alarm = (kind: string, description: pulumi.Input<string>, metric: Partial<aws.cloudwatch.MetricAlarmArgs>) =>
            new aws.cloudwatch.MetricAlarm(
                ...transformed(
                    settings.transform.alarm,
                    `${role}-${kind}`,
                    {
                        name: pulumi.interpolate`${table.name}-${kind}`,
                        alarmDescription: description,
                        evaluationPeriods: 1,
                        threshold: 1,
                        ...metric,
                        comparisonOperator: "GreaterThanOrEqualToThreshold",
                        treatMissingData: "notBreaching",
                        alarmActions: actions,
                        okActions: actions,
                        tags: settings.tags,
                    },
                    { parent: this },
                ),
            );
        const throttles = (metricName: string) => ({ namespace: "AWS/DynamoDB", metricName, dimensions: { TableName: table.name }, statistic: "Sum", period: 300 });
        // The TableName dimension alone counts the table's own throttle events, none of its
        // indexes': an index's are reported under TableName and GlobalSecondaryIndexName.
        const indexThrottles = (index: string, metricName: string) => ({
            namespace: "AWS/DynamoDB",
            metricName,
            dimensions: { TableName: table.name, GlobalSecondaryIndexName: index },
            statistic: "Sum",
            period: 300,
        });
        return {
            readThrottles: alarm("read-throttles", pulumi.interpolate`Reads on ${table.name} were throttled in the last 5 minutes.`, throttles("ReadThrottleEvents")),
            writeThrottles: alarm("write-throttles", pulumi.interpolate`Writes to ${table.name} were throttled in the last 5 minutes.`, throttles("WriteThrottleEvents")),
            // DynamoDB reports SystemErrors per operation only, so the alarm sums every
            // operation with a Metrics Insights query rather than naming each one.
            systemErrors: alarm("system-errors", pulumi.interpolate`DynamoDB answered requests on ${table.name} with HTTP 500 in the last 5 minutes.`, {
                metricQueries: [
                    {
                        id: "errors",
                        expression: pulumi.interpolate`SELECT SUM(SystemErrors) FROM SCHEMA("AWS/DynamoDB", Operation, TableName) WHERE TableName = '${table.name}'`,
                        period: 300,
                        returnData: true,
                    },
                ],
            }),
            replicationLatency: Object.fromEntries(
                replicaRegions.map((region) => [
                    region,
                    alarm(`replication-latency-${region}`, pulumi.interpolate`Writes to ${table.name} reached its replica in ${region} ${replicationLatencyAlarm.thresholdMs / 1000} s or more late on average for ${(replicationLatencyAlarm.periodSeconds * replicationLatencyAlarm.evaluationPeriods) / 60} minutes.`, {
                        namespace: "AWS/DynamoDB",
                        metricName: "ReplicationLatency",
                        dimensions: { TableName: table.name, ReceivingRegion: region },
                        statistic: "Average",
                        period: replicationLatencyAlarm.periodSeconds,
                        evaluationPeriods: replicationLatencyAlarm.evaluationPeriods,
                        threshold: replicationLatencyAlarm.thresholdMs,
                    }),
                ]),
            ),
            indexes: Object.fromEntries(
                (spec.globalSecondaryIndexes ?? []).map((index) => [
                    index.name,
                    {
                        readThrottles: alarm(
                            `${index.name}-read-throttles`,
                            pulumi.interpolate`Reads on index ${index.name} of ${table.name} were throttled in the last 5 minutes.`,
                            indexThrottles(index.name, "ReadThrottleEvents"),
                        ),
                        writeThrottles: alarm(
                            `${index.name}-write-throttles`,
                            pulumi.interpolate`Writes to index ${index.name} of ${table.name} were throttled in the last 5 minutes.`,
                            indexThrottles(index.name, "WriteThrottleEvents"),
                        ),
                    },
                ]),
            ),
        };
    }

    /**
     * The replicas of a PROVISIONED global table, one `TableReplica` per region
     * (its resource-level `region`), each made only once every scaling policy of
     * the table and its indexes exists, so DynamoDB finds the write capacity
     * autoscaled (terraform-provider-aws PR #38401 makes the same dependency).
     *
     * A replica's key cannot change in place: a new key replaces the replica.
     * A region holds one replica of a table, so the old one goes first
     * (`deleteBeforeReplace`) and DynamoDB fills the new one from the table;
     * the region has no replica in between, and the table loses nothing.
     * A protected replica (`protect`) stops such a change at preview instead.
     */
    private createReplicas(
        role: string,
        table: aws.dynamodb.Table,
        regions: readonly string[],
        scaling: TableScaling,
        spec: TableSpec,
        settings: ResolvedTablesArgs,
    ): Record<string, aws.dynamodb.TableReplica> {
        return Object.fromEntries(
            regions.map((region) => [
                region,
                new aws.dynamodb.TableReplica(
                    ...transformed(
                        settings.transform.replica,
                        `${role}-replica-${region}`,
                        {
                            globalTableArn: table.arn,
                            region,
                            pointInTimeRecovery: settings.pointInTimeRecovery,
                            kmsKeyArn: settings.kmsKeyArn ? settings.replicaKmsKeyArns[region] : undefined,
                            deletionProtectionEnabled: settings.deletionProtection,
                            // A TableReplica cannot propagate the table's tags: it is given them.
                            tags: { ...settings.tags, ...spec.tags },
                        },
                        { parent: this, dependsOn: [...scaling.targets, ...scaling.policies], deleteBeforeReplace: true, ...protection(settings) },
                    ),
                ),
            ]),
        );
    }

    private createScaling(role: string, spec: TableSpec, table: aws.dynamodb.Table, settings: ResolvedTablesArgs): TableScaling {
        const scaling: TableScaling = { targets: [], policies: [] };
        const scale = (targetRole: string, resourceId: pulumi.Input<string>, kind: "table" | "index", direction: "Read" | "Write", min: number, max: number) => {
            const scalableDimension = `dynamodb:${kind}:${direction}CapacityUnits`;
            const target = new aws.appautoscaling.Target(
                ...transformed(
                    settings.transform.scalingTarget,
                    `${targetRole}-${direction.toLowerCase()}-target`,
                    { serviceNamespace: "dynamodb", resourceId, scalableDimension, minCapacity: min, maxCapacity: max },
                    { parent: this },
                ),
            );
            const policy = new aws.appautoscaling.Policy(
                ...transformed(
                    settings.transform.scalingPolicy,
                    `${targetRole}-${direction.toLowerCase()}-policy`,
                    {
                        policyType: "TargetTrackingScaling",
                        serviceNamespace: target.serviceNamespace,
                        resourceId: target.resourceId,
                        scalableDimension: target.scalableDimension,
                        targetTrackingScalingPolicyConfiguration: {
                            targetValue: settings.targetUtilizationPercent,
                            predefinedMetricSpecification: { predefinedMetricType: `DynamoDB${direction}CapacityUtilization` },
                        },
                    },
                    { parent: this },
                ),
            );
            scaling.targets.push(target);
            scaling.policies.push(policy);
        };
        const read = spec.readCapacity!;
        const write = spec.writeCapacity!;
        const maxRead = spec.maxReadCapacity ?? read * defaultScalingHeadroom;
        const maxWrite = spec.maxWriteCapacity ?? write * defaultScalingHeadroom;
        const tableId = pulumi.interpolate`table/${table.name}`;
        scale(role, tableId, "table", "Read", read, maxRead);
        scale(role, tableId, "table", "Write", write, maxWrite);
        for (const index of spec.globalSecondaryIndexes ?? []) {
            const indexId = pulumi.interpolate`table/${table.name}/index/${index.name}`;
            scale(`${role}-${index.name}`, indexId, "index", "Read", read, maxRead);
            scale(`${role}-${index.name}`, indexId, "index", "Write", write, maxWrite);
        }
        return scaling;
    }
}
