/**
 * Secrets Manager: secrets under a customer managed KMS key where the stack
 * requires customer keys, as `dynamodb-encryption` requires them of tables.
 */
import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy } from "@pulumi/policy";
import { resourceLabel, violation } from "./describe";

/** Pack config of `secretsmanager-customer-key`. */
export interface SecretsKeyConfig {
    /** Require `kmsKeyId` on every secret, naming a customer managed key (not the AWS managed `aws/secretsmanager`). */
    requireCustomerManagedKey?: boolean;
}

/** True when `kmsKeyId` names the AWS managed key of Secrets Manager (by alias, alone or in an ARN). */
export function isAwsManagedSecretsKey(kmsKeyId: string): boolean {
    return /(^|:)alias\/aws\/secretsmanager$/.test(kmsKeyId);
}

export const secretsmanagerCustomerKey: ResourceValidationPolicy = {
    name: "secretsmanager-customer-key",
    description:
        "Secrets Manager secrets are encrypted with a customer managed KMS key (kmsKeyId) when requireCustomerManagedKey is set, as DynamoDB tables are under dynamodb-encryption; otherwise not applicable.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            requireCustomerManagedKey: {
                type: "boolean",
                default: false,
                description: "Require kmsKeyId on every secret, naming a customer managed key rather than the AWS managed aws/secretsmanager key.",
            },
        },
    },
    validateResource: validateResourceOfType(aws.secretsmanager.Secret, (secret, args, reportViolation) => {
        if (args.getConfig<SecretsKeyConfig>().requireCustomerManagedKey !== true) args.notApplicable("customer managed keys are not required");
        const label = resourceLabel(args.type, args.name, secret.name ?? secret.namePrefix);
        const fix = { urn: args.urn, configKey: "tollgate:secretsKmsKeyArn (or tollgate:tables.kmsKeyArn, which it defaults to)" };
        if (!secret.kmsKeyId) {
            reportViolation(violation(label, "encrypted with the AWS managed key aws/secretsmanager, but this stack requires a customer managed key", "kmsKeyId to a customer managed KMS key ARN", fix));
        } else if (isAwsManagedSecretsKey(secret.kmsKeyId)) {
            reportViolation(violation(label, `kmsKeyId ${secret.kmsKeyId} is the AWS managed key, but this stack requires a customer managed key`, "kmsKeyId to a customer managed KMS key ARN", fix));
        }
    }),
};
