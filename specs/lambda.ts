/**
 * The contract between the program and the Lambda it deploys: what the
 * Gateway component captures into the function's closure (`CapturedSettings`,
 * plain data: routes and behaviour) and the names of the environment
 * variables it sets (deploy outputs such as table names and the JWT secret's
 * ARN). One definition, two readers: `components/gateway.ts` writes it,
 * `runtime/settings.ts` reads it back in the container.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { TollgateSettings } from "./config";
import type { RateLimitPolicy, RouteSpec } from "./routes";
import type { SessionSettings } from "./sessions";

/**
 * The Node.js major the Lambda runs: the current LTS (Lambda deprecates
 * nodejs24.x on 2028-04-30, nodejs22.x already on 2027-04-30). The Gateway
 * deploys `lambdaRuntime`, esbuild targets this major, and the tests run the
 * serialized `__index.js` on it (test/support/lambdaNode.ts).
 */
export const lambdaNodeMajor = 24;
export const lambdaRuntime = `nodejs${lambdaNodeMajor}.x` as const;

export interface CapturedSettings {
    routes: RouteSpec[];
    defaultRateLimit: RateLimitPolicy;
    sessionCacheSeconds: number;
    rateLimitFailureMode: "open" | "closed";
    /** `by: ip` counts an IPv6 client by this many leading bits (`tollgate:rateLimitIpv6PrefixLength`); absent means `defaultIpv6PrefixLength`. */
    rateLimitIpv6PrefixLength?: number;
    upstreamTimeoutMs: number;
    jwt: { issuer?: string; audience?: string; jwksUrl?: string; maxLifetimeSeconds: number; scopesAsPermissions: boolean };
    /** Cookie, lifetimes and renewal of the sessions the gateway issues; absent means `defaultSessionSettings()`. */
    sessions?: SessionSettings;
    /** Share of successful requests whose log line is written (`tollgate:logSampleRate`); absent means 1, every line. */
    logSampleRate?: number;
    /** What the gateway tells upstreams about the caller (`tollgate:identity`). */
    identity: IdentitySettings;
    /** Origins besides the gateway's own from which the session cookie may authenticate an unsafe request (`tollgate:cors.allowOrigins`, without `*`); absent: none. */
    allowedOrigins?: string[];
    /** The function runs with X-Ray active tracing (`tollgate:lambda.tracing`): the trace upstreams and log lines are given is the invocation's X-Ray trace. */
    tracing?: boolean;
}

export interface IdentitySettings {
    /** Sign `x-gateway-assertion` on every proxied request. */
    assertion: boolean;
    /** Also send `x-gateway-user-id`, `x-gateway-roles`, `x-gateway-permissions`. */
    headers: boolean;
    /** The assertion's `iss`. */
    issuer: string;
    /** Seconds a container reuses an assertion for the same caller, route and claims (`tollgate:identity.assertionReuseSeconds`); absent or 0: one per request. */
    assertionReuseSeconds?: number;
}

export type LambdaHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** What the runtime bundle (runtime/lambda.ts) exports for `__index.js` to call once per container. */
export interface LambdaEntry {
    createLambdaHandler(captured: CapturedSettings): LambdaHandler;
}

/**
 * What the gateway keys secret (`GATEWAY_KEYS_SECRET_ARN`) holds, as JSON in
 * its SecretString: the Gateway component writes it, runtime/auth/gatewayKeys.ts
 * reads it, `npm start` keeps one per data directory.
 */
export interface KeyMaterial {
    /** PEM private keys on P-256 (PKCS#8 or SEC1); the first signs the identity assertion, all are published in the JWKS. */
    signingKeys: string[];
    /** The HMAC key of the log lines' `limiter_key_hash`, at least 32 characters. */
    logKey: string;
}

/** Names of the environment variables the Gateway component sets on the Lambda. */
export const environmentNames = {
    rateLimitTable: "DYNAMODB_RATE_LIMIT_TABLE",
    sessionTable: "DYNAMODB_SESSION_TABLE",
    region: "AWS_REGION_NAME",
    logLevel: "LOG_LEVEL",
    jwtSecretArn: "JWT_SECRET_ARN",
    /** The secret holding the assertion's signing keys and the log key (runtime/auth/gatewayKeys.ts). */
    gatewayKeysSecretArn: "GATEWAY_KEYS_SECRET_ARN",
    /** The signing key's generation: a rotation changes it, so Lambda starts containers that read the new keys. */
    gatewayKeyGeneration: "GATEWAY_KEY_GENERATION",
    dynamoEndpoint: "DYNAMODB_ENDPOINT",
} as const;

export function capturedSettings(settings: TollgateSettings): CapturedSettings {
    return {
        routes: settings.routes,
        defaultRateLimit: settings.defaultRateLimit,
        sessionCacheSeconds: settings.sessionCacheSeconds,
        rateLimitFailureMode: settings.rateLimitFailureMode,
        rateLimitIpv6PrefixLength: settings.rateLimitIpv6PrefixLength,
        upstreamTimeoutMs: settings.upstreamTimeoutMs,
        jwt: { ...settings.jwt },
        identity: {
            assertion: settings.identity.assertion,
            headers: settings.identity.headers,
            issuer: assertionIssuer(settings),
            assertionReuseSeconds: settings.identity.assertionReuseSeconds,
        },
        allowedOrigins: settings.cors.allowOrigins.filter((origin) => origin !== "*"),
        logSampleRate: settings.logSampleRate,
        tracing: settings.lambda.tracing,
        // Deployed, the API is HTTPS only: the cookie is always Secure there.
        sessions: { ...settings.sessions, cookie: { ...settings.sessions.cookie, secure: true } },
    };
}

/** The assertion's `iss`: `tollgate:identity.issuer`, else the custom domain's URL, else `urn:tollgate:<prefix>`. */
export function assertionIssuer(settings: Pick<TollgateSettings, "identity" | "domain" | "prefix">): string {
    return settings.identity.issuer ?? (settings.domain ? `https://${settings.domain.name}` : `urn:tollgate:${settings.prefix}`);
}
