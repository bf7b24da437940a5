/**
 * IAM policy: nothing in the stack grants DynamoDB with a wildcard action or
 * resource, whether through an inline policy document, a managed policy the
 * stack creates, or an AWS managed policy it attaches.
 */
import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ReportViolation, type ResourceValidationArgs, type ResourceValidationPolicy } from "@pulumi/policy";
import { resourceLabel, violation } from "./describe";

/** Pack config of `iam-no-wildcard-dynamodb`. */
export interface IamConfig {
    /** AWS managed policies (by name) that grant DynamoDB actions on every table. */
    forbiddenManagedPolicies?: string[];
}

export const iamDefaults = {
    forbiddenManagedPolicies: [
        "AdministratorAccess",
        "PowerUserAccess",
        "AmazonDynamoDBFullAccess",
        "AmazonDynamoDBFullAccess_v2",
        "AmazonDynamoDBFullAccesswithDataPipeline",
        "AmazonDynamoDBReadOnlyAccess",
        "AWSLambda_FullAccess",
        "AWSLambdaFullAccess",
        "AWSLambdaDynamoDBExecutionRole",
        "AWSLambdaInvocation-DynamoDB",
    ],
};

interface Statement {
    Sid?: string;
    Effect?: string;
    Action?: string | string[];
    NotAction?: string | string[];
    Resource?: string | string[];
    NotResource?: string | string[];
}

const listOf = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The statements of a policy document given as JSON text or as an object; none when it cannot be read (the provider rejects it anyway). */
export function statementsOf(document: unknown): Statement[] {
    let parsed: any = document;
    if (typeof document === "string") {
        try {
            parsed = JSON.parse(document);
        } catch {
            return [];
        }
    }
    const statements = parsed?.Statement;
    return (Array.isArray(statements) ? statements : statements ? [statements] : []).filter((s: unknown) => s && typeof s === "object");
}

/** Why an Allow statement that grants DynamoDB is too broad; empty when it is scoped or grants no DynamoDB action. */
export function wildcardDynamoDbGrants(statement: Statement): string[] {
    if ((statement.Effect ?? "Allow") !== "Allow") return [];
    const actions = listOf(statement.Action);
    const grantsDynamoDb = statement.NotAction !== undefined || actions.some((action) => action === "*" || action.toLowerCase().startsWith("dynamodb:"));
    if (!grantsDynamoDb) return [];
    const problems: string[] = [];
    if (statement.NotAction !== undefined) problems.push("NotAction, which allows every action it does not list (DynamoDB included)");
    const wildcardActions = actions.filter((action) => action.includes("*") && (action === "*" || action.toLowerCase().startsWith("dynamodb:")));
    if (wildcardActions.length) problems.push(`wildcard action ${wildcardActions.join(", ")}`);
    if (statement.NotResource !== undefined) problems.push("NotResource, which applies to every resource it does not list");
    const wildcardResources = listOf(statement.Resource).filter((resource) => resource.includes("*"));
    if (wildcardResources.length) problems.push(`wildcard resource ${wildcardResources.join(", ")}`);
    return problems;
}

const scopedFix = "it to the DynamoDB actions the code calls (dynamodb:GetItem, dynamodb:UpdateItem, ...) on exact table and index ARNs";

function checkDocument(args: ResourceValidationArgs, reportViolation: ReportViolation, physicalName: unknown, document: unknown, property: string) {
    const label = resourceLabel(args.type, args.name, physicalName);
    statementsOf(document).forEach((statement, index) => {
        const problems = wildcardDynamoDbGrants(statement);
        if (problems.length === 0) return;
        const which = statement.Sid ? `statement ${index} (Sid "${statement.Sid}")` : `statement ${index}`;
        reportViolation(violation(label, `${which} grants DynamoDB too broadly: ${problems.join("; ")}`, `${property}: limit ${scopedFix}`));
    });
}

/** The managed policy name at the end of a policy ARN (`arn:aws:iam::aws:policy/service-role/X` -> X). */
export function managedPolicyName(policyArn: string): string {
    return policyArn.slice(policyArn.lastIndexOf("/") + 1);
}

function checkAttachment(args: ResourceValidationArgs, reportViolation: ReportViolation, policyArns: readonly string[], property: string, physicalName?: unknown) {
    const forbidden = args.getConfig<IamConfig>().forbiddenManagedPolicies ?? iamDefaults.forbiddenManagedPolicies;
    for (const policyArn of policyArns) {
        if (!/^arn:aws[a-z-]*:iam::aws:policy\//.test(policyArn) || !forbidden.includes(managedPolicyName(policyArn))) continue;
        reportViolation(
            violation(
                resourceLabel(args.type, args.name, physicalName),
                `attaches the AWS managed policy ${managedPolicyName(policyArn)}, which grants DynamoDB actions on every table`,
                `${property} to a policy of your own that limits ${scopedFix}`,
            ),
        );
    }
}

export const iamNoWildcardDynamoDb: ResourceValidationPolicy = {
    name: "iam-no-wildcard-dynamodb",
    description: "IAM policies that grant DynamoDB name exact actions and exact table/index ARNs: no `*` action or resource, no NotAction/NotResource, no AWS managed DynamoDB full-access policy.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            forbiddenManagedPolicies: {
                type: "array",
                items: { type: "string" },
                default: iamDefaults.forbiddenManagedPolicies,
                description: "AWS managed policy names that may not be attached, because they grant DynamoDB on every table.",
            },
        },
    },
    validateResource: [
        validateResourceOfType(aws.iam.Policy, (policy, args, reportViolation) => checkDocument(args, reportViolation, policy.name, policy.policy, "policy")),
        validateResourceOfType(aws.iam.RolePolicy, (policy, args, reportViolation) => checkDocument(args, reportViolation, policy.name, policy.policy, "policy")),
        validateResourceOfType(aws.iam.UserPolicy, (policy, args, reportViolation) => checkDocument(args, reportViolation, policy.name, policy.policy, "policy")),
        validateResourceOfType(aws.iam.GroupPolicy, (policy, args, reportViolation) => checkDocument(args, reportViolation, policy.name, policy.policy, "policy")),
        validateResourceOfType(aws.iam.Role, (role, args, reportViolation) => {
            (role.inlinePolicies ?? []).forEach((inline, index) => checkDocument(args, reportViolation, role.name, inline.policy, `inlinePolicies[${index}].policy`));
            checkAttachment(args, reportViolation, role.managedPolicyArns ?? [], "managedPolicyArns", role.name);
        }),
        validateResourceOfType(aws.iam.RolePolicyAttachment, (attachment, args, reportViolation) => checkAttachment(args, reportViolation, [attachment.policyArn], "policyArn")),
        validateResourceOfType(aws.iam.UserPolicyAttachment, (attachment, args, reportViolation) => checkAttachment(args, reportViolation, [attachment.policyArn], "policyArn")),
        validateResourceOfType(aws.iam.GroupPolicyAttachment, (attachment, args, reportViolation) => checkAttachment(args, reportViolation, [attachment.policyArn], "policyArn")),
        validateResourceOfType(aws.iam.PolicyAttachment, (attachment, args, reportViolation) => checkAttachment(args, reportViolation, [attachment.policyArn], "policyArn", attachment.name)),
    ],
};
