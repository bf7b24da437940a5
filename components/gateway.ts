/**
 * Gateway: the HTTP API and the one Lambda behind it.
 *
 * API Gateway (HTTP API, `$default` stage, throttled, JSON access logs) sends
 * every route to the gateway Lambda, an `aws.lambda.CallbackFunction` whose
 * factory loads the bundled runtime once per container and hands it the
 * routes and behaviour captured at deploy time. The Lambda has its own role:
 * exactly the DynamoDB actions the handler uses on exactly its tables, its log
 * group, and the one Secrets Manager secret holding the JWT key; with
 * customer-managed keys, `kms:Decrypt` through DynamoDB for its two tables and
 * through Secrets Manager for its secrets, and nothing else of the keys.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { environmentNames, lambdaNodeMajor, lambdaRuntime, type CapturedSettings, type KeyMaterial, type LambdaEntry } from "../specs/lambda";
import type { Cors, LambdaSettings, Throttle, VpcSettings } from "../specs/args";
import { jwksPath, type RouteSpec } from "../specs/routes";
import { configDefaults } from "../specs/config";
import { httpApiIntegrationTimeoutMs } from "../specs/limits";
import { bundleRuntime, type RuntimeBundle } from "./bundle";
import { Network, type NetworkArgs } from "./network";
import { transformed, type Transform } from "./transform";

type GatewayEvent = APIGatewayProxyEventV2;

/** `CapturedSettings` with the values a program may take from other resources as Inputs. */
export type CapturedInput = Omit<CapturedSettings, "routes" | "jwt" | "identity"> & {
    routes: (Omit<RouteSpec, "upstream"> & { upstream: pulumi.Input<string> })[];
    jwt: Omit<CapturedSettings["jwt"], "jwksUrl"> & { jwksUrl?: pulumi.Input<string> };
    identity: Omit<CapturedSettings["identity"], "issuer"> & { issuer: pulumi.Input<string> };
};
type GatewayResult = APIGatewayProxyStructuredResultV2;

/** The Lambda's name; its log group is `/aws/lambda/` followed by it, which the Logging component creates first. */
export function gatewayFunctionName(prefix: string): string {
    return `${prefix}-gateway`;
}

/** Where the runtime the Lambda runs is bundled at program time: the gitignored build directory below the working directory. */
export const runtimeBundleFile = ".tollgate/build/gateway.js";

/**
 * Every DynamoDB action the handler performs, by what it is performed on.
 * The role's policy grants these and nothing else (no `dynamodb:*`, no `*`
 * resource); a runtime change that needs another action adds it here.
 * `/health/ready` pings both tables with a `GetItem`, so it needs nothing more.
 */
export const gatewayTableAccess = {
    /** Fixed window: one conditional `UpdateItem` per request. Sliding window: `GetItem` of the previous window's count. */
    rateLimits: ["dynamodb:UpdateItem", "dynamodb:GetItem"],
    /**
     * Sessions: the lookup by the token's SHA-256, and the deletes that end one
     * (`/.well-known/sessions/{id}`, conditional on the owner, is always served).
     */
    sessions: ["dynamodb:GetItem", "dynamodb:DeleteItem"],
    /** Only when a route has `sessions.issue`: a new session is a put that fails if its id is taken. */
    sessionsIssued: ["dynamodb:PutItem"],
    /** Only with `tollgate:sessions.renewWithinSeconds` above 0: a renewal is one conditional update. */
    sessionsRenewed: ["dynamodb:UpdateItem"],
    /** A user's sessions through `UserIdIndex`, read-only and on the index alone: the self-service list and revoke-all. */
    sessionsByUser: ["dynamodb:Query"],
} as const;

/** The actions on the sessions table the handler performs with these settings, and no others. */
export function sessionTableActions(runtime: { routes: readonly Pick<RouteSpec, "sessions">[]; sessions?: Pick<NonNullable<CapturedSettings["sessions"]>, "renewWithinSeconds"> }): string[] {
    return [
        ...gatewayTableAccess.sessions,
        ...(runtime.routes.some((route) => route.sessions?.issue) ? gatewayTableAccess.sessionsIssued : []),
        ...((runtime.sessions?.renewWithinSeconds ?? 0) > 0 ? gatewayTableAccess.sessionsRenewed : []),
    ];
}

/** The network-interface actions Lambda needs to attach to a VPC; AWS scopes them to no resource, so they take `*`. */
const vpcNetworkInterfaceActions = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
];

/**
 * One JSON object per request in the access log; `$context` variables of
 * HTTP APIs. It holds what the Lambda's own line cannot: the client's address,
 * and what happened to requests the Lambda never answered: API Gateway's own
 * answers (a throttle's 429, a 5xx when the Lambda fails) by their status, and
 * why the Lambda failed or timed out in `integrationError`.
 * `requestId` is the Lambda line's `correlation_id`; `responseLatency` is the
 * only per-request record of a cold start's wait. Left out because every
 * request would pay for them: the route key (always the catch-all), the
 * protocol, the request time (the event's own timestamp), the user agent,
 * lengths, the integration's latency and status, and API Gateway's error
 * message (its status says the same); a stage transform can add any back.
 */
export const accessLogFormat = {
    requestId: "$context.requestId",
    ip: "$context.identity.sourceIp",
    httpMethod: "$context.httpMethod",
    path: "$context.path",
    status: "$context.status",
    responseLatency: "$context.responseLatency",
    integrationError: "$context.integrationErrorMessage",
};

/**
 * How the Lambda logs. JSON, so that Lambda reads the level of tollgate's
 * lines and its own records are JSON too. The system log level WARN drops
 * Lambda's INFO records (START, END and REPORT of every invocation, INIT
 * records): the Lambda's `Duration`, `Errors` and `Throttles` metrics carry
 * what they said. The application log level lets through what tollgate
 * writes at any `tollgate:logLevel` (tollgate filters its own lines; its EMF
 * documents carry no level, which Lambda reads as INFO) and drops the debug
 * output of libraries unless `logLevel` is DEBUG.
 */
export function lambdaLoggingConfig(logLevel: string, logGroup: pulumi.Input<string>): aws.types.input.lambda.FunctionLoggingConfig {
    return { logFormat: "JSON", systemLogLevel: "WARN", applicationLogLevel: logLevel === "DEBUG" ? "DEBUG" : "INFO", logGroup };
}

export interface GatewayArgs {
    /**
     * Prefix of the physical names: the API `{prefix}-api`, the Lambda `{prefix}-gateway`.
     * @example "tollgate-dev"
     */
    prefix: string;
    /** The tables the handler reads and writes; their names reach it as environment variables. */
    tables: { rateLimits: aws.dynamodb.Table; sessions: aws.dynamodb.Table };
    /**
     * Routes and behaviour, captured by value into the Lambda's `__index.js`.
     * Nothing secret; an upstream, the JWKS URL and the assertion's issuer may
     * be another resource's output, captured once it resolves.
     */
    runtime: CapturedInput;
    /** Log groups made beforehand (Logging component): the Lambda's and the access log's. */
    logGroups: { lambda: aws.cloudwatch.LogGroup; access: aws.cloudwatch.LogGroup };
    /**
     * The Lambda's size. With `tracing`, the role may also send X-Ray traces
     * (`xray:PutTraceSegments`, `xray:PutTelemetryRecords`).
     */
    lambda?: LambdaSettings;
    /**
     * Stage-wide throttling. Both limits are always set: API Gateway reads an
     * unset one as 0, which refuses every request.
     */
    throttle?: Throttle;
    /** CORS of the HTTP API (API Gateway answers preflight requests itself). */
    cors?: Cors;
    /**
     * Log level of the handler.
     * @default "INFO"
     */
    logLevel?: string;
    /**
     * HS256 key for `jwt` routes, stored in Secrets Manager; the Lambda gets the
     * secret's ARN, never the value. Pass it as a secret (`pulumi.secret`).
     * @default a random 64-character key generated into the secret
     */
    jwtSecret?: pulumi.Input<string>;
    /**
     * The keys of the identity assertion (`x-gateway-assertion`) and the log
     * key, kept in one Secrets Manager secret the Lambda reads at cold start.
     */
    gatewayKeys?: {
        /**
         * The signing key's generation. The program keeps an ES256 key (P-256,
         * `@pulumi/tls`) for this generation and the one before it: the current
         * key signs, both are published in the JWKS. Raise it by one to rotate.
         * @default 1
         */
        generation?: number;
        /**
         * PEM private keys on P-256 to use instead of generated ones, the first
         * signing (pass them as secrets); a rotation puts the new key first and
         * keeps the old one second.
         * @default generated keys
         */
        signingKeys?: pulumi.Input<string>[];
    };
    /**
     * Run the Lambda in a VPC: private subnets of a new one (`enabled`), or
     * `subnetIds` and `securityGroupIds` of an existing one.
     * @default { enabled: false }
     */
    vpc?: VpcSettings;
    /** Customer-managed KMS keys, in the stack's region. @default {} (AWS-managed keys) */
    kms?: {
        /**
         * The key the tables are encrypted with: the role may have DynamoDB decrypt
         * the rate-limits and sessions tables with it (and nothing else).
         * @example "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
         */
        tablesKeyArn?: pulumi.Input<string>;
        /**
         * The key every Secrets Manager secret the Gateway creates is encrypted with
         * (`kmsKeyId`, applied in one place to any secret among its children); the
         * role may have Secrets Manager decrypt exactly those secrets with it.
         * @default the AWS-managed `aws/secretsmanager` key
         */
        secretsKeyArn?: pulumi.Input<string>;
    };
    /** Extra environment variables for the Lambda, added to the ones the Gateway sets. @default {} */
    environment?: Record<string, pulumi.Input<string>>;
    /** Tags added to every taggable resource. @default {} */
    tags?: Record<string, string>;
    /** Change any argument of the resources this component creates. */
    transform?: {
        api?: Transform<aws.apigatewayv2.ApiArgs>;
        stage?: Transform<aws.apigatewayv2.StageArgs>;
        integration?: Transform<aws.apigatewayv2.IntegrationArgs>;
        route?: Transform<aws.apigatewayv2.RouteArgs>;
        permission?: Transform<aws.lambda.PermissionArgs>;
        function?: Transform<aws.lambda.CallbackFunctionArgs<GatewayEvent, GatewayResult>>;
        role?: Transform<aws.iam.RoleArgs>;
        policy?: Transform<aws.iam.RolePolicyArgs>;
        jwtSecret?: Transform<aws.secretsmanager.SecretArgs>;
        gatewayKeys?: Transform<aws.secretsmanager.SecretArgs>;
        network?: NetworkArgs["transform"];
    };
}

function resolveGatewayArgs(args: GatewayArgs) {
    const defaults = configDefaults();
    const cors = { ...defaults.cors, ...args.cors };
    if (cors.allowCredentials && cors.allowOrigins.includes("*")) {
        throw new pulumi.RunError("Gateway: cors.allowCredentials cannot be true while allowOrigins contains '*'");
    }
    const lambda = { ...defaults.lambda, ...args.lambda };
    if (lambda.timeoutSeconds * 1000 > httpApiIntegrationTimeoutMs) {
        throw new pulumi.RunError(`Gateway: lambda.timeoutSeconds ${lambda.timeoutSeconds} is past the ${httpApiIntegrationTimeoutMs / 1000} s the HTTP API waits for the Lambda`);
    }
    return {
        ...args,
        lambda,
        throttle: { ...defaults.throttle, ...args.throttle },
        cors,
        logLevel: args.logLevel ?? defaults.logLevel,
        vpc: { ...defaults.vpc, ...args.vpc },
        kms: args.kms ?? {},
        environment: args.environment ?? {},
        gatewayKeys: { generation: args.gatewayKeys?.generation ?? defaults.identity.keyGeneration, signingKeys: args.gatewayKeys?.signingKeys },
        tags: args.tags ?? {},
        transform: args.transform ?? {},
    };
}

/**
 * What `__index.js` runs once per container: load the bundle that sits next
 * to it in the archive and build the handler. Only its two parameters are
 * captured (by value), so the serialized closure stays a few lines long.
 */
function handlerFactory(bundleModule: string, captured: pulumi.Output<CapturedSettings>): aws.lambda.CallbackFactory<GatewayEvent, GatewayResult> {
    return () => {
        const runtime: LambdaEntry = require(bundleModule);
        // Serialized, an Output holds its resolved value; `get` reads it.
        return runtime.createLambdaHandler(captured.get());
    };
}

/**
 * Packages of the program being run (the package.json in its working
 * directory, which Pulumi's packaging adds to a function's archive by default);
 * none of them belongs in the Lambda archive: the bundle carries what the
 * handler needs. The optional ones count too: Pulumi's packaging reads
 * package.json through npm's normaliser, which merges `optionalDependencies`
 * into `dependencies`.
 */
function programDependencies(): string[] {
    let manifest: { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    try {
        manifest = JSON.parse(fs.readFileSync(path.join(process.cwd(), "package.json"), "utf8"));
    } catch {
        return [];
    }
    return [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})];
}

/**
 * What the role may do with customer-managed keys: `kms:Decrypt` and nothing
 * else, only as DynamoDB or Secrets Manager in this region calls it on the
 * role's behalf (`kms:ViaService`), and only for the gateway's own tables and
 * secrets (the encryption context each service sends). DynamoDB decrypts a
 * table's key with the caller's permission when the caller first reads or
 * writes the table ("The user is the principal in your AWS account who is
 * accessing the table", AWS KMS developer guide, How Amazon DynamoDB uses
 * AWS KMS); Secrets Manager decrypts a secret's value for GetSecretValue
 * (AWS Secrets Manager user guide, Secret encryption and decryption). The
 * replicas' keys are not granted: the gateway reads and writes its tables in
 * its own region only.
 */
export function keyStatements(
    kms: { tablesKeyArn?: pulumi.Input<string>; secretsKeyArn?: pulumi.Input<string> },
    region: pulumi.Input<string>,
    tableNames: pulumi.Input<string>[],
    secretArns: pulumi.Input<string[]>,
): unknown[] {
    const statements: unknown[] = [];
    if (kms.tablesKeyArn) {
        statements.push({
            Sid: "TablesKey",
            Effect: "Allow",
            Action: ["kms:Decrypt"],
            Resource: kms.tablesKeyArn,
            Condition: {
                StringEquals: {
                    "kms:ViaService": pulumi.interpolate`dynamodb.${region}.amazonaws.com`,
                    "kms:EncryptionContext:aws:dynamodb:tableName": tableNames,
                },
            },
        });
    }
    if (kms.secretsKeyArn) {
        statements.push({
            Sid: "SecretsKey",
            Effect: "Allow",
            Action: ["kms:Decrypt"],
            Resource: kms.secretsKeyArn,
            Condition: {
                StringEquals: {
                    "kms:ViaService": pulumi.interpolate`secretsmanager.${region}.amazonaws.com`,
                    "kms:EncryptionContext:SecretARN": secretArns,
                },
            },
        });
    }
    return statements;
}

export class Gateway extends pulumi.ComponentResource {
    readonly api: aws.apigatewayv2.Api;
    readonly stage: aws.apigatewayv2.Stage;
    readonly integration: aws.apigatewayv2.Integration;
    readonly routes: { proxy: aws.apigatewayv2.Route; root: aws.apigatewayv2.Route };
    readonly function: aws.lambda.CallbackFunction<GatewayEvent, GatewayResult>;
    readonly role: aws.iam.Role;
    readonly policy: aws.iam.RolePolicy;
    readonly permission: aws.lambda.Permission;
    readonly jwtSecret: aws.secretsmanager.Secret;
    readonly jwtSecretVersion: aws.secretsmanager.SecretVersion;
    /** Set when no `jwtSecret` was given. */
    readonly generatedJwtSecret?: random.RandomPassword;
    /** Every Secrets Manager secret among the Gateway's children, each under `kms.secretsKeyArn` when it is set. */
    readonly secrets: readonly aws.secretsmanager.Secret[];
    /** The secret holding the assertion's signing keys and the log key. */
    readonly gatewayKeys: aws.secretsmanager.Secret;
    readonly gatewayKeysVersion: aws.secretsmanager.SecretVersion;
    /** The generated signing keys, current first (none when `gatewayKeys.signingKeys` was given). */
    readonly signingKeys: tls.PrivateKey[];
    /** The key of the log lines' `limiter_key_hash` HMAC. */
    readonly logKey: random.RandomPassword;
    /** Where upstreams fetch the public keys of the assertion: `{url}/.well-known/jwks.json`. */
    readonly jwksUrl: pulumi.Output<string>;
    /** Set when `vpc.enabled`. */
    readonly network?: Network;
    /** The runtime bundle shipped next to `__index.js`. */
    readonly bundle: RuntimeBundle;
    /** The API's base URL (the `$default` stage serves it at the root). */
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: GatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        const settings = resolveGatewayArgs(args);
        // The one place the secrets' key is applied: every Secrets Manager secret created
        // under this component, whoever writes it, gets kmsKeyId (unless it names its own)
        // and joins the secrets the role may have Secrets Manager decrypt.
        const secrets: aws.secretsmanager.Secret[] = [];
        const holdSecrets: pulumi.ResourceTransformation = ({ type, resource, props, opts: resourceOpts }) => {
            if (type !== "aws:secretsmanager/secret:Secret") return undefined;
            secrets.push(resource as aws.secretsmanager.Secret);
            if (!settings.kms.secretsKeyArn || props.kmsKeyId !== undefined) return undefined;
            return { props: { ...props, kmsKeyId: settings.kms.secretsKeyArn }, opts: resourceOpts };
        };
        super("tollgate:gateway:Gateway", name, {}, { ...opts, transformations: [holdSecrets, ...(opts?.transformations ?? [])] });
        this.secrets = secrets;
        const { prefix, tables, logGroups, transform, tags } = settings;
        const child = { parent: this };
        const region = aws.getRegionOutput({}, child).region;
        // Resolved once every child exists, so a secret created after the role policy is in it too.
        const [secretArns, resolveSecretArns] = pulumi.deferredOutput<string[]>();

        // The JWT key lives in Secrets Manager; the Lambda reads it at cold start.
        this.jwtSecret = new aws.secretsmanager.Secret(
            ...transformed(transform.jwtSecret, `${name}-jwt-secret`, { namePrefix: `${prefix}-jwt-secret-`, description: `HS256 key of the tollgate gateway (${prefix}) for jwt routes`, tags }, { ...child }),
        );
        let jwtKey = settings.jwtSecret;
        if (jwtKey === undefined) {
            this.generatedJwtSecret = new random.RandomPassword(`${name}-jwt-secret-generated`, { length: 64, special: false }, { ...child });
            jwtKey = this.generatedJwtSecret.result;
        }
        this.jwtSecretVersion = new aws.secretsmanager.SecretVersion(`${name}-jwt-secret-value`, { secretId: this.jwtSecret.id, secretString: pulumi.secret(jwtKey) }, { ...child });

        // The assertion's signing keys and the log key: one secret, read at cold start. A key is
        // named by its generation, so a rotation adds the next one and keeps the last one (the JWKS
        // publishes both) and leaves the one before that to be deleted.
        const generation = settings.gatewayKeys.generation;
        this.signingKeys = settings.gatewayKeys.signingKeys
            ? []
            : [generation, generation - 1]
                  .filter((n) => n >= 1)
                  .map((n) => new tls.PrivateKey(`${name}-signing-key-${n}`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { ...child }));
        const signingKeys = settings.gatewayKeys.signingKeys ?? this.signingKeys.map((key) => key.privateKeyPemPkcs8);
        this.logKey = new random.RandomPassword(`${name}-log-key`, { length: 64, special: false }, { ...child });
        this.gatewayKeys = new aws.secretsmanager.Secret(
            ...transformed(
                transform.gatewayKeys,
                `${name}-gateway-keys`,
                { namePrefix: `${prefix}-gateway-keys-`, description: `Identity assertion signing keys and log key of the tollgate gateway (${prefix})`, tags },
                { ...child },
            ),
        );
        const keyMaterial: pulumi.Output<KeyMaterial> = pulumi.all([pulumi.all(signingKeys), this.logKey.result]).apply(([pems, logKey]) => ({ signingKeys: pems, logKey }));
        this.gatewayKeysVersion = new aws.secretsmanager.SecretVersion(
            `${name}-gateway-keys-value`,
            { secretId: this.gatewayKeys.id, secretString: pulumi.secret(pulumi.jsonStringify(keyMaterial)) },
            { ...child },
        );

        this.network = settings.vpc.enabled
            ? new Network(`${name}-network`, { prefix, natGateways: settings.vpc.natGateways, tags, transform: transform.network }, { ...child })
            : undefined;
        const vpcConfig = this.network
            ? { subnetIds: this.network.privateSubnetIds, securityGroupIds: [this.network.securityGroup.id] }
            : settings.vpc.subnetIds
              ? { subnetIds: settings.vpc.subnetIds, securityGroupIds: settings.vpc.securityGroupIds ?? [] }
              : undefined;

        this.role = new aws.iam.Role(
            ...transformed(
                transform.role,
                `${name}-role`,
                {
                    name: gatewayFunctionName(prefix),
                    description: `Execution role of the tollgate gateway Lambda (${prefix})`,
                    assumeRolePolicy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
                    }),
                    tags,
                },
                // Its name is fixed (the Lambda's): a replacement must remove the old role before making the new.
                { ...child, deleteBeforeReplace: true },
            ),
        );
        const sessionsByUserIndex = pulumi.interpolate`${tables.sessions.arn}/index/UserIdIndex`;
        const statements: unknown[] = [
            { Sid: "RateLimitCounters", Effect: "Allow", Action: gatewayTableAccess.rateLimits, Resource: tables.rateLimits.arn },
            { Sid: "Sessions", Effect: "Allow", Action: sessionTableActions(settings.runtime), Resource: tables.sessions.arn },
            { Sid: "SessionsByUser", Effect: "Allow", Action: gatewayTableAccess.sessionsByUser, Resource: sessionsByUserIndex },
            { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: pulumi.interpolate`${logGroups.lambda.arn}:*` },
            { Sid: "JwtSecret", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: this.jwtSecret.arn },
            { Sid: "GatewayKeys", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: this.gatewayKeys.arn },
        ];
        statements.push(...keyStatements(settings.kms, region, [tables.rateLimits.name, tables.sessions.name], secretArns));
        if (vpcConfig) statements.push({ Sid: "VpcNetworkInterfaces", Effect: "Allow", Action: vpcNetworkInterfaceActions, Resource: "*" });
        // X-Ray has no resource to scope these to (AWSXRayDaemonWriteAccess grants them on "*" too).
        if (settings.lambda.tracing) statements.push({ Sid: "XRayTraces", Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: "*" });
        this.policy = new aws.iam.RolePolicy(
            ...transformed(transform.policy, `${name}-policy`, { role: this.role.id, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements }) }, { ...child }),
        );

        // The bundle targets the Node the runtime runs, so esbuild lowers nothing that Node has.
        this.bundle = bundleRuntime({ outFile: runtimeBundleFile, target: `node${lambdaNodeMajor}` });
        const functionArgs: aws.lambda.CallbackFunctionArgs<GatewayEvent, GatewayResult> = {
            name: gatewayFunctionName(prefix),
            description: `tollgate gateway (${prefix}): rate limits, authenticates and proxies every API request`,
            runtime: lambdaRuntime,
            architectures: [settings.lambda.architecture],
            memorySize: settings.lambda.memoryMb,
            timeout: settings.lambda.timeoutSeconds,
            role: this.role,
            callbackFactory: handlerFactory(`./${this.bundle.archivePath}`, pulumi.unsecret(pulumi.output(settings.runtime) as pulumi.Output<CapturedSettings>)),
            codePathOptions: { extraIncludePaths: [this.bundle.archivePath], extraExcludePackages: programDependencies() },
            environment: {
                variables: {
                    [environmentNames.rateLimitTable]: tables.rateLimits.name,
                    [environmentNames.sessionTable]: tables.sessions.name,
                    [environmentNames.region]: region,
                    [environmentNames.logLevel]: settings.logLevel,
                    [environmentNames.jwtSecretArn]: this.jwtSecret.arn,
                    [environmentNames.gatewayKeysSecretArn]: this.gatewayKeys.arn,
                    // A rotation changes this, so Lambda starts new containers, which read the new keys.
                    [environmentNames.gatewayKeyGeneration]: String(generation),
                    ...settings.environment,
                },
            },
            loggingConfig: lambdaLoggingConfig(settings.logLevel, logGroups.lambda.name),
            vpcConfig,
            tracingConfig: settings.lambda.tracing ? { mode: "Active" } : undefined,
            tags,
        };
        // The policy before the first invocation, the log group before Lambda would create its own.
        // The name is fixed (the log group and the alarms name it), so a replacement deletes the old function first.
        // The settings reach the code through the closure, which records no dependency on the resources their
        // Outputs came from (a route's upstream taken from another resource's output); `capturedFrom` does, as
        // an Output in dependsOn adds its own resources, and it resolves to the role the function depends on anyway,
        // so a preview where the settings are still unknown loses nothing.
        const capturedFrom = pulumi.output(settings.runtime).apply(() => this.role);
        const [functionName, finalFunctionArgs, functionOpts] = transformed(transform.function, `${name}-function`, functionArgs, {
            ...child,
            dependsOn: [this.policy, logGroups.lambda, this.gatewayKeysVersion, capturedFrom],
            deleteBeforeReplace: true,
        });
        this.function = new aws.lambda.CallbackFunction(functionName, finalFunctionArgs, functionOpts);

        this.api = new aws.apigatewayv2.Api(
            ...transformed(
                transform.api,
                `${name}-api`,
                {
                    name: `${prefix}-api`,
                    description: `tollgate gateway (${prefix})`,
                    protocolType: "HTTP",
                    corsConfiguration: {
                        allowOrigins: settings.cors.allowOrigins,
                        allowMethods: settings.cors.allowMethods,
                        allowHeaders: settings.cors.allowHeaders,
                        exposeHeaders: settings.cors.exposeHeaders,
                        allowCredentials: settings.cors.allowCredentials,
                        maxAge: settings.cors.maxAgeSeconds,
                    },
                    tags,
                },
                { ...child },
            ),
        );
        this.integration = new aws.apigatewayv2.Integration(
            ...transformed(
                transform.integration,
                `${name}-integration`,
                {
                    apiId: this.api.id,
                    integrationType: "AWS_PROXY",
                    integrationMethod: "POST",
                    integrationUri: this.function.arn,
                    payloadFormatVersion: "2.0",
                    // The longest an HTTP API waits, whatever the Lambda's timeout: its clock
                    // runs from before a cold start, the Lambda's from after it, so a wait
                    // equal to the Lambda's timeout could cut off the gateway's own 504.
                    timeoutMilliseconds: httpApiIntegrationTimeoutMs,
                },
                { ...child },
            ),
        );
        const route = (role: string, routeKey: string) =>
            new aws.apigatewayv2.Route(
                ...transformed(transform.route, `${name}-route-${role}`, { apiId: this.api.id, routeKey, target: pulumi.interpolate`integrations/${this.integration.id}` }, { ...child }),
            );
        this.routes = { proxy: route("proxy", "ANY /{proxy+}"), root: route("root", "ANY /") };
        this.stage = new aws.apigatewayv2.Stage(
            ...transformed(
                transform.stage,
                `${name}-stage`,
                {
                    apiId: this.api.id,
                    name: "$default",
                    autoDeploy: true,
                    defaultRouteSettings: {
                        throttlingBurstLimit: settings.throttle.burstLimit,
                        throttlingRateLimit: settings.throttle.rateLimit,
                    },
                    accessLogSettings: { destinationArn: logGroups.access.arn, format: JSON.stringify(accessLogFormat) },
                    tags,
                },
                { ...child, dependsOn: [this.routes.proxy, this.routes.root] },
            ),
        );
        this.permission = new aws.lambda.Permission(
            ...transformed(
                transform.permission,
                `${name}-invoke`,
                {
                    action: "lambda:InvokeFunction",
                    function: this.function.name,
                    principal: "apigateway.amazonaws.com",
                    // Any stage, method and path of this API; nothing else may invoke it.
                    sourceArn: pulumi.interpolate`${this.api.executionArn}/*/*`,
                },
                { ...child },
            ),
        );

        resolveSecretArns(pulumi.all(secrets.map((secret) => secret.arn)));
        this.url = this.api.apiEndpoint;
        this.jwksUrl = pulumi.interpolate`${this.url}${jwksPath}`;
        this.registerOutputs({ url: this.url, functionName: this.function.name, apiId: this.api.id, jwksUrl: this.jwksUrl });
    }
}
