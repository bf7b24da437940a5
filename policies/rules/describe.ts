/**
 * How a violation names its resource. Every message reads
 * `<kind> "<name>" (<physical name>): <what is wrong>; set <property>.`
 * so the reader knows which resource to open and which argument to change,
 * whether they see it in `pulumi preview` or in the offline check.
 */

const kinds: Record<string, string> = {
    "aws:dynamodb/table:Table": "DynamoDB table",
    "aws:dynamodb/tableReplica:TableReplica": "DynamoDB table replica",
    "aws:lambda/function:Function": "Lambda function",
    "aws:lambda/permission:Permission": "Lambda permission",
    "aws:iam/role:Role": "IAM role",
    "aws:iam/policy:Policy": "IAM policy",
    "aws:iam/rolePolicy:RolePolicy": "IAM role policy",
    "aws:iam/userPolicy:UserPolicy": "IAM user policy",
    "aws:iam/groupPolicy:GroupPolicy": "IAM group policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM role policy attachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "IAM user policy attachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "IAM group policy attachment",
    "aws:iam/policyAttachment:PolicyAttachment": "IAM policy attachment",
    "aws:apigatewayv2/stage:Stage": "API Gateway v2 stage",
    "aws:apigateway/stage:Stage": "API Gateway REST stage",
    "aws:cloudwatch/logGroup:LogGroup": "CloudWatch log group",
    "aws:secretsmanager/secret:Secret": "Secrets Manager secret",
    "aws:apigatewayv2/domainName:DomainName": "API Gateway v2 domain name",
    "aws:apigateway/domainName:DomainName": "API Gateway REST domain name",
};

/** The resource as a person would name it: kind, Pulumi name, and physical name when it differs. */
export function resourceLabel(type: string, name: string, physicalName?: unknown): string {
    const kind = kinds[type] ?? type;
    const physical = typeof physicalName === "string" && physicalName !== "" && physicalName !== name ? ` (${physicalName})` : "";
    return `${kind} "${name}"${physical}`;
}

/**
 * A violation message: the resource, the problem, and what to set. For a
 * resource one of tollgate's own components made (its URN's type chain holds
 * a `tollgate:` component), `configKey` is what a user edits, so it comes
 * first and the provider argument follows for reference.
 */
export function violation(resource: string, problem: string, fix: string, tollgate?: { urn: string; configKey: string }, fixKind: "provider argument" | "resource option" = "provider argument"): string {
    if (tollgate && madeByTollgate(tollgate.urn)) return `${resource}: ${problem}; set ${tollgate.configKey} in the stack's config (${fixKind}: ${fix}).`;
    return `${resource}: ${problem}; set ${fixKind === "resource option" ? `the resource option ${fix}` : fix}.`;
}

/** True when a tollgate component is among the resource's parents: `...::tollgate:tables:Tables$aws:dynamodb/table:Table::name`. */
export function madeByTollgate(urn: string): boolean {
    const typeChain = urn.split("::")[2] ?? "";
    return typeChain.split("$").slice(0, -1).some((type) => type.startsWith("tollgate:"));
}
