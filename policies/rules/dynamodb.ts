/**
 * DynamoDB policies: encryption, point-in-time recovery, on-demand billing,
 * TTL on tables that store expiring items, deletion protection, and Pulumi's
 * protect on the tables deletion protection guards.
 *
 * Policies see a table's inputs, so an unset argument counts as its AWS
 * default: no `serverSideEncryption` is the AWS-owned key, no
 * `pointInTimeRecovery` is off, no `billingMode` is PROVISIONED.
 *
 * A replica is either a block of its table (`replicas[]`) or an
 * `aws.dynamodb.TableReplica` of its own; the policies check both.
 */
import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy, type StackValidationPolicy } from "@pulumi/policy";
import { resourceLabel, violation } from "./describe";

/** Pack config of `dynamodb-encryption`. */
export interface EncryptionConfig {
    /** Require a customer managed KMS key (`serverSideEncryption.kmsKeyArn`) instead of the AWS managed `aws/dynamodb` key. */
    requireCustomerManagedKey?: boolean;
}

export const dynamodbEncryption: ResourceValidationPolicy = {
    name: "dynamodb-encryption",
    description:
        "DynamoDB tables have server-side encryption enabled with a KMS key (customer managed when requireCustomerManagedKey is set), not only the AWS-owned key.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            requireCustomerManagedKey: {
                type: "boolean",
                default: false,
                description: "Require serverSideEncryption.kmsKeyArn (and a kmsKeyArn on every replica): a customer managed key you can audit and revoke.",
            },
        },
    },
    validateResource: [
        validateResourceOfType(aws.dynamodb.Table, (table, args, reportViolation) => {
            const requireCustomerManagedKey = args.getConfig<EncryptionConfig>().requireCustomerManagedKey === true;
            const label = resourceLabel(args.type, args.name, table.name);
            if (table.serverSideEncryption?.enabled !== true) {
                reportViolation(
                    violation(
                        label,
                        "server-side encryption is off, so the table is encrypted only with the AWS-owned key",
                        requireCustomerManagedKey
                            ? "serverSideEncryption = { enabled: true, kmsKeyArn: <customer managed KMS key ARN> }"
                            : "serverSideEncryption = { enabled: true }",
                    ),
                );
                return;
            }
            if (!requireCustomerManagedKey) return;
            if (!table.serverSideEncryption.kmsKeyArn) {
                reportViolation(
                    violation(label, "encrypted with the AWS managed key, but this stack requires a customer managed key", "serverSideEncryption.kmsKeyArn to a customer managed KMS key ARN", {
                        urn: args.urn,
                        configKey: "tollgate:tables.kmsKeyArn",
                    }),
                );
            }
            (table.replicas ?? []).forEach((replica, index) => {
                if (!replica.kmsKeyArn) {
                    reportViolation(
                        violation(label, `replica in ${replica.regionName} has no customer managed key`, `replicas[${index}].kmsKeyArn to a KMS key ARN in ${replica.regionName}`, {
                            urn: args.urn,
                            configKey: `tollgate:tables.replicaKmsKeyArns.${replica.regionName}`,
                        }),
                    );
                }
            });
        }),
        validateResourceOfType(aws.dynamodb.TableReplica, (replica, args, reportViolation) => {
            if (args.getConfig<EncryptionConfig>().requireCustomerManagedKey !== true) args.notApplicable("customer managed keys are not required");
            if (!replica.kmsKeyArn) {
                const region = replica.region ?? "the replica's region";
                reportViolation(
                    violation(resourceLabel(args.type, args.name), `the replica in ${region} has no customer managed key`, `kmsKeyArn to a KMS key ARN in ${region}`, {
                        urn: args.urn,
                        configKey: `tollgate:tables.replicaKmsKeyArns.${region}`,
                    }),
                );
            }
        }),
    ],
};

export const dynamodbPointInTimeRecovery: ResourceValidationPolicy = {
    name: "dynamodb-point-in-time-recovery",
    description: "DynamoDB tables (and their replicas) have point-in-time recovery enabled, so a bad write can be rolled back.",
    enforcementLevel: "mandatory",
    validateResource: [
        validateResourceOfType(aws.dynamodb.Table, (table, args, reportViolation) => {
            const label = resourceLabel(args.type, args.name, table.name);
            if (table.pointInTimeRecovery?.enabled !== true) {
                reportViolation(violation(label, "point-in-time recovery is off", "pointInTimeRecovery = { enabled: true }", { urn: args.urn, configKey: "tollgate:tables.pointInTimeRecovery: true" }));
            }
            (table.replicas ?? []).forEach((replica, index) => {
                if (replica.pointInTimeRecovery !== true) {
                    reportViolation(
                        violation(label, `point-in-time recovery is off on the replica in ${replica.regionName}`, `replicas[${index}].pointInTimeRecovery = true`, {
                            urn: args.urn,
                            configKey: "tollgate:tables.pointInTimeRecovery: true",
                        }),
                    );
                }
            });
        }),
        // A TableReplica's pointInTimeRecovery defaults to false.
        validateResourceOfType(aws.dynamodb.TableReplica, (replica, args, reportViolation) => {
            if (replica.pointInTimeRecovery !== true) {
                reportViolation(
                    violation(resourceLabel(args.type, args.name), `point-in-time recovery is off on the replica in ${replica.region ?? "its region"}`, "pointInTimeRecovery = true", {
                        urn: args.urn,
                        configKey: "tollgate:tables.pointInTimeRecovery: true",
                    }),
                );
            }
        }),
    ],
};

/** Pack config of `dynamodb-on-demand-billing`. */
export interface BillingConfig {
    /** Let PROVISIONED tables pass when the stack registers read and write autoscaling targets for them. */
    allowProvisioned?: boolean;
}

/** The scalable dimensions a PROVISIONED table, and each of its global secondary indexes, needs autoscaling targets for. */
export const tableScalableDimensions = ["dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits"] as const;
export const indexScalableDimensions = ["dynamodb:index:ReadCapacityUnits", "dynamodb:index:WriteCapacityUnits"] as const;

/**
 * A stack policy: whether a PROVISIONED table is acceptable depends on other
 * resources (its autoscaling targets), which only a stack policy can see.
 */
export const dynamodbOnDemandBilling: StackValidationPolicy = {
    name: "dynamodb-on-demand-billing",
    description:
        "DynamoDB tables use on-demand (PAY_PER_REQUEST) billing; a PROVISIONED table passes only where pack config allows it and the stack registers autoscaling targets for the read and write capacity of the table and each of its global secondary indexes, and its replicas (TableReplica resources, not replica blocks) wait for its write-capacity scaling policies.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowProvisioned: {
                type: "boolean",
                default: false,
                description: "Accept PROVISIONED tables that have aws.appautoscaling.Target resources on ReadCapacityUnits and WriteCapacityUnits for table/<name> and every table/<name>/index/<index>.",
            },
        },
    },
    validateStack: (args, reportViolation) => {
        const tables = args.resources.filter((resource) => resource.isType(aws.dynamodb.Table));
        if (tables.length === 0) args.notApplicable("the stack has no DynamoDB tables");
        const allowProvisioned = args.getConfig<BillingConfig>().allowProvisioned === true;
        const targets = args.resources.flatMap((resource) => {
            const target = resource.asType(aws.appautoscaling.Target);
            return target && target.serviceNamespace === "dynamodb" ? [target] : [];
        });
        for (const resource of tables) {
            const table = resource.asType(aws.dynamodb.Table)!;
            const billingMode = table.billingMode || "PROVISIONED";
            if (billingMode === "PAY_PER_REQUEST") continue;
            const tableName = table.name || resource.name;
            const label = resourceLabel(resource.type, resource.name, tableName);
            const mode = table.billingMode ? `billing mode is ${billingMode}` : "billingMode is unset, which means PROVISIONED";
            if (!allowProvisioned) {
                reportViolation(
                    violation(label, `${mode} and this stack allows only on-demand tables`, 'billingMode = "PAY_PER_REQUEST"', {
                        urn: resource.urn,
                        configKey: "billingMode: PAY_PER_REQUEST on its entry in tollgate:appTables (or leave billingMode out)",
                    }),
                    resource.urn,
                );
                continue;
            }
            // A PROVISIONED index has capacity of its own: an unscaled index throttles writes to the whole table.
            const needed = [
                ...tableScalableDimensions.map((dimension) => ({ resourceId: `table/${tableName}`, dimension })),
                ...(table.globalSecondaryIndexes ?? []).flatMap((index) =>
                    indexScalableDimensions.map((dimension) => ({ resourceId: `table/${tableName}/index/${index.name}`, dimension })),
                ),
            ];
            const missing = needed.filter((need) => !targets.some((target) => target.resourceId === need.resourceId && target.scalableDimension === need.dimension));
            if (missing.length > 0) {
                reportViolation(
                    violation(
                        label,
                        `${mode} with no autoscaling target for ${missing.map((need) => `${need.resourceId} ${need.dimension}`).join(", ")}`,
                        'billingMode = "PAY_PER_REQUEST", or register an aws.appautoscaling.Target (serviceNamespace "dynamodb") with that resourceId and scalableDimension for each',
                    ),
                    resource.urn,
                );
            }
            // DynamoDB refuses a replica of a table whose write capacity is neither on demand nor
            // autoscaled; replica blocks are added while the table is created, before its scaling exists.
            if ((table.replicas ?? []).length > 0) {
                reportViolation(
                    violation(
                        label,
                        `${mode} with replica blocks, which are created with the table, before its autoscaling exists, and DynamoDB refuses them ("Table write capacity should either be Pay-Per-Request or AutoScaled")`,
                        "the replicas as aws.dynamodb.TableReplica resources that dependOn the table's write-capacity scaling policies, and ignoreChanges: [\"replicas\"] on the table",
                    ),
                    resource.urn,
                );
            }
            const writeScaling = needed.filter((need) => need.dimension.endsWith(":WriteCapacityUnits"));
            for (const replicaResource of args.resources.filter((candidate) => candidate.isType(aws.dynamodb.TableReplica))) {
                const replica = replicaResource.asType(aws.dynamodb.TableReplica)!;
                if (!table.arn || replica.globalTableArn !== table.arn) continue;
                const awaited = replicaResource.dependencies.flatMap((dependency) => {
                    const policy = dependency.asType(aws.appautoscaling.Policy);
                    return policy ? [`${policy.resourceId} ${policy.scalableDimension}`] : [];
                });
                const notAwaited = writeScaling.filter((need) => !awaited.includes(`${need.resourceId} ${need.dimension}`));
                if (notAwaited.length > 0) {
                    reportViolation(
                        violation(
                            resourceLabel(replicaResource.type, replicaResource.name),
                            `replicates the ${billingMode} table ${tableName} without waiting for its write autoscaling (${notAwaited.map((need) => `${need.resourceId} ${need.dimension}`).join(", ")}), so DynamoDB may refuse it`,
                            "dependsOn to the aws.appautoscaling.Policy of each of those",
                        ),
                        replicaResource.urn,
                    );
                }
            }
        }
    },
};

/** Pack config of `dynamodb-ttl-on-expiring-tables`. */
export interface TtlConfig {
    /** Case-insensitive regular expression matched against key attribute names that hold an expiry time. */
    expiryAttributePattern?: string;
}

export const defaultExpiryAttributePattern = "(^|_)(expires_at|expiry|ttl)$|^expiresAt$";

export const dynamodbTtlOnExpiringTables: ResourceValidationPolicy = {
    name: "dynamodb-ttl-on-expiring-tables",
    description: "DynamoDB tables with an expiry-time key attribute (expires_at and the like) have TTL enabled on it, so expired items are deleted instead of kept forever.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            expiryAttributePattern: {
                type: "string",
                default: defaultExpiryAttributePattern,
                description: "Case-insensitive regular expression naming the attributes that hold an expiry time.",
            },
        },
    },
    validateResource: validateResourceOfType(aws.dynamodb.Table, (table, args, reportViolation) => {
        const pattern = new RegExp(args.getConfig<TtlConfig>().expiryAttributePattern ?? defaultExpiryAttributePattern, "i");
        const expiryAttributes = (table.attributes ?? []).map((attribute) => attribute.name).filter((name) => pattern.test(name));
        if (expiryAttributes.length === 0) args.notApplicable("the table has no expiry-time key attribute");
        const label = resourceLabel(args.type, args.name, table.name);
        if (table.ttl?.enabled !== true) {
            reportViolation(
                violation(label, `key attribute ${expiryAttributes.join(", ")} holds an expiry time but TTL is off`, `ttl = { attributeName: "${expiryAttributes[0]}", enabled: true }`),
            );
        } else if (!expiryAttributes.includes(table.ttl.attributeName ?? "")) {
            reportViolation(
                violation(label, `TTL is on attribute "${table.ttl.attributeName ?? ""}", not on the expiry attribute ${expiryAttributes.join(", ")}`, `ttl.attributeName = "${expiryAttributes[0]}"`),
            );
        }
    }),
};

export const dynamodbDeletionProtection: ResourceValidationPolicy = {
    name: "dynamodb-deletion-protection",
    description:
        "DynamoDB tables, and each replica of a global table, have deletion protection enabled, so a replacement, a dropped replica or `pulumi destroy` cannot drop their data (advisory unless pack config makes it mandatory).",
    enforcementLevel: "advisory",
    validateResource: [
        validateResourceOfType(aws.dynamodb.Table, (table, args, reportViolation) => {
            const label = resourceLabel(args.type, args.name, table.name);
            if (table.deletionProtectionEnabled !== true) {
                reportViolation(violation(label, "deletion protection is off", "deletionProtectionEnabled = true", { urn: args.urn, configKey: "tollgate:tables.deletionProtection: true" }));
            }
            // Each replica is a table of its own in its region, protected (or not) on its own.
            (table.replicas ?? []).forEach((replica, index) => {
                if (replica.deletionProtectionEnabled !== true) {
                    reportViolation(
                        violation(label, `deletion protection is off on the replica in ${replica.regionName}`, `replicas[${index}].deletionProtectionEnabled = true`, {
                            urn: args.urn,
                            configKey: "tollgate:tables.deletionProtection: true",
                        }),
                    );
                }
            });
        }),
        validateResourceOfType(aws.dynamodb.TableReplica, (replica, args, reportViolation) => {
            if (replica.deletionProtectionEnabled !== true) {
                reportViolation(
                    violation(resourceLabel(args.type, args.name), `deletion protection is off on the replica in ${replica.region ?? "its region"}`, "deletionProtectionEnabled = true", {
                        urn: args.urn,
                        configKey: "tollgate:tables.deletionProtection: true",
                    }),
                );
            }
        }),
    ],
};

export const dynamodbProtect: ResourceValidationPolicy = {
    name: "dynamodb-protect",
    description:
        "DynamoDB tables and table replicas with deletion protection are also protected in Pulumi (the protect option), so a change that would replace one (a new key schema) stops at preview instead of at DeleteTable, part-way through the update (advisory unless pack config makes it mandatory).",
    enforcementLevel: "advisory",
    validateResource: [
        validateResourceOfType(aws.dynamodb.Table, (table, args, reportViolation) => {
            if (table.deletionProtectionEnabled !== true) args.notApplicable("deletion protection is off");
            if (args.opts.protect) return;
            reportViolation(
                violation(resourceLabel(args.type, args.name, table.name), unprotected, "protect: true", { urn: args.urn, configKey: "tollgate:tables.protect: true" }, "resource option"),
            );
        }),
        validateResourceOfType(aws.dynamodb.TableReplica, (replica, args, reportViolation) => {
            if (replica.deletionProtectionEnabled !== true) args.notApplicable("deletion protection is off");
            if (args.opts.protect) return;
            reportViolation(violation(resourceLabel(args.type, args.name), unprotected, "protect: true", { urn: args.urn, configKey: "tollgate:tables.protect: true" }, "resource option"));
        }),
    ],
};

const unprotected = "deletion protection is on but Pulumi does not protect it, so a change that replaces it runs until AWS refuses to delete it, part-way through the update";
