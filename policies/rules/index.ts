/**
 * The tollgate policies, as plain policy objects.
 *
 * `policies/index.ts` serves them as the CrossGuard pack; the offline check
 * and the tests evaluate the same objects without constructing a PolicyPack
 * (constructing one starts the analyzer's gRPC server, one per process).
 * Nothing here imports from outside `policies/`: the pack is installed and
 * run from this directory alone.
 */
import type { EnforcementLevel, Policies } from "@pulumi/policy";
import { apigatewayAccessLogging, apigatewayDomainTls, apigatewayStageThrottling } from "./apigateway";
import { cloudwatchLogRetention } from "./cloudwatch";
import { dynamodbDeletionProtection, dynamodbEncryption, dynamodbOnDemandBilling, dynamodbPointInTimeRecovery, dynamodbProtect, dynamodbTtlOnExpiringTables } from "./dynamodb";
import { iamNoWildcardDynamoDb } from "./iam";
import { lambdaPermissionSourceArn, lambdaSupportedRuntime } from "./lambda";
import { fixedNameDeleteBeforeReplace } from "./replacement";
import { secretsmanagerCustomerKey } from "./secretsmanager";

export const packName = "tollgate";

export const packDescription =
    "Encryption, point-in-time recovery, on-demand billing and protection for DynamoDB, customer keys for secrets, the Lambda, IAM, API Gateway (throttling, access logs, TLS 1.2 domains) and CloudWatch rules tollgate deploys by, and replacements that can succeed for its fixed-name resources.";

/** The level of a policy that sets none (every policy here sets its own). */
export const packEnforcementLevel: EnforcementLevel = "mandatory";

export const tollgatePolicies: Policies = [
    dynamodbEncryption,
    dynamodbPointInTimeRecovery,
    dynamodbOnDemandBilling,
    dynamodbTtlOnExpiringTables,
    dynamodbDeletionProtection,
    lambdaSupportedRuntime,
    iamNoWildcardDynamoDb,
    apigatewayStageThrottling,
    apigatewayAccessLogging,
    cloudwatchLogRetention,
    lambdaPermissionSourceArn,
    secretsmanagerCustomerKey,
    apigatewayDomainTls,
    dynamodbProtect,
    fixedNameDeleteBeforeReplace,
];

export * from "./apigateway";
export * from "./cloudwatch";
export * from "./dynamodb";
export * from "./iam";
export * from "./lambda";
export * from "./replacement";
export * from "./secretsmanager";
