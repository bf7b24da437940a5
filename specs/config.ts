/**
 * The `tollgate:*` stack configuration: its schema, its defaults, and the one
 * function that turns raw values into validated settings.
 *
 * Two readers share it: the Pulumi program (values from `pulumi.Config`) and
 * the local gateway (values read from `Pulumi.<stack>.yaml`). Validation
 * happens here, once, at the edge; every error names the key it is about
 * (`tollgate:routes[1].auth: ...`). Everything behind it trusts the types.
 */
import type { OutputInstance } from "@pulumi/pulumi";
import cronValidate from "cron-validate";
import { z } from "zod";
import type { TollgateConfig } from "./args";
import { assertionReuseCeilingSeconds } from "./identity";
import { gatewayReserveMs, httpApiIntegrationTimeoutMs, lambdaVpcLimits, maxUpstreamTimeoutMs, nameBudget, prefixPattern, tagLimits, tollgateTagKeys } from "./limits";
import { builtInTables, replicaRegionsOf, sharedAlarmName, type TableSpec } from "./tables";
import { defaultIpv6PrefixLength, isLoopbackUrl, proxyControlHeaders, segmentAsRead, type RateLimitPolicy, type RouteSpec } from "./routes";
import { closestName } from "./names";
import { selfServicePath, sessionDefaults } from "./sessions";

export const configNamespace = "tollgate";

/** CloudWatch Logs accepts only these retention periods. */
export const logRetentionChoices = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const positiveInt = z.number().int().positive();
const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, "use letters, digits, '_', '.' and '-' only");
const awsRegion = z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "must be an AWS region name such as eu-central-1")
    .max(nameBudget.regionName, "no AWS region code is that long (eu-central-1 is 12)");
/**
 * A KMS key by its key ARN. Not an alias ARN: an IAM policy grants use of a
 * key only through the key's own ARN, so the role could not use a key named by alias.
 */
const kmsKeyArn = z
    .string()
    .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:/, "must be a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/1234abcd-...")
    .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, "must be the key's ARN (...:key/<key id>), not an alias: an IAM policy grants use of a key through its key ARN only");

/** The region a KMS key ARN names. */
export function kmsKeyRegion(arn: string): string {
    return arn.split(":")[3];
}

/** The AWS Backup rule's default: every day at 02:00 UTC. */
export const defaultBackupSchedule = "cron(0 2 * * ? *)";

/**
 * Why `schedule` is not an AWS Backup schedule expression, or undefined when it
 * is one: `cron(minutes hours day-of-month month day-of-week year)` in AWS's
 * cron dialect, at most hourly (AWS Backup refuses anything more frequent).
 */
export function backupScheduleProblem(schedule: string): string | undefined {
    const expression = /^cron\((.*)\)$/.exec(schedule.trim())?.[1];
    if (expression === undefined) return `'${schedule}' must be cron(minutes hours day-of-month month day-of-week year), e.g. '${defaultBackupSchedule}'`;
    const parsed = cronValidate(expression.trim(), { preset: "aws-cloud-watch" });
    if (parsed.isError()) {
        const reasons = [...new Set(parsed.getError().map((reason) => reason.replace(/\s*\(Input cron: .*\)$/, "")))];
        return `'${schedule}' is not an AWS cron expression: ${reasons.join("; ")}`;
    }
    if (!/^\d+$/.test(parsed.getValue().minutes)) return `'${schedule}' runs more than once an hour; AWS Backup runs a rule at most hourly, so give a single minute`;
    return undefined;
}

const keyAttribute = z.strictObject({
    name: z.string().min(1),
    type: z.enum(["S", "N", "B"]),
});
/** A GSI key may leave out `type` when the attribute is declared by another key of the table. */
const indexKeyAttribute = z.strictObject({
    name: z.string().min(1),
    type: z.enum(["S", "N", "B"]).optional(),
});

const globalSecondaryIndex = z.strictObject({
    name: name.min(3).max(nameBudget.indexName, {
        message: "the index's alarms ({prefix}-{table}-{index}-write-throttles) and a PROVISIONED table's autoscaling policies (tables-{table}-{index}-write-policy and Pulumi's 8-character suffix) must fit 255",
    }),
    hashKey: indexKeyAttribute,
    rangeKey: indexKeyAttribute.optional(),
    projection: z.enum(["ALL", "KEYS_ONLY", "INCLUDE"]).default("ALL"),
    nonKeyAttributes: z.array(z.string().min(1)).optional(),
});

export const tableSpecSchema = z.strictObject({
    name: name.min(1).max(nameBudget.tableName, {
        message: "the table's alarms ({prefix}-{name}-{index}-write-throttles, {prefix}-{name}-replication-latency-{region}) must fit CloudWatch's 255",
    }),
    hashKey: keyAttribute,
    rangeKey: keyAttribute.optional(),
    globalSecondaryIndexes: z.array(globalSecondaryIndex).optional(),
    ttlAttribute: z.string().min(1).optional(),
    stream: z.enum(["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"]).optional(),
    tableClass: z.enum(["STANDARD", "STANDARD_INFREQUENT_ACCESS"]).optional(),
    billingMode: z.enum(["PAY_PER_REQUEST", "PROVISIONED"]).optional(),
    readCapacity: positiveInt.optional(),
    writeCapacity: positiveInt.optional(),
    maxReadCapacity: positiveInt.optional(),
    maxWriteCapacity: positiveInt.optional(),
    /** Tags of the table, over tollgate's own; AWS's tag rules apply (specs/limits.ts). */
    tags: z
        .record(z.string(), z.string())
        .superRefine((tags, context) => {
            const allowed = "use letters, digits, spaces and _ . : / = + - @ only";
            const room = tagLimits.perResource - tollgateTagKeys.length;
            if (Object.keys(tags).length > room) {
                context.addIssue({ code: "custom", message: `at most ${room} tags: AWS allows ${tagLimits.perResource} per resource and tollgate sets ${tollgateTagKeys.length} (${tollgateTagKeys.join(", ")})` });
            }
            for (const [key, value] of Object.entries(tags)) {
                const problem =
                    key.length === 0 || key.length > tagLimits.keyMaxLength
                        ? `a tag key has 1 to ${tagLimits.keyMaxLength} characters`
                        : key.toLowerCase().startsWith(tagLimits.reservedKeyPrefix)
                          ? "keys starting with aws: are reserved for AWS"
                          : !tagLimits.pattern.test(key)
                            ? `key: ${allowed}`
                            : value.length > tagLimits.valueMaxLength
                              ? `a tag value has at most ${tagLimits.valueMaxLength} characters`
                              : !tagLimits.pattern.test(value)
                                ? `value: ${allowed}`
                                : undefined;
                if (problem) context.addIssue({ code: "custom", path: [key], message: problem });
            }
        })
        .optional(),
    /**
     * Regions this table is replicated to (a DynamoDB global table); replaces
     * `tollgate:tables.replicaRegions` for this table, `[]` keeps it regional.
     */
    replicaRegions: z.array(awsRegion).optional(),
});

export const rateLimitPolicySchema = z.strictObject({
    by: z.enum(["ip", "user", "route"]).default("ip"),
    limit: positiveInt,
    windowSeconds: positiveInt.max(86_400),
    algorithm: z.enum(["fixed", "sliding"]).default("fixed"),
});

/** A route's own limit: the default's fields, and a bucket it may share with other routes. */
const routeRateLimitSchema = rateLimitPolicySchema.extend({
    /** Routes naming the same bucket share one counter (and must give the same limit, window, algorithm and key). */
    bucket: name.optional(),
});

const upstreamUrl = z.string().refine((value) => {
    try {
        const url = new URL(value);
        return (url.protocol === "http:" || url.protocol === "https:") && !url.search && !url.hash;
    } catch {
        return false;
    }
}, "must be an http(s) URL without query or fragment");

const routeSchema = z.strictObject({
    name,
    pathPrefix: z
        .string()
        .regex(/^\/([A-Za-z0-9._~!$&'()*+,;=:@-]+(\/[A-Za-z0-9._~!$&'()*+,;=:@-]+)*)?$/, "must start with '/', have no trailing '/', empty or '.'/'..' segments"),
    upstream: upstreamUrl,
    auth: z.enum(["none", "session", "jwt", "any"]).default("session"),
    permissions: z.array(z.string().min(1)).default([]),
    rateLimit: routeRateLimitSchema.optional(),
    sessions: z
        .strictObject({
            issue: z.boolean().default(false),
            returnToken: z.boolean().default(false),
            revoke: z.boolean().default(false),
        })
        .optional(),
    forwardAuthorization: z.boolean().default(false),
    assertionAudience: z.string().min(1).max(256).optional(),
    /**
     * Proxy-control headers the client may send this route's upstream as sent
     * (by lower-case name, from the list the gateway otherwise drops, e.g.
     * `x-http-method-override`); a kept `forwarded` gets the gateway's own element appended.
     */
    keepClientHeaders: z.array(z.enum(proxyControlHeaders)).optional(),
});

const sessionLifetime = positiveInt.max(sessionDefaults.ttlCeilingSeconds, `must be at most ${sessionDefaults.ttlCeilingSeconds} (366 days)`);
const dnsName = z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lower-case DNS name");

/**
 * Every `tollgate:*` key. The doc comment of each is what the README's config
 * table and `Pulumi.yaml` say of it (a test keeps the three in step).
 */
export const configSchema = z.strictObject({
    /** Prefix of every physical resource name (tables are `{prefix}-rate-limits`, ...). */
    prefix: z
        .string()
        .min(1)
        .max(nameBudget.prefix, {
            message: `every name built on it must fit: the backup vault {prefix}-backups and selection {prefix}-tables allow 50, the Lambda and its role {prefix}-gateway 64`,
        })
        .regex(prefixPattern, "use letters, digits, '_' and '-' only: Lambda function, SNS topic, backup vault and dashboard names allow no other character")
        .default("tollgate"),
    /** Environment tag and the name shown on the dashboard, e.g. `dev`, `prod`. */
    environment: name.min(1).max(nameBudget.environment, "it is a tag value").default("dev"),
    /** The gateway Lambda's size. */
    lambda: z
        .strictObject({
            memoryMb: positiveInt.min(128).max(10_240).default(512),
            /**
             * At most 30: the HTTP API waits 30 s for the Lambda and then answers 503
             * itself, while a function with a longer timeout runs on for nobody.
             */
            timeoutSeconds: positiveInt
                .max(httpApiIntegrationTimeoutMs / 1000, {
                    message: `the HTTP API waits ${httpApiIntegrationTimeoutMs / 1000} s for the Lambda and then answers 503 itself while the function runs on`,
                })
                .default(30),
            architecture: z.enum(["arm64", "x86_64"]).default("arm64"),
            /** AWS X-Ray active tracing of the Lambda (a trace per invocation, with the permission to send it). */
            tracing: z.boolean().default(false),
        })
        .prefault({}),
    /** Stage-wide API Gateway throttling; both are always set (an unset one means 0: every request refused). */
    throttle: z
        .strictObject({
            burstLimit: positiveInt.default(5000),
            rateLimit: z.number().positive().default(2000),
        })
        .prefault({}),
    /** CORS of the HTTP API. */
    cors: z
        .strictObject({
            allowOrigins: z.array(z.string().min(1)).default(["*"]),
            allowMethods: z.array(z.string().min(1)).default(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
            allowHeaders: z.array(z.string().min(1)).default(["authorization", "content-type"]),
            exposeHeaders: z.array(z.string().min(1)).default(["ratelimit", "ratelimit-policy", "retry-after", "x-request-id"]),
            allowCredentials: z.boolean().default(false),
            maxAgeSeconds: z.number().int().min(0).max(86_400).default(600),
        })
        .prefault({}),
    /** Retention of the Lambda and access log groups, in days (a CloudWatch-accepted value). */
    logRetentionDays: z
        .number()
        .int()
        .refine((days) => (logRetentionChoices as readonly number[]).includes(days), {
            message: `must be one of ${logRetentionChoices.join(", ")}`,
        })
        .default(7),
    /** Settings every table shares. */
    tables: z
        .strictObject({
            /** Continuous backups with point-in-time restore (35 days), on the table and on every replica. */
            pointInTimeRecovery: z.boolean().default(true),
            /** Refuse DeleteTable (and `pulumi destroy`) on the table and its replicas. */
            deletionProtection: z.boolean().default(false),
            /**
             * Pulumi's `protect` on every table and TableReplica: a deployment that would
             * delete or replace one stops at preview, before anything changes. Default: `deletionProtection`.
             */
            protect: z.boolean().optional(),
            /** Customer-managed KMS key (in the stack's region) for the tables; unset: the AWS-managed `aws/dynamodb` key. */
            kmsKeyArn: kmsKeyArn.optional(),
            /**
             * Regions every table but rate-limits is replicated to, as DynamoDB global
             * tables (streams NEW_AND_OLD_IMAGES, point-in-time recovery on each replica).
             * An app table's own `replicaRegions` replaces this list.
             */
            replicaRegions: z.array(awsRegion).default([]),
            /**
             * KMS key ARN for the replicas in each region, by region. Required for every
             * replica region when `kmsKeyArn` is set: a key serves its own region only.
             */
            replicaKmsKeyArns: z.record(awsRegion, kmsKeyArn).default({}),
        })
        .prefault({}),
    /**
     * AWS Backup of the stack's tables: an encrypted vault, a plan with one rule,
     * an optional copy of each recovery point to a vault in another region.
     */
    backup: z
        .strictObject({
            /** Back the tables up. Default: true when `tollgate:environment` is `prod`, false otherwise. */
            enabled: z.boolean().optional(),
            /** When the rule runs: an AWS cron expression (UTC), at most hourly. */
            schedule: z
                .string()
                .default(defaultBackupSchedule)
                .superRefine((schedule, context) => {
                    const problem = backupScheduleProblem(schedule);
                    if (problem) context.addIssue({ code: "custom", message: problem });
                }),
            /** Days each recovery point (and its copy) is kept before AWS Backup deletes it. */
            retentionDays: positiveInt.max(36_500).default(30),
            /** Region of a second vault every recovery point is copied to; unset: no copy. */
            copyToRegion: awsRegion.optional(),
        })
        .prefault({}),
    /** Application tables, in the same spec shape as the built-in ones. */
    appTables: z.array(tableSpecSchema).default([]),
    /** Routes: path prefix -> upstream, with auth and an optional rate limit of their own. */
    routes: z.array(routeSchema).default([]),
    /** The rate limit of routes that set none. */
    defaultRateLimit: rateLimitPolicySchema.prefault({ limit: 100, windowSeconds: 60 }),
    /** Custom domain: ACM certificate (DNS-validated in the zone, or an existing one) and Route53 alias records. */
    domain: z
        .strictObject({
            name: z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lower-case DNS name"),
            hostedZoneId: z.string().regex(/^Z[A-Z0-9]+$/, "must be a Route53 hosted zone id"),
            certificateArn: z.string().regex(/^arn:aws[a-z-]*:acm:/, "must be an ACM certificate ARN").optional(),
        })
        .optional(),
    /** Email address subscribed to the alarm topic. */
    alarmEmail: z.email().optional(),
    /**
     * Customer-managed KMS key (in the stack's region) for every Secrets Manager secret
     * the gateway holds (the JWT key, ...). Default: `tables.kmsKeyArn`; with neither,
     * the AWS-managed `aws/secretsmanager` key.
     */
    secretsKmsKeyArn: kmsKeyArn.optional(),
    /** HS256 secret for JWT routes; stored in Secrets Manager. Unset: a random 64-character secret is generated there. */
    jwtSecret: z.string().min(32, "must be at least 32 characters (HS256 wants 256 bits)").optional(),
    /** JWT checks on `jwt` and `any` routes (issuer and audience are required once a route takes JWTs), and a JWKS URL to accept RS256 tokens. */
    jwt: z
        .strictObject({
            /** The `iss` every JWT must carry; required when a route has auth `jwt` or `any`. */
            issuer: z.string().min(1).optional(),
            /** The `aud` every JWT must name; required when a route has auth `jwt` or `any`. */
            audience: z.string().min(1).optional(),
            jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
            /** Longest lifetime (`exp - iat`) a token may have; tokens without `iat` are refused. */
            maxLifetimeSeconds: positiveInt.max(31_536_000).default(86_400),
            /** Whether OAuth scopes (`scope`, `scp`) count as permissions. */
            scopesAsPermissions: z.boolean().default(false),
        })
        .prefault({}),
    /**
     * What the gateway tells upstreams about the caller: a signed assertion
     * (`x-gateway-assertion`, verifiable with the JWKS at `/.well-known/jwks.json`)
     * and the plain `x-gateway-user-id/roles/permissions` headers.
     */
    identity: z
        .strictObject({
            /** Sign `x-gateway-assertion` (ES256, about a minute) on every proxied request. */
            assertion: z.boolean().default(true),
            /** Also send `x-gateway-user-id`, `x-gateway-roles` and `x-gateway-permissions`. */
            headers: z.boolean().default(true),
            /** The assertion's `iss`; unset: `https://<domain.name>` with a custom domain, else `urn:tollgate:<prefix>`. */
            issuer: z.string().min(1).max(256).optional(),
            /** The signing key's generation; raise it by one to rotate the key (the previous one stays in the JWKS). */
            keyGeneration: positiveInt.max(10_000).default(1),
            /**
             * Seconds a container reuses an assertion it signed for the same caller, route and claims, 0 to 30
             * (an assertion lives 60 s, and is never reused with less than 30 s of it left); 0 signs one per request.
             */
            assertionReuseSeconds: z.number().int().min(0).max(assertionReuseCeilingSeconds).default(assertionReuseCeilingSeconds),
        })
        .prefault({}),
    /** Place the Lambda in a VPC: a new one (`enabled`), or subnets and security groups of an existing one. */
    vpc: z
        .strictObject({
            enabled: z.boolean().default(false),
            natGateways: z.number().int().min(0).max(3).default(1),
            subnetIds: z
                .array(z.string().regex(/^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, "must be a subnet id such as subnet-0123456789abcdef0"))
                .min(1)
                .max(lambdaVpcLimits.subnets, `a Lambda function takes at most ${lambdaVpcLimits.subnets} subnets`)
                .optional(),
            securityGroupIds: z
                .array(z.string().regex(/^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, "must be a security group id such as sg-0123456789abcdef0"))
                .min(1)
                .max(lambdaVpcLimits.securityGroups, `a Lambda function takes at most ${lambdaVpcLimits.securityGroups} security groups`)
                .optional(),
        })
        .prefault({}),
    /** Seconds a Lambda container may serve a session from memory; revocation takes effect within this time. */
    sessionCacheSeconds: z.number().int().min(0).max(3600).default(0),
    /** Sessions the gateway issues for upstreams: the cookie's attributes, lifetimes, and rolling renewal. */
    sessions: z
        .strictObject({
            /**
             * Attributes of the session cookie; it is always HttpOnly, and Secure wherever the gateway is deployed,
             * where it is `__Host-session`, or `__Secure-session` with a `domain` or a `path` other than `/`.
             */
            cookie: z
                .strictObject({
                    sameSite: z.enum(["Strict", "Lax", "None"]).default("Lax"),
                    path: z
                        .string()
                        .regex(/^\/[A-Za-z0-9\-._~!$&'()*+,=:@\/%]*$/, "must start with '/' and hold only URL path characters (no ';', spaces or control characters)")
                        .default("/"),
                    domain: dnsName.optional(),
                })
                .prefault({}),
            /** A session with less life left than this is moved one TTL later on its next request; 0 turns renewal off. */
            renewWithinSeconds: z.number().int().min(0).max(sessionDefaults.ttlCeilingSeconds).default(sessionDefaults.renewWithinSeconds),
            /** Lifetime of an issued session whose upstream gives no `ttlSeconds`. */
            defaultTtlSeconds: sessionLifetime.default(sessionDefaults.defaultTtlSeconds),
            /** The longest `ttlSeconds` an upstream may ask for; a longer one is refused (502) and nothing is created. */
            maxTtlSeconds: sessionLifetime.default(sessionDefaults.maxTtlSeconds),
            /** The longest a session lives from its login, renewals included (renewal stops there). */
            maxLifetimeSeconds: sessionLifetime.default(sessionDefaults.maxLifetimeSeconds),
        })
        .prefault({}),
    /** What the limiter does when DynamoDB fails: `open` admits, `closed` refuses with 503. */
    rateLimitFailureMode: z.enum(["open", "closed"]).default("open"),
    /**
     * `by: ip` counts an IPv6 client by this many leading bits of its address, 32 to 128
     * (one subscriber holds a whole /64); 128 counts each address. IPv4 clients count by address.
     */
    rateLimitIpv6PrefixLength: z.number().int().min(32).max(128).default(defaultIpv6PrefixLength),
    /**
     * Upstream request timeout in milliseconds; below the Lambda timeout, and at
     * most 27000 so the gateway's 504 reaches the client within the HTTP API's 30 s.
     */
    upstreamTimeoutMs: positiveInt
        .max(maxUpstreamTimeoutMs, {
            message: `the HTTP API waits ${httpApiIntegrationTimeoutMs / 1000} s in all, and the gateway keeps ${gatewayReserveMs} ms of it to rate-limit, authenticate and answer 504 before API Gateway answers 503 itself`,
        })
        .default(10_000),
    /** Log level of the gateway Lambda. */
    logLevel: z.enum(["DEBUG", "INFO", "WARN", "ERROR"]).default("INFO"),
    /**
     * Share of successful requests (INFO lines) whose log line the gateway writes, 0 to 1.
     * Refusals, errors and authentication failures are always written.
     */
    logSampleRate: z.number().min(0).max(1).default(1),
});

export type TollgateConfigInput = z.input<typeof configSchema>;

/** A type with every `pulumi.Input` narrowed to its plain value: what a stack file can hold. */
type Prompt<T> = T extends Promise<unknown> | OutputInstance<unknown>
    ? never
    : T extends readonly (infer E)[]
      ? Prompt<E>[]
      : T extends object
        ? { [K in keyof T]: Prompt<T[K]> }
        : T;
type Same<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

/**
 * The Tollgate component's args (specs/args.ts) are this schema's keys, fields,
 * types and choices exactly: a difference fails the build here.
 */
export const argsMatchTheSchema: Same<Prompt<TollgateConfig>, TollgateConfigInput> = true;

/**
 * What the schema fills in for a stack that sets nothing: every key's default.
 * The components take their defaults from here, so a component used outside
 * index.ts gets what a stack leaving the key out gets. A fresh copy each call:
 * its arrays end up in resource arguments, which a transform may edit in place.
 */
export function configDefaults(): z.output<typeof configSchema> {
    return configSchema.parse({});
}

/** Validated settings, defaults applied; what the components and the runtime read. */
export interface TollgateSettings extends Omit<z.output<typeof configSchema>, "appTables" | "routes" | "defaultRateLimit" | "backup" | "tables"> {
    appTables: TableSpec[];
    routes: RouteSpec[];
    defaultRateLimit: RateLimitPolicy;
    /** `protect` resolved from `deletionProtection` when the stack leaves it out. */
    tables: Omit<z.output<typeof configSchema>["tables"], "protect"> & { protect: boolean };
    /** `enabled` resolved from the environment when the stack leaves it out. */
    backup: Omit<z.output<typeof configSchema>["backup"], "enabled"> & { enabled: boolean };
}

/** What resolveSettings checks beyond the `tollgate:*` keys themselves. */
export interface SettingsContext {
    /** The stack's `aws:region`: no replica or backup copy may be in it. */
    region?: string;
    /**
     * Who reads the settings: `deploy` (the program, the policy check) refuses
     * what only works on this machine, such as a loopback upstream; `local`
     * (`npm start`, the sessions and data commands) accepts it. Default `deploy`.
     */
    purpose?: "deploy" | "local";
    /**
     * How problems name what they are about: `config` as stack config keys
     * (`tollgate:routes[login].auth`, a list entry by its name where it is
     * unique), `args` as the Tollgate component's arg paths (`routes[0].auth`).
     * Default `config`.
     */
    keys?: "config" | "args";
}

/** Config keys whose value is a plain string (not JSON) when it comes from `pulumi.Config`. */
export const stringKeys = new Set(["prefix", "environment", "alarmEmail", "secretsKmsKeyArn", "jwtSecret", "rateLimitFailureMode", "logLevel"]);

export class ConfigError extends Error {
    constructor(
        readonly problems: string[],
        heading = "invalid tollgate configuration",
    ) {
        super(`${heading}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/** Problems as the context names keys: stack config keys, or the component's arg paths. */
function settingsError(problems: string[], raw: Record<string, unknown>, context: SettingsContext): ConfigError {
    if (context.keys === "args") {
        return new ConfigError(
            problems.map((problem) => problem.replace(new RegExp(`\\b${configNamespace}:(?=[A-Za-z])`, "g"), "")),
            "invalid Tollgate args",
        );
    }
    return new ConfigError(nameEntries(problems, raw));
}

function keyPath(path: readonly PropertyKey[]): string {
    let text = `${configNamespace}:`;
    path.forEach((part, i) => {
        if (typeof part === "number") text += `[${part}]`;
        else text += i === 0 ? String(part) : `.${String(part)}`;
    });
    return text;
}

/**
 * Turns raw `tollgate:*` values (namespace stripped: `{ routes: [...] }`) into
 * settings, or throws a ConfigError listing every problem with its key.
 */
export function resolveSettings(raw: Record<string, unknown>, context: SettingsContext = {}): TollgateSettings {
    const parsed = configSchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
        throw settingsError(
            parsed.error.issues.flatMap((issue) => formatIssue(issue, context)),
            raw,
            context,
        );
    }
    const config = parsed.data;
    const problems: string[] = [];
    const appTables = config.appTables.map((table, i) => normaliseTableSpec(table, `appTables[${i}]`, problems));
    checkTableNames(appTables, problems);
    checkAlarmNames(appTables, config.tables.replicaRegions, problems);
    checkReplication(config.tables, appTables, context, problems);
    checkRoutes(config.routes, problems);
    if (config.sessions.defaultTtlSeconds > config.sessions.maxTtlSeconds) {
        problems.push(`${configNamespace}:sessions.defaultTtlSeconds: ${config.sessions.defaultTtlSeconds} is above sessions.maxTtlSeconds (${config.sessions.maxTtlSeconds})`);
    }
    if ((context.purpose ?? "deploy") === "deploy") checkDeployableUpstreams(config.routes, problems);
    checkJwt(config.jwt, config.routes, problems);
    if (config.upstreamTimeoutMs >= config.lambda.timeoutSeconds * 1000) {
        problems.push(
            `${configNamespace}:upstreamTimeoutMs: ${config.upstreamTimeoutMs} must be below the Lambda timeout (tollgate:lambda.timeoutSeconds = ${config.lambda.timeoutSeconds} s); lower it, or raise the Lambda timeout (up to ${httpApiIntegrationTimeoutMs / 1000} s)`,
        );
    }
    if (config.cors.allowCredentials && config.cors.allowOrigins.includes("*")) {
        problems.push(`${configNamespace}:cors.allowCredentials: cannot be true while allowOrigins contains '*' (API Gateway refuses the pair); list the origins`);
    }
    checkVpc(config.vpc, problems);
    checkKeyRegions(config, context, problems);
    const certificateRegion = config.domain?.certificateArn?.split(":")[3];
    if (context.region && certificateRegion && certificateRegion !== context.region) {
        problems.push(
            `${configNamespace}:domain.certificateArn: the certificate is in '${certificateRegion}', and a regional API domain takes one from the stack's region '${context.region}' (aws:region); import or request it there, or leave certificateArn out to have one issued`,
        );
    }
    if (config.backup.copyToRegion !== undefined && config.backup.copyToRegion === context.region) {
        problems.push(`${configNamespace}:backup.copyToRegion: '${context.region}' is the stack's own region (aws:region); a copy there survives nothing the original does not`);
    }
    if (problems.length > 0) throw settingsError(problems, raw, context);
    const backup = { ...config.backup, enabled: config.backup.enabled ?? config.environment === "prod" };
    const tables = { ...config.tables, protect: config.tables.protect ?? config.tables.deletionProtection };
    const secretsKmsKeyArn = config.secretsKmsKeyArn ?? config.tables.kmsKeyArn;
    return { ...config, appTables, backup, tables, secretsKmsKeyArn, routes: config.routes as RouteSpec[] };
}

/** A new VPC, or an existing one's subnets with its security groups: not both, and not half of the second. */
function checkVpc(vpc: z.output<typeof configSchema>["vpc"], problems: string[]) {
    if (vpc.enabled && vpc.natGateways < 1) {
        problems.push(`${configNamespace}:vpc.natGateways: must be at least 1 when the VPC is enabled (upstreams are reached through NAT)`);
    }
    if (vpc.enabled && vpc.subnetIds !== undefined) {
        problems.push(`${configNamespace}:vpc.subnetIds: the Lambda runs either in a new VPC (vpc.enabled) or in these subnets of an existing one; set one of the two`);
    }
    if (vpc.subnetIds !== undefined && vpc.securityGroupIds === undefined) {
        problems.push(`${configNamespace}:vpc.securityGroupIds: required with vpc.subnetIds (the Lambda's network interfaces in those subnets need security groups)`);
    }
    if (vpc.securityGroupIds !== undefined && vpc.subnetIds === undefined) {
        problems.push(`${configNamespace}:vpc.subnetIds: required with vpc.securityGroupIds (the subnets of the existing VPC the Lambda runs in)`);
    }
}

/** The tables' and the secrets' customer keys live where the tables and the secrets do: in the stack's region. */
function checkKeyRegions(config: z.output<typeof configSchema>, context: SettingsContext, problems: string[]) {
    if (!context.region) return;
    const keys: [string, string | undefined, string][] = [
        ["tables.kmsKeyArn", config.tables.kmsKeyArn, "the tables"],
        ["secretsKmsKeyArn", config.secretsKmsKeyArn, "the gateway's secrets"],
    ];
    for (const [key, arn, what] of keys) {
        if (arn && kmsKeyRegion(arn) !== context.region) {
            problems.push(`${configNamespace}:${key}: the key is in '${kmsKeyRegion(arn)}', and ${what} are in the stack's region '${context.region}' (aws:region); a KMS key serves its own region only, so give a key there`);
        }
    }
}

/**
 * Replicas: regions other than the stack's, each once; a stream view a global
 * table can use; and, with a customer key, a key in each replica's region.
 */
function checkReplication(tables: z.output<typeof configSchema>["tables"], appTables: TableSpec[], context: SettingsContext, problems: string[]) {
    const checkRegions = (regions: readonly string[], key: string) => {
        const seen = new Set<string>();
        regions.forEach((region, i) => {
            if (region === context.region) problems.push(`${configNamespace}:${key}[${i}]: '${region}' is the stack's own region (aws:region), where the table already is`);
            else if (seen.has(region)) problems.push(`${configNamespace}:${key}[${i}]: '${region}' is listed twice`);
            seen.add(region);
        });
    };
    checkRegions(tables.replicaRegions, "tables.replicaRegions");
    const replicated = new Set<string>(builtInTables.flatMap((spec) => replicaRegionsOf(spec, tables.replicaRegions)));
    appTables.forEach((table, i) => {
        if (table.replicaRegions) checkRegions(table.replicaRegions, `appTables[${i}].replicaRegions`);
        const regions = replicaRegionsOf(table, tables.replicaRegions);
        regions.forEach((region) => replicated.add(region));
        if (regions.length > 0 && table.stream !== undefined && table.stream !== "NEW_AND_OLD_IMAGES") {
            problems.push(
                `${configNamespace}:appTables[${i}].stream: '${table.name}' is replicated to ${regions.join(", ")}, and a global table streams NEW_AND_OLD_IMAGES; remove stream or set it to NEW_AND_OLD_IMAGES`,
            );
        }
    });
    const keyRegions = Object.keys(tables.replicaKmsKeyArns);
    if (tables.kmsKeyArn === undefined && keyRegions.length > 0) {
        problems.push(`${configNamespace}:tables.replicaKmsKeyArns: only used with tables.kmsKeyArn; without it every replica uses the AWS-managed key of its region`);
    }
    for (const region of keyRegions) {
        const keyRegion = tables.replicaKmsKeyArns[region].split(":")[3];
        if (keyRegion !== region) problems.push(`${configNamespace}:tables.replicaKmsKeyArns.${region}: the key is in '${keyRegion}'; a replica in ${region} needs a key in ${region}`);
    }
    if (tables.kmsKeyArn !== undefined) {
        for (const region of replicated) {
            if (!tables.replicaKmsKeyArns[region]) {
                problems.push(`${configNamespace}:tables.replicaKmsKeyArns: no key for replica region '${region}'; tables.kmsKeyArn is set, and a replica is encrypted with a key in its own region`);
            }
        }
    }
}

/**
 * One schema issue as a sentence a user can act on: the key, what it must be,
 * and what it got. Missing keys are "required"; an unknown key names the
 * closest known one.
 */
function formatIssue(issue: z.core.$ZodIssue, context: SettingsContext): string | string[] {
    const where = keyPath(issue.path);
    const got = "input" in issue && issue.input !== undefined ? `, got ${showValue(issue.input)}` : "";
    switch (issue.code) {
        case "unrecognized_keys":
            return issue.keys.map((key) => unknownKeyProblem(issue.path, key, context));
        case "invalid_type":
            if (issue.input === undefined) return `${where}: required`;
            return `${where}: must be ${describeType(issue.expected)}${got}`;
        case "invalid_value": {
            const choices = issue.values.map((value) => String(value));
            const suggestion = typeof issue.input === "string" ? closestName(issue.input, choices) : undefined;
            return `${where}: must be one of ${choices.join(", ")}${got}${suggestion ? ` (did you mean '${suggestion}'?)` : ""}`;
        }
        case "too_big":
        case "too_small": {
            const bound = issue.code === "too_big" ? `at most ${issue.maximum}` : `at least ${issue.minimum}`;
            const unit = issue.origin === "string" ? " characters" : issue.origin === "array" ? " entries" : "";
            // A bound AWS sets carries its reason and what to do (specs/limits.ts); zod's own words do not.
            const why = /^(Too (big|small)\b|must be )/.test(issue.message) ? "" : `; ${issue.message}`;
            return `${where}: must be ${bound}${unit}${issue.origin === "number" || issue.origin === "int" ? got : ""}${why}`;
        }
        case "invalid_format":
            return `${where}: ${/^Invalid /.test(issue.message) ? `must be ${issue.format === "url" ? "a URL" : `a valid ${issue.format}`}` : issue.message}${got}`;
        default:
            return `${where}: ${issue.message}`;
    }
}

function describeType(expected: string): string {
    const words: Record<string, string> = {
        int: "a whole number",
        number: "a number",
        string: "a string",
        boolean: "true or false",
        array: "a list",
        object: "an object (key: value pairs)",
        record: "an object (key: value pairs)",
    };
    return words[expected] ?? expected;
}

function showValue(value: unknown): string {
    const text = typeof value === "string" ? `'${value}'` : JSON.stringify(value) ?? String(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The keys the schema knows at a path (through lists, defaults and optionals), or undefined. */
function knownKeysAt(path: readonly PropertyKey[]): string[] | undefined {
    let schema: z.core.$ZodType = configSchema;
    const unwrap = () => {
        for (;;) {
            if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodOptional) schema = schema.unwrap();
            else if (schema instanceof z.ZodPipe) schema = schema.in;
            else return;
        }
    };
    for (const part of path) {
        unwrap();
        if (typeof part === "number" && schema instanceof z.ZodArray) schema = schema.element;
        else if (typeof part === "string" && schema instanceof z.ZodObject && part in schema.shape) schema = schema.shape[part];
        else return undefined;
    }
    unwrap();
    return schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined;
}

function unknownKeyProblem(path: readonly PropertyKey[], key: string, context: SettingsContext): string {
    const where = keyPath([...path, key]);
    const known = knownKeysAt(path) ?? [];
    // `pulumi config set tollgate:lambda.memoryMb 512` (without --path) makes a top-level key with a dot in its name.
    const [head, ...rest] = key.split(".");
    if (context.keys !== "args" && path.length === 0 && rest.length > 0 && known.includes(head)) {
        return `${where}: unknown key; to set the field '${rest.join(".")}' of tollgate:${head}, use pulumi config set --path '${configNamespace}:${key}' VALUE`;
    }
    const suggestion = closestName(key, known);
    if (suggestion) return `${where}: unknown key; did you mean '${suggestion}'?`;
    return `${where}: unknown key (known here: ${known.join(", ")})`;
}

/**
 * Names list entries by their `name` where it is unique
 * (`tollgate:routes[login].rateLimit.limit`), which a user finds in the stack
 * file faster than an index; entries without one, or sharing it, keep theirs.
 */
function nameEntries(problems: string[], raw: Record<string, unknown>): string[] {
    const nameOf = (list: string, index: number): string | undefined => {
        const entries = raw[list];
        if (!Array.isArray(entries)) return undefined;
        const name = (entries[index] as { name?: unknown } | undefined)?.name;
        if (typeof name !== "string" || !/^[A-Za-z0-9_.-]+$/.test(name)) return undefined;
        return entries.filter((entry) => (entry as { name?: unknown } | undefined)?.name === name).length === 1 ? name : undefined;
    };
    return problems.map((problem) =>
        problem.replace(new RegExp(`${configNamespace}:(routes|appTables)\\[(\\d+)\\]`, "g"), (whole, list: string, index: string) => {
            const name = nameOf(list, Number(index));
            return name ? `${configNamespace}:${list}[${name}]` : whole;
        }),
    );
}

/** Fills each GSI key's type from the table's other keys and checks the spec hangs together. */
export function normaliseTableSpec(table: z.output<typeof tableSpecSchema>, at: string, problems: string[]): TableSpec {
    const where = (field: string) => `${configNamespace}:${at}.${field}`;
    const declared = new Map<string, "S" | "N" | "B">();
    const declare = (attribute: { name: string; type?: "S" | "N" | "B" }, field: string) => {
        if (!attribute.type) return;
        const known = declared.get(attribute.name);
        if (known && known !== attribute.type) {
            problems.push(`${where(field)}.type: attribute '${attribute.name}' is declared as ${known} elsewhere in this table`);
        }
        declared.set(attribute.name, attribute.type);
    };
    declare(table.hashKey, "hashKey");
    if (table.rangeKey) declare(table.rangeKey, "rangeKey");
    const indexes = table.globalSecondaryIndexes ?? [];
    indexes.forEach((index, i) => {
        declare(index.hashKey, `globalSecondaryIndexes[${i}].hashKey`);
        if (index.rangeKey) declare(index.rangeKey, `globalSecondaryIndexes[${i}].rangeKey`);
    });
    const resolveKey = (attribute: { name: string; type?: "S" | "N" | "B" }, field: string) => {
        const type = attribute.type ?? declared.get(attribute.name);
        if (!type) {
            problems.push(`${where(field)}: attribute '${attribute.name}' is not declared; give it a type (S, N or B) or use a key attribute of the table`);
        }
        return { name: attribute.name, type: type ?? "S" };
    };
    const seenIndexNames = new Set<string>();
    const globalSecondaryIndexes = indexes.map((index, i) => {
        if (seenIndexNames.has(index.name)) problems.push(`${where(`globalSecondaryIndexes[${i}].name`)}: duplicate index name '${index.name}'`);
        seenIndexNames.add(index.name);
        if (index.projection === "INCLUDE" && !index.nonKeyAttributes?.length) {
            problems.push(`${where(`globalSecondaryIndexes[${i}].nonKeyAttributes`)}: required when projection is INCLUDE`);
        }
        if (index.projection !== "INCLUDE" && index.nonKeyAttributes?.length) {
            problems.push(`${where(`globalSecondaryIndexes[${i}].nonKeyAttributes`)}: only allowed when projection is INCLUDE`);
        }
        return {
            ...index,
            hashKey: resolveKey(index.hashKey, `globalSecondaryIndexes[${i}].hashKey`),
            rangeKey: index.rangeKey ? resolveKey(index.rangeKey, `globalSecondaryIndexes[${i}].rangeKey`) : undefined,
        };
    });
    const provisioned = table.billingMode === "PROVISIONED";
    for (const field of ["readCapacity", "writeCapacity"] as const) {
        if (provisioned && table[field] === undefined) problems.push(`${where(field)}: required when billingMode is PROVISIONED`);
    }
    for (const field of ["readCapacity", "writeCapacity", "maxReadCapacity", "maxWriteCapacity"] as const) {
        if (!provisioned && table[field] !== undefined) problems.push(`${where(field)}: only allowed when billingMode is PROVISIONED`);
    }
    if (provisioned) {
        if (table.maxReadCapacity !== undefined && table.readCapacity !== undefined && table.maxReadCapacity < table.readCapacity) {
            problems.push(`${where("maxReadCapacity")}: must be at least readCapacity (${table.readCapacity})`);
        }
        if (table.maxWriteCapacity !== undefined && table.writeCapacity !== undefined && table.maxWriteCapacity < table.writeCapacity) {
            problems.push(`${where("maxWriteCapacity")}: must be at least writeCapacity (${table.writeCapacity})`);
        }
    }
    if (table.ttlAttribute && declared.get(table.ttlAttribute) && declared.get(table.ttlAttribute) !== "N") {
        problems.push(`${where("ttlAttribute")}: '${table.ttlAttribute}' is a key of type ${declared.get(table.ttlAttribute)}; TTL needs epoch seconds (N)`);
    }
    const spec: TableSpec = { ...table, globalSecondaryIndexes: indexes.length ? globalSecondaryIndexes : undefined };
    if (!spec.globalSecondaryIndexes) delete spec.globalSecondaryIndexes;
    return spec;
}

function checkTableNames(appTables: TableSpec[], problems: string[]) {
    const builtIn = new Set(builtInTables.map((t) => t.name));
    const seen = new Set<string>();
    appTables.forEach((table, i) => {
        if (builtIn.has(table.name)) problems.push(`${configNamespace}:appTables[${i}].name: '${table.name}' is a built-in table`);
        else if (seen.has(table.name)) problems.push(`${configNamespace}:appTables[${i}].name: duplicate table name '${table.name}'`);
        seen.add(table.name);
    });
}

/** Each table's alarms are named after it and its indexes; no two tables may come to the same name. */
function checkAlarmNames(appTables: TableSpec[], stackWideRegions: readonly string[], problems: string[]) {
    const shared = sharedAlarmName([...builtInTables, ...appTables], stackWideRegions);
    if (!shared) return;
    const index = appTables.findIndex((table) => table.name === shared.second);
    problems.push(
        `${configNamespace}:appTables[${index}].name: the alarm {prefix}-${shared.alarm} would be both this table's and table '${shared.first}''s (a table's alarms are {prefix}-{table}-read-throttles, ..., and {prefix}-{table}-{index}-read-throttles for each index); rename a table or an index`,
    );
}

function checkRoutes(routes: z.output<typeof routeSchema>[], problems: string[]) {
    const names = new Set<string>();
    /** Each prefix as the server stacks read a path (runtime/steps/route.ts chooses routes on that reading) -> the prefix. */
    const prefixes = new Map<string, string>();
    routes.forEach((route, i) => {
        const segments = route.pathPrefix.split("/").filter(Boolean);
        const asRead = "/" + segments.map(segmentAsRead).join("/");
        if (names.has(route.name)) problems.push(`${configNamespace}:routes[${i}].name: duplicate route name '${route.name}'`);
        if (prefixes.get(asRead) === route.pathPrefix) problems.push(`${configNamespace}:routes[${i}].pathPrefix: '${route.pathPrefix}' is already used by another route`);
        else if (prefixes.has(asRead)) {
            problems.push(`${configNamespace}:routes[${i}].pathPrefix: '${route.pathPrefix}' differs from '${prefixes.get(asRead)}' only in case, and routes are chosen case-insensitively, as the server stacks behind them read paths`);
        }
        const unread = segments.find((segment) => segment.includes(";") || /[.]$/.test(segment));
        if (unread !== undefined) {
            problems.push(
                `${configNamespace}:routes[${i}].pathPrefix: segment '${unread}' ${unread.includes(";") ? "holds ';', which starts path parameters that Tomcat, Jetty and Spring remove" : "ends with '.', which IIS and ASP.NET remove"}; no request could be read as it`,
            );
        }
        if (route.pathPrefix === "/health" || route.pathPrefix.startsWith("/health/")) {
            problems.push(`${configNamespace}:routes[${i}].pathPrefix: '/health' is answered by the gateway itself`);
        }
        if (route.auth === "none" && route.permissions.length > 0) {
            problems.push(`${configNamespace}:routes[${i}].permissions: a route with auth 'none' has no caller to hold permissions`);
        }
        if (route.pathPrefix === selfServicePath || route.pathPrefix.startsWith(`${selfServicePath}/`)) {
            problems.push(`${configNamespace}:routes[${i}].pathPrefix: '${selfServicePath}' is answered by the gateway itself (the caller's own sessions)`);
        }
        if (route.sessions?.returnToken && !route.sessions.issue) {
            problems.push(`${configNamespace}:routes[${i}].sessions.returnToken: only with issue: true (it returns the token of a session the route issues)`);
        }
        if (route.sessions?.revoke && route.auth === "none") {
            problems.push(`${configNamespace}:routes[${i}].sessions.revoke: ending a session needs to know whose it is; give the route auth session, jwt or any`);
        }
        names.add(route.name);
        if (!prefixes.has(asRead)) prefixes.set(asRead, route.pathPrefix);
    });
    checkBuckets(routes, problems);
}

/** The routes of a bucket share one counter, so they must agree on what it counts and allows. */
function checkBuckets(routes: z.output<typeof routeSchema>[], problems: string[]) {
    const first = new Map<string, { index: number; policy: z.output<typeof routeRateLimitSchema> }>();
    routes.forEach((route, i) => {
        const policy = route.rateLimit;
        if (policy?.bucket === undefined) return;
        const at = `${configNamespace}:routes[${i}].rateLimit`;
        if (policy.by === "route") {
            problems.push(`${at}.bucket: by 'route' counts each route on its own, so it cannot share bucket '${policy.bucket}'; use by 'ip' or 'user'`);
            return;
        }
        const earlier = first.get(policy.bucket);
        if (!earlier) {
            first.set(policy.bucket, { index: i, policy });
            return;
        }
        for (const field of ["limit", "windowSeconds", "algorithm", "by"] as const) {
            if (policy[field] !== earlier.policy[field]) {
                problems.push(
                    `${at}.${field}: ${JSON.stringify(policy[field])} differs from route '${routes[earlier.index].name}', which shares bucket '${policy.bucket}' with ${JSON.stringify(earlier.policy[field])}; routes of a bucket give the same ${field}`,
                );
            }
        }
    });
}

function checkDeployableUpstreams(routes: z.output<typeof routeSchema>[], problems: string[]) {
    routes.forEach((route, i) => {
        if (isLoopbackUrl(route.upstream)) {
            problems.push(
                `${configNamespace}:routes[${i}].upstream: '${route.upstream}' is on this machine, which a deployed Lambda cannot reach; give the service's public or VPC address (npm start proxies to a loopback upstream as written, or use npm start -- --upstream ${route.name}=URL)`,
            );
        }
    });
}

/** JWTs fail closed: a stack whose routes take them says whose tokens (issuer) for whom (audience) it accepts. */
function checkJwt(jwt: z.output<typeof configSchema>["jwt"], routes: z.output<typeof routeSchema>[], problems: string[]) {
    const takingJwts = routes.filter((route) => route.auth === "jwt" || route.auth === "any").map((route) => route.name);
    if (takingJwts.length === 0) return;
    for (const field of ["issuer", "audience"] as const) {
        if (jwt[field] === undefined) {
            problems.push(
                `${configNamespace}:jwt.${field}: required because route${takingJwts.length > 1 ? "s" : ""} ${takingJwts.map((name) => `'${name}'`).join(", ")} accept${takingJwts.length > 1 ? "" : "s"} JWTs; without it a token ${field === "issuer" ? "from any issuer" : "meant for any audience"} would be accepted`,
            );
        }
    }
}

/**
 * Raw values as `pulumi.Config` hands them over: strings, with structured
 * values as JSON. Parses each into the shape `resolveSettings` takes; a value
 * that is not valid JSON is reported against its key.
 */
export function parsePulumiConfigValues(values: Record<string, string>): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const [fullKey, text] of Object.entries(values)) {
        const [namespace, key] = fullKey.includes(":") ? fullKey.split(/:(.*)/s, 2) : [configNamespace, fullKey];
        if (namespace !== configNamespace) continue;
        if (!(key in configSchema.shape)) {
            // Left for the schema to report as an unknown key, whatever its value looks like.
            raw[key] = text;
            continue;
        }
        if (stringKeys.has(key)) {
            // Pulumi.yaml declares optional string keys with an empty default: empty means unset.
            if (text !== "") raw[key] = text;
            continue;
        }
        try {
            raw[key] = JSON.parse(text);
        } catch {
            problems.push(`${configNamespace}:${key}: must be ${describeExpected(key as keyof typeof configSchema.shape)}, got '${text}'`);
        }
    }
    if (problems.length) throw new ConfigError(problems);
    return raw;
}

/** What a key's value must be, in words, read off its schema: `an integer`, `a list`, ... */
function describeExpected(key: keyof typeof configSchema.shape): string {
    let schema: z.core.$ZodType = configSchema.shape[key];
    while (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodOptional) schema = schema.unwrap();
    if (schema instanceof z.ZodNumber) return describeType(schema.isInt ? "int" : "number");
    if (schema instanceof z.ZodBoolean) return describeType("boolean");
    if (schema instanceof z.ZodArray) return describeType("array");
    if (schema instanceof z.ZodObject) return describeType("object");
    return "a JSON value";
}

/** The keys of the schema, in declaration order. */
export const configKeys = Object.keys(configSchema.shape) as (keyof TollgateConfigInput)[];
