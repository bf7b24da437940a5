/**
 * The `Tollgate` component's args: the `tollgate:*` config keys without the
 * namespace, as TypeScript interfaces. They are what a TypeScript program
 * writes, and what Pulumi's schema inference reads to give the component to
 * every other Pulumi language, so each nested object is a named interface and
 * each choice an `as const` object (the forms the inference understands).
 *
 * The validation and the defaults are the config schema's (specs/config.ts):
 * one definition with two readers, the stack config and these args. A
 * compile-time check there fails the build if a key, a field or a choice here
 * differs from the schema. A field a program may feed from another resource
 * is a `pulumi.Input`: it is validated once it resolves.
 */
import type * as pulumi from "@pulumi/pulumi";

/** Who may call a route. */
export const RouteAuth = {
    /** Anyone: no credential is read. */
    None: "none",
    /** A session token (cookie or bearer) from the sessions table. */
    Session: "session",
    /** A JWT from `jwt.issuer` for `jwt.audience`. */
    Jwt: "jwt",
    /** A session or a JWT. */
    Any: "any",
} as const;
export type RouteAuth = (typeof RouteAuth)[keyof typeof RouteAuth];

/** What a rate-limit counter is kept per. */
export const RateLimitBy = {
    /** The client's address (an IPv6 client by its prefix). */
    Ip: "ip",
    /** The authenticated user (the client's address for anonymous requests). */
    User: "user",
    /** The route: one counter for all its callers. */
    Route: "route",
} as const;
export type RateLimitBy = (typeof RateLimitBy)[keyof typeof RateLimitBy];

/** How a window counts. */
export const RateLimitAlgorithm = {
    /** One counter per window. */
    Fixed: "fixed",
    /** The current window plus the previous one weighted by how much of it is still in view. */
    Sliding: "sliding",
} as const;
export type RateLimitAlgorithm = (typeof RateLimitAlgorithm)[keyof typeof RateLimitAlgorithm];

/** What the limiter does when DynamoDB fails. */
export const RateLimitFailureMode = {
    /** Admit the request. */
    Open: "open",
    /** Refuse it with 503. */
    Closed: "closed",
} as const;
export type RateLimitFailureMode = (typeof RateLimitFailureMode)[keyof typeof RateLimitFailureMode];

/** Log level of the gateway Lambda. */
export const LogLevel = { Debug: "DEBUG", Info: "INFO", Warn: "WARN", Error: "ERROR" } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** The Lambda's processor. */
export const LambdaArchitecture = { Arm64: "arm64", X86_64: "x86_64" } as const;
export type LambdaArchitecture = (typeof LambdaArchitecture)[keyof typeof LambdaArchitecture];

/** The session cookie's `SameSite` attribute. */
export const SameSite = { Strict: "Strict", Lax: "Lax", None: "None" } as const;
export type SameSite = (typeof SameSite)[keyof typeof SameSite];

/** A DynamoDB key attribute's type: string, number or binary. */
export const AttributeType = { S: "S", N: "N", B: "B" } as const;
export type AttributeType = (typeof AttributeType)[keyof typeof AttributeType];

/** Which attributes a global secondary index holds. */
export const IndexProjection = { All: "ALL", KeysOnly: "KEYS_ONLY", Include: "INCLUDE" } as const;
export type IndexProjection = (typeof IndexProjection)[keyof typeof IndexProjection];

/** What a table's stream records of each change. */
export const StreamView = { NewImage: "NEW_IMAGE", OldImage: "OLD_IMAGE", NewAndOldImages: "NEW_AND_OLD_IMAGES", KeysOnly: "KEYS_ONLY" } as const;
export type StreamView = (typeof StreamView)[keyof typeof StreamView];

/** A table's storage class. */
export const TableClass = { Standard: "STANDARD", StandardInfrequentAccess: "STANDARD_INFREQUENT_ACCESS" } as const;
export type TableClass = (typeof TableClass)[keyof typeof TableClass];

/** How a table is billed. */
export const BillingMode = { PayPerRequest: "PAY_PER_REQUEST", Provisioned: "PROVISIONED" } as const;
export type BillingMode = (typeof BillingMode)[keyof typeof BillingMode];

/**
 * A request header with which a proxy tells the server behind it who the
 * client is, which host, scheme or path it called, or which method it meant:
 * the gateway drops a client's, unless the route keeps it by name.
 */
export const ProxyControlHeader = {
    Forwarded: "forwarded",
    XRealIp: "x-real-ip",
    XClientIp: "x-client-ip",
    ClientIp: "client-ip",
    TrueClientIp: "true-client-ip",
    XClusterClientIp: "x-cluster-client-ip",
    XForwardedPrefix: "x-forwarded-prefix",
    XForwardedPath: "x-forwarded-path",
    XForwardedUri: "x-forwarded-uri",
    XForwardedScheme: "x-forwarded-scheme",
    XForwardedSsl: "x-forwarded-ssl",
    XForwardedServer: "x-forwarded-server",
    XOriginalHost: "x-original-host",
    XHost: "x-host",
    XOriginalUrl: "x-original-url",
    XOriginalUri: "x-original-uri",
    XRewriteUrl: "x-rewrite-url",
    FrontEndHttps: "front-end-https",
    XUrlScheme: "x-url-scheme",
    XHttpMethodOverride: "x-http-method-override",
    XHttpMethod: "x-http-method",
    XMethodOverride: "x-method-override",
} as const;
export type ProxyControlHeader = (typeof ProxyControlHeader)[keyof typeof ProxyControlHeader];

/** A rate limit: requests admitted per window, counted per key. */
export interface RateLimit {
    /** What a counter is kept per. @default "ip" */
    by?: RateLimitBy;
    /** Requests admitted per window. */
    limit: number;
    /** The window's length, in seconds (at most a day). */
    windowSeconds: number;
    /** How a window counts. @default "fixed" */
    algorithm?: RateLimitAlgorithm;
}

/** A route's own rate limit. */
export interface RouteRateLimit extends RateLimit {
    /**
     * Routes naming the same bucket share one counter (and must give the same
     * limit, window, algorithm and key). Unset: the route's own counter.
     */
    bucket?: string;
}

/** What a route's upstream may do with sessions through the `x-gateway-session` answer header. */
export interface RouteSessionOptions {
    /** Create a session when the upstream answers 2xx with `{userId, ...}`, and set the cookie. @default false */
    issue?: boolean;
    /** Also send the new token back in `x-gateway-session-token` (needs `issue`). @default false */
    returnToken?: boolean;
    /** Honour `{revoke: "current" | "all"}` (needs a route with auth). @default false */
    revoke?: boolean;
}

/** A route: requests whose path is `pathPrefix` or below it go to `upstream`. */
export interface Route {
    /** Unique name; used in rate-limit keys, metrics and the `RateLimit-Policy` header. */
    name: string;
    /**
     * Path prefix the route answers; the longest match wins. Starts with `/`,
     * with no trailing `/` and no empty, `.` or `..` segment.
     * @example "/products"
     */
    pathPrefix: string;
    /**
     * Base URL of the upstream service: an http(s) URL without query or
     * fragment; the path after the prefix is appended. Often another
     * resource's output (a function URL, a load balancer's address).
     * @example "https://products.example.com/v1"
     */
    upstream: pulumi.Input<string>;
    /** Who may call the route. @default "session" */
    auth?: RouteAuth;
    /** Permissions the caller must hold, all of them. @default [] */
    permissions?: string[];
    /** The route's own limit; unset: `defaultRateLimit`'s shared counter. */
    rateLimit?: RouteRateLimit;
    /** Whether the upstream may issue or end sessions; unset: neither. */
    sessions?: RouteSessionOptions;
    /**
     * Send the client's `Authorization` header (a JWT, Basic credentials) to the
     * upstream. A session token never leaves the gateway either way.
     * @default false
     */
    forwardAuthorization?: boolean;
    /** The `aud` of the identity assertion this route's upstream receives. @default the route's name */
    assertionAudience?: string;
    /**
     * Proxy-control headers the client may send this route's upstream as it
     * sent them; every other one is dropped. A kept `forwarded` gets the
     * gateway's own element appended.
     * @example ["x-http-method-override"]
     */
    keepClientHeaders?: ProxyControlHeader[];
}

/** A key attribute of a table. */
export interface KeyAttribute {
    name: string;
    type: AttributeType;
}

/** A key attribute of an index; `type` may be left out when another key of the table declares the attribute. */
export interface IndexKeyAttribute {
    name: string;
    type?: AttributeType;
}

/** A global secondary index of a table. */
export interface GlobalSecondaryIndex {
    name: string;
    hashKey: IndexKeyAttribute;
    rangeKey?: IndexKeyAttribute;
    /** @default "ALL" */
    projection?: IndexProjection;
    /** The attributes an `INCLUDE` projection holds besides the keys. */
    nonKeyAttributes?: string[];
}

/** An application table, in the same spec shape as the built-in ones. */
export interface AppTable {
    /** The table's name; its physical name is `{prefix}-{name}`. */
    name: string;
    hashKey: KeyAttribute;
    rangeKey?: KeyAttribute;
    globalSecondaryIndexes?: GlobalSecondaryIndex[];
    /** Attribute holding an item's expiry in epoch seconds (DynamoDB TTL). */
    ttlAttribute?: string;
    /** Stream the table's changes. */
    stream?: StreamView;
    /** @default "STANDARD" */
    tableClass?: TableClass;
    /** @default "PAY_PER_REQUEST" */
    billingMode?: BillingMode;
    /** Required with `billingMode: PROVISIONED`, and only then. */
    readCapacity?: number;
    /** Required with `billingMode: PROVISIONED`, and only then. */
    writeCapacity?: number;
    /** Autoscaling's ceiling for reads (PROVISIONED only). */
    maxReadCapacity?: number;
    /** Autoscaling's ceiling for writes (PROVISIONED only). */
    maxWriteCapacity?: number;
    /** Tags of the table, over tollgate's own. */
    tags?: Record<string, string>;
    /**
     * Regions this table is replicated to (a DynamoDB global table); replaces
     * `tables.replicaRegions` for this table, `[]` keeps it regional.
     */
    replicaRegions?: string[];
}

/** Settings every table shares. */
export interface TableSettings {
    /** Continuous backups with point-in-time restore (35 days), on the table and on every replica. @default true */
    pointInTimeRecovery?: boolean;
    /** Refuse DeleteTable (and `pulumi destroy`) on the table and its replicas. @default false */
    deletionProtection?: boolean;
    /**
     * Pulumi's `protect` on every table and TableReplica: a deployment that would
     * delete or replace one stops at preview, before anything changes.
     * @default `deletionProtection`
     */
    protect?: boolean;
    /**
     * Customer-managed KMS key (its key ARN, in the stack's region) for the
     * tables. Unset: the AWS-managed `aws/dynamodb` key.
     * @example "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
     */
    kmsKeyArn?: pulumi.Input<string>;
    /**
     * Regions every table but rate-limits is replicated to, as DynamoDB global
     * tables. An app table's own `replicaRegions` replaces this list.
     * @default []
     */
    replicaRegions?: string[];
    /**
     * KMS key ARN for the replicas in each region, by region. Required for every
     * replica region when `kmsKeyArn` is set: a key serves its own region only.
     * @default {}
     */
    replicaKmsKeyArns?: Record<string, pulumi.Input<string>>;
}

/** AWS Backup of the tables: an encrypted vault, a plan with one rule, an optional copy to another region. */
export interface BackupSettings {
    /** Back the tables up. @default true when `environment` is `prod`, false otherwise */
    enabled?: boolean;
    /** When the rule runs: an AWS cron expression (UTC), at most hourly. @default "cron(0 2 * * ? *)" */
    schedule?: string;
    /** Days each recovery point (and its copy) is kept. @default 30 */
    retentionDays?: number;
    /** Region of a second vault every recovery point is copied to; unset: no copy. */
    copyToRegion?: string;
}

/** A custom domain: an ACM certificate (DNS-validated in the zone, or an existing one) and Route53 alias records. */
export interface CustomDomain {
    /** The domain name, lower case. @example "api.example.com" */
    name: pulumi.Input<string>;
    /** The Route53 hosted zone the records go in. @example "Z0123456789ABCDEFGHIJ" */
    hostedZoneId: pulumi.Input<string>;
    /** An existing ACM certificate in the stack's region; unset: one is requested and DNS-validated. */
    certificateArn?: pulumi.Input<string>;
}

/** CORS of the HTTP API (API Gateway answers preflight requests itself). */
export interface Cors {
    /** @default ["*"] */
    allowOrigins?: string[];
    /** @default ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] */
    allowMethods?: string[];
    /** @default ["authorization", "content-type"] */
    allowHeaders?: string[];
    /** @default ["ratelimit", "ratelimit-policy", "retry-after", "x-request-id"] */
    exposeHeaders?: string[];
    /** Not allowed with an origin of `*`. @default false */
    allowCredentials?: boolean;
    /** @default 600 */
    maxAgeSeconds?: number;
}

/** Stage-wide API Gateway throttling; both limits are always set (API Gateway reads an unset one as 0). */
export interface Throttle {
    /** Requests that may arrive at once. @default 5000 */
    burstLimit?: number;
    /** Steady requests per second. @default 2000 */
    rateLimit?: number;
}

/** The gateway Lambda's size. */
export interface LambdaSettings {
    /** @default 512 */
    memoryMb?: number;
    /** At most 30: the HTTP API waits 30 s for the Lambda. @default 30 */
    timeoutSeconds?: number;
    /** @default "arm64" */
    architecture?: LambdaArchitecture;
    /** AWS X-Ray active tracing of the Lambda. @default false */
    tracing?: boolean;
}

/**
 * Where the Lambda runs in a VPC: a new VPC tollgate creates (`enabled`), or
 * subnets and security groups of a VPC the program already has.
 */
export interface VpcSettings {
    /** Place the Lambda in private subnets of a new VPC, with a DynamoDB gateway endpoint. @default false */
    enabled?: boolean;
    /** NAT gateways of the new VPC (upstreams are reached through NAT). @default 1 */
    natGateways?: number;
    /**
     * Private subnets of an existing VPC to run the Lambda in, instead of a new
     * VPC; they must reach DynamoDB (an endpoint or NAT) and the upstreams.
     * Needs `securityGroupIds`.
     * @example ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
     */
    subnetIds?: pulumi.Input<string>[];
    /** Security groups of the Lambda's network interfaces in `subnetIds`. @example ["sg-0123456789abcdef0"] */
    securityGroupIds?: pulumi.Input<string>[];
}

/** JWT checks on `jwt` and `any` routes. */
export interface JwtSettings {
    /** The `iss` every JWT must carry; required when a route has auth `jwt` or `any`. */
    issuer?: string;
    /** The `aud` every JWT must name; required when a route has auth `jwt` or `any`. */
    audience?: string;
    /** A JWKS URL whose keys verify RS256 tokens (besides the HS256 `jwtSecret`). */
    jwksUrl?: pulumi.Input<string>;
    /** Longest lifetime (`exp - iat`) a token may have; tokens without `iat` are refused. @default 86400 */
    maxLifetimeSeconds?: number;
    /** Whether OAuth scopes (`scope`, `scp`) count as permissions. @default false */
    scopesAsPermissions?: boolean;
}

/** What the gateway tells upstreams about the caller. */
export interface IdentitySettings {
    /** Sign `x-gateway-assertion` (ES256, about a minute) on every proxied request. @default true */
    assertion?: boolean;
    /** Also send `x-gateway-user-id`, `x-gateway-roles` and `x-gateway-permissions`. @default true */
    headers?: boolean;
    /** The assertion's `iss`. @default `https://<domain.name>` with a custom domain, else `urn:tollgate:<prefix>` */
    issuer?: string;
    /** The signing key's generation; raise it by one to rotate the key (the previous one stays in the JWKS). @default 1 */
    keyGeneration?: number;
    /**
     * Seconds a container reuses an assertion it signed for the same caller,
     * route and claims, 0 to 30: never with less than 30 s of its minute left;
     * 0 signs one per request.
     * @default 30
     */
    assertionReuseSeconds?: number;
}

/** The session cookie's attributes; it is always HttpOnly, and Secure wherever the gateway is deployed. */
export interface SessionCookie {
    /** @default "Lax" */
    sameSite?: SameSite;
    /** @default "/" */
    path?: string;
    /** Unset: a host-only cookie. */
    domain?: string;
}

/** Sessions the gateway issues for upstreams. */
export interface SessionsSettings {
    cookie?: SessionCookie;
    /** A session with less life left than this is moved one TTL later on its next request; 0 turns renewal off. @default 0 */
    renewWithinSeconds?: number;
    /** Lifetime of an issued session whose upstream gives no `ttlSeconds`. @default 86400 */
    defaultTtlSeconds?: number;
    /** The longest `ttlSeconds` an upstream (or `sessions create`) may ask for. @default 2592000 */
    maxTtlSeconds?: number;
    /** The longest a session lives from its login, renewals included. @default 2592000 */
    maxLifetimeSeconds?: number;
}

/**
 * What the Tollgate component deploys: every `tollgate:*` config key, without
 * the namespace, with the same defaults and validation.
 */
export interface TollgateConfig {
    /**
     * Prefix of every physical resource name (tables are `{prefix}-rate-limits`, ...).
     * Two Tollgates in one account and region need different prefixes.
     * @default "tollgate"
     */
    prefix?: string;
    /** Environment tag and the name shown on the dashboard, e.g. `dev`, `prod`. @default "dev" */
    environment?: string;
    /** The gateway Lambda's size. */
    lambda?: LambdaSettings;
    /** Stage-wide API Gateway throttling. */
    throttle?: Throttle;
    /** CORS of the HTTP API. */
    cors?: Cors;
    /** Retention of the Lambda and access log groups, in days (a CloudWatch-accepted value). @default 7 */
    logRetentionDays?: number;
    /** Settings every table shares. */
    tables?: TableSettings;
    /** AWS Backup of the tables. */
    backup?: BackupSettings;
    /** Application tables, in the same spec shape as the built-in ones. @default [] */
    appTables?: AppTable[];
    /** Routes: path prefix -> upstream, with auth and an optional rate limit of their own. @default [] */
    routes?: Route[];
    /** The rate limit of routes that set none. @default { by: "ip", limit: 100, windowSeconds: 60, algorithm: "fixed" } */
    defaultRateLimit?: RateLimit;
    /** Custom domain; unset: the API's own `execute-api` URL only. */
    domain?: CustomDomain;
    /** Email address subscribed to the alarm topic; unset: no subscription. */
    alarmEmail?: pulumi.Input<string>;
    /**
     * Customer-managed KMS key (in the stack's region) for every Secrets Manager
     * secret the gateway holds. Default: `tables.kmsKeyArn`; with neither, the
     * AWS-managed `aws/secretsmanager` key.
     */
    secretsKmsKeyArn?: pulumi.Input<string>;
    /**
     * HS256 secret (at least 32 characters) for JWT routes, stored in Secrets
     * Manager; pass it as a secret. Unset: a random 64-character secret is generated there.
     */
    jwtSecret?: pulumi.Input<string>;
    /** JWT checks on `jwt` and `any` routes, and a JWKS URL to accept RS256 tokens. */
    jwt?: JwtSettings;
    /** What the gateway tells upstreams about the caller. */
    identity?: IdentitySettings;
    /** Run the Lambda in a VPC. */
    vpc?: VpcSettings;
    /** Seconds a Lambda container may serve a session from memory; revocation takes effect within this time. @default 0 */
    sessionCacheSeconds?: number;
    /** Sessions the gateway issues for upstreams. */
    sessions?: SessionsSettings;
    /** What the limiter does when DynamoDB fails. @default "open" */
    rateLimitFailureMode?: RateLimitFailureMode;
    /**
     * `by: ip` counts an IPv6 client by this many leading bits of its address,
     * 32 to 128 (one subscriber holds a whole /64); 128 counts each address.
     * IPv4 clients count by address.
     * @default 64
     */
    rateLimitIpv6PrefixLength?: number;
    /** Upstream request timeout in milliseconds; below the Lambda timeout and at most 27000. @default 10000 */
    upstreamTimeoutMs?: number;
    /** Log level of the gateway Lambda. @default "INFO" */
    logLevel?: LogLevel;
    /** Share of successful requests whose log line the gateway writes, 0 to 1; refusals and errors are always written. @default 1 */
    logSampleRate?: number;
}

/**
 * Where each Tollgate of a program leaves its args as plain data, for
 * `tollgate start --program` (which evaluates the program under mocks): an
 * Input with no value yet is its stand-in, and `jwtSecret` is left out. It stays
 * in the program's process; nothing of it reaches the engine or the state.
 */
export const localViewsKey = "tollgate.localViews";

export interface LocalView {
    /** The Tollgate's name in the program. */
    name: string;
    /** The args as the config schema reads them (`keys: "args"`). */
    args: Record<string, unknown>;
    /** The stack's `aws:region`, if set. */
    region?: string;
}
