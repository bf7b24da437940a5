/** CloudWatch policy: every log group expires its events. */
import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy } from "@pulumi/policy";
import { resourceLabel, violation } from "./describe";

/** Pack config of `cloudwatch-log-retention`. */
export interface RetentionConfig {
    /** The shortest retention accepted, in days (e.g. 30 in prod). */
    minimumRetentionDays?: number;
}

export const retentionDefaults = { minimumRetentionDays: 1 };

export const cloudwatchLogRetention: ResourceValidationPolicy = {
    name: "cloudwatch-log-retention",
    description: "CloudWatch log groups set retentionInDays (unset or 0 keeps logs, and their cost, forever), at least minimumRetentionDays.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minimumRetentionDays: {
                type: "integer",
                minimum: 1,
                default: retentionDefaults.minimumRetentionDays,
                description: "The shortest retention accepted, in days.",
            },
        },
    },
    validateResource: validateResourceOfType(aws.cloudwatch.LogGroup, (logGroup, args, reportViolation) => {
        const minimum = args.getConfig<RetentionConfig>().minimumRetentionDays ?? retentionDefaults.minimumRetentionDays;
        const label = resourceLabel(args.type, args.name, logGroup.name);
        const retention = logGroup.retentionInDays;
        const fix = `retentionInDays to a CloudWatch retention period of at least ${minimum} day${minimum === 1 ? "" : "s"}`;
        const tollgate = { urn: args.urn, configKey: `tollgate:logRetentionDays to at least ${minimum}` };
        if (!retention) {
            reportViolation(violation(label, "has no retention, so its logs are kept forever", fix, tollgate));
        } else if (retention < minimum) {
            reportViolation(violation(label, `keeps logs ${retention} days, less than the ${minimum} this stack requires`, fix, tollgate));
        }
    }),
};
