/**
 * What AWS accepts, in one place, each with its source: the limits the config
 * schema (specs/config.ts) refuses values against, which the components build
 * resources within, and which the tests hold every resource to.
 */

/**
 * The HTTP API's integration timeout: API Gateway waits at most this long for
 * the Lambda, then answers 503 itself (the Lambda keeps running, and its own
 * answer is lost). Not adjustable.
 *
 * Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 * ("Maximum integration timeout: 30 seconds", "Can be increased: No");
 * `timeoutMilliseconds` of aws.apigatewayv2.Integration: "between 50 and 30,000
 * milliseconds for HTTP APIs".
 */
export const httpApiIntegrationTimeoutMs = 30_000;

/**
 * What a Lambda function's VPC configuration holds: "SubnetIds ... Maximum
 * number of 16 items", "SecurityGroupIds ... Maximum number of 5 items"
 * (AWS Lambda API reference, VpcConfig).
 */
export const lambdaVpcLimits = { subnets: 16, securityGroups: 5 } as const;

/**
 * The part of the HTTP API's 30 s the gateway keeps for itself around the
 * upstream call: rate limiting and authentication against DynamoDB (each gives
 * up after about 2.1 s when the store does not answer, runtime/stores/dynamo.ts),
 * a cold start, and API Gateway's own hop to the Lambda and back. An upstream
 * timeout longer than the rest would let API Gateway's 503 overtake the
 * gateway's 504. test/deploy-limits.test.ts keeps it above the stores' give-up time.
 */
export const gatewayReserveMs = 3_000;

/** The longest `tollgate:upstreamTimeoutMs` the HTTP API can wait for. */
export const maxUpstreamTimeoutMs = httpApiIntegrationTimeoutMs - gatewayReserveMs;

/** What AWS (and Pulumi's auto-naming) accepts as the physical name of one kind of resource. */
export interface NameLimit {
    /** What a person calls it. */
    kind: string;
    /** The Pulumi type token of the resource. */
    type: string;
    /** The argument holding the name; `namePrefix` means the provider appends `prefixSuffixLength` characters. */
    argument: "name" | "dashboardName" | "namePrefix" | "globalSecondaryIndexes[].name";
    minLength: number;
    maxLength: number;
    /** Every character (and the shape) AWS allows. */
    pattern: RegExp;
    /**
     * When the name argument is left unset, Pulumi names the resource `<logical name>-<7 hex>`
     * and refuses (at `pulumi up`) a result longer than this; unset: Pulumi never names it.
     */
    autoNameMaxLength?: number;
    source: string;
}

/** Pulumi's auto-name: the logical name, `-`, and seven random hex digits (pulumi-terraform-bridge `AutoName`, `Randlen: 7`). */
export const autoNameSuffixLength = 8;
/** What the AWS provider appends to a `namePrefix`: a 26-character unique id (terraform-plugin-sdk `id.PrefixedUniqueId`). */
export const prefixSuffixLength = 26;

/**
 * Every kind of resource tollgate names, with AWS's rules for the name.
 * test/deploy-limits.test.ts computes the physical name of every resource the
 * program registers, with the longest prefix and table names the schema
 * allows, and holds each to its row; a resource of a kind not listed here (or
 * in `unnamedResourceTypes`) fails that test.
 */
export const nameLimits: readonly NameLimit[] = [
    {
        kind: "DynamoDB table",
        type: "aws:dynamodb/table:Table",
        argument: "name",
        minLength: 3,
        maxLength: 255,
        pattern: /^[A-Za-z0-9_.-]+$/,
        autoNameMaxLength: 255,
        source: "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html: 'Table names and index names must be between 3 and 255 characters long, and can contain only a-z, A-Z, 0-9, _, -, .'",
    },
    {
        kind: "DynamoDB global secondary index",
        type: "aws:dynamodb/table:Table",
        argument: "globalSecondaryIndexes[].name",
        minLength: 3,
        maxLength: 255,
        pattern: /^[A-Za-z0-9_.-]+$/,
        source: "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html (as table names)",
    },
    {
        kind: "Lambda function",
        type: "aws:lambda/function:Function",
        argument: "name",
        minLength: 1,
        maxLength: 64,
        pattern: /^[A-Za-z0-9_-]+$/,
        autoNameMaxLength: 64,
        source: "Lambda API FunctionName: 'If you specify only the function name, it is limited to 64 characters in length'; terraform-provider-aws internal/service/lambda/validate.go: ([0-9A-Za-z_-]+); pulumi-aws resource_overrides.go AutoName(\"name\", 64)",
    },
    {
        kind: "IAM role",
        type: "aws:iam/role:Role",
        argument: "name",
        minLength: 1,
        maxLength: 64,
        pattern: /^[\w+=,.@-]+$/,
        autoNameMaxLength: 64,
        source: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html: RoleName 'Maximum length of 64. Pattern: [\\w+=,.@-]+'",
    },
    {
        kind: "IAM role policy",
        type: "aws:iam/rolePolicy:RolePolicy",
        argument: "name",
        minLength: 1,
        maxLength: 128,
        pattern: /^[\w+=,.@-]+$/,
        autoNameMaxLength: 255,
        source: "terraform-provider-aws internal/service/iam/role_policy.go: rolePolicyNameMaxLen = 128, ^[\\w+=,.@-]*$ (Pulumi's auto-name allows 255)",
    },
    {
        kind: "SNS topic",
        type: "aws:sns/topic:Topic",
        argument: "name",
        minLength: 1,
        maxLength: 256,
        pattern: /^[A-Za-z0-9_-]+$/,
        autoNameMaxLength: 80,
        source: "SNS CreateTopic Name: 'uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long'; pulumi-aws resource_overrides.go Maxlen: 80",
    },
    {
        kind: "CloudWatch alarm",
        type: "aws:cloudwatch/metricAlarm:MetricAlarm",
        argument: "name",
        minLength: 1,
        maxLength: 255,
        pattern: /^[^\u0000-\u001f]+$/,
        autoNameMaxLength: 255,
        source: "CloudWatch PutMetricAlarm AlarmName: 'Minimum length of 1. Maximum length of 255.'",
    },
    {
        kind: "CloudWatch log group",
        type: "aws:cloudwatch/logGroup:LogGroup",
        argument: "name",
        minLength: 1,
        maxLength: 512,
        pattern: /^[A-Za-z0-9_./#-]+$/,
        autoNameMaxLength: 255,
        source: "terraform-provider-aws validLogGroupName: ^[0-9A-Za-z_./#-]+$, StringLenBetween(1, 512); AWS::Logs::LogGroup: 'between 1 and 512 characters long'",
    },
    {
        kind: "CloudWatch dashboard",
        type: "aws:cloudwatch/dashboard:Dashboard",
        argument: "dashboardName",
        minLength: 1,
        maxLength: 255,
        pattern: /^[A-Za-z0-9_-]+$/,
        source: "CloudWatch PutDashboard DashboardName: 'The maximum length is 255, and valid characters are A-Z, a-z, 0-9, \"-\", and \"_\"'",
    },
    {
        kind: "Logs Insights saved query",
        type: "aws:cloudwatch/queryDefinition:QueryDefinition",
        argument: "name",
        minLength: 1,
        maxLength: 255,
        pattern: /^([^:*/]+\/?)*[^:*/]+$/,
        autoNameMaxLength: 255,
        source: "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutQueryDefinition.html: 'Minimum length of 1. Maximum length of 255. Pattern: ^([^:*\\/]+\\/?)*[^:*\\/]+$'",
    },
    {
        kind: "HTTP API",
        type: "aws:apigatewayv2/api:Api",
        argument: "name",
        minLength: 1,
        maxLength: 128,
        pattern: /^[^\u0000-\u001f]+$/,
        autoNameMaxLength: 255,
        source: "@pulumi/aws apigatewayv2/api.d.ts: 'Name of the API. Must be less than or equal to 128 characters in length.'",
    },
    {
        kind: "HTTP API stage",
        type: "aws:apigatewayv2/stage:Stage",
        argument: "name",
        minLength: 1,
        maxLength: 128,
        pattern: /^(\$default|[A-Za-z0-9_-]+)$/,
        autoNameMaxLength: 255,
        source: "https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename.html: 'alphanumeric characters, hyphens, and underscores, or be $default. Maximum length is 128 characters.'",
    },
    {
        kind: "Backup vault",
        type: "aws:backup/vault:Vault",
        argument: "name",
        minLength: 2,
        maxLength: 50,
        pattern: /^[A-Za-z0-9_-]+$/,
        autoNameMaxLength: 255,
        source: "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html: 'Pattern: ^[a-zA-Z0-9\\-\\_]{2,50}$'",
    },
    {
        kind: "Backup plan",
        type: "aws:backup/plan:Plan",
        argument: "name",
        minLength: 1,
        maxLength: 200,
        pattern: /^[A-Za-z0-9_.-]+$/,
        autoNameMaxLength: 255,
        source: "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupPlan.html: 'only alphanumeric or '-_.' special characters ... through CLI or API, it can contain 1 to 200 characters'",
    },
    {
        kind: "Backup selection",
        type: "aws:backup/selection:Selection",
        argument: "name",
        minLength: 1,
        maxLength: 50,
        pattern: /^[A-Za-z0-9_.-]+$/,
        autoNameMaxLength: 255,
        source: "AWS Backup BackupSelection SelectionName: 'Must contain 1 to 50 alphanumeric or '-_.' characters.'",
    },
    {
        kind: "Secrets Manager secret",
        type: "aws:secretsmanager/secret:Secret",
        argument: "namePrefix",
        minLength: 1,
        maxLength: 512,
        pattern: /^[A-Za-z0-9/_+=.@-]+$/,
        autoNameMaxLength: 255,
        source: "Secrets Manager CreateSecret Name: 'ASCII letters, numbers, and the following characters: /_+=.@-', 512 characters",
    },
    {
        kind: "EC2 security group",
        type: "aws:ec2/securityGroup:SecurityGroup",
        argument: "name",
        minLength: 1,
        maxLength: 255,
        pattern: /^(?!sg-)[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]+$/,
        autoNameMaxLength: 255,
        source: "EC2 CreateSecurityGroup GroupName: 'Up to 255 characters in length. Can't start with sg-. Valid characters: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*'",
    },
    {
        kind: "Application Auto Scaling policy",
        type: "aws:appautoscaling/policy:Policy",
        argument: "name",
        minLength: 1,
        maxLength: 256,
        pattern: /^[\x20-\x7e]+$/,
        autoNameMaxLength: 255,
        source: "Application Auto Scaling PutScalingPolicy PolicyName: 'Minimum length of 1. Maximum length of 256. Pattern: \\p{Print}+' (Pulumi's auto-name allows 255)",
    },
    {
        kind: "Route 53 record",
        type: "aws:route53/record:Record",
        argument: "name",
        minLength: 1,
        maxLength: 255,
        pattern: /^[A-Za-z0-9_.*-]+\.?$/,
        source: "Route 53 ResourceRecordSet Name: 'Maximum length of 1024' as escaped text; a DNS name is at most 255 octets (RFC 1035 2.3.4)",
    },
];

/** Resource types tollgate creates that carry no physical name of their own (AWS names them by id). */
export const unnamedResourceTypes: readonly string[] = [
    "aws:apigatewayv2/integration:Integration",
    "aws:apigatewayv2/route:Route",
    "aws:apigatewayv2/apiMapping:ApiMapping",
    "aws:apigatewayv2/domainName:DomainName",
    "aws:lambda/permission:Permission",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:sns/topicSubscription:TopicSubscription",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:appautoscaling/target:Target",
    "aws:dynamodb/tableReplica:TableReplica",
    "aws:acm/certificate:Certificate",
    "aws:acm/certificateValidation:CertificateValidation",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "awsx:ec2:Vpc",
    "random:index/randomPassword:RandomPassword",
    // Made in the program's state only (the gateway's signing keys), never at AWS.
    "tls:index/privateKey:PrivateKey",
];

/**
 * Tags: tollgate tags every resource with `tollgate:project`, `tollgate:environment`
 * and `tollgate:stack`, and a table spec may add its own.
 *
 * Source: https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html ("Maximum key length: 128
 * Unicode characters", "Maximum value length: 256", "Maximum number of tags per resource: 50", keys may
 * not begin with aws:, "letters, numbers, and spaces representable in UTF-8, and the following
 * characters: _ . : / = + - @").
 */
export const tagLimits = {
    keyMaxLength: 128,
    valueMaxLength: 256,
    perResource: 50,
    pattern: /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u,
    reservedKeyPrefix: "aws:",
} as const;

/** The tags tollgate puts on every resource: a table spec may add `tagLimits.perResource` minus these. */
export const tollgateTagKeys = ["tollgate:project", "tollgate:environment", "tollgate:stack"] as const;

/**
 * How long tollgate lets each configured name be, so that every physical name
 * built from them fits its row above. The tight ones: the backup vault
 * `{prefix}-backups` and selection `{prefix}-tables` (50; with a customer key
 * the vault is `{prefix}-{8 hex}` past a 33-character prefix), the Lambda and
 * its role `{prefix}-gateway` (64), an index's throttle alarm
 * `{prefix}-{table}-{index}-write-throttles` (255, exactly, at the longest of
 * all three), a replicated table's alarm
 * `{prefix}-{table}-replication-latency-{region}` (255), and the auto-named
 * autoscaling policy `tables-{table}-{index}-write-policy-xxxxxxx` (255).
 */
export const nameBudget = {
    prefix: 40,
    tableName: 133,
    indexName: 64,
    /** The longest AWS region code today is 14 characters (ap-southeast-5). */
    regionName: 25,
    environment: tagLimits.valueMaxLength,
} as const;

/** What a prefix may hold: the characters every name built on it allows (Lambda function, SNS topic, backup vault and dashboard names allow no '.'). */
export const prefixPattern = /^[A-Za-z0-9_-]+$/;
