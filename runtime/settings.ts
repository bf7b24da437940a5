/**
 * What the runtime needs to know, and where each part comes from.
 *
 * `CapturedSettings` is plain data the Gateway component captures into the
 * Lambda's closure at deploy time (routes and behaviour). Table names, region,
 * log level and the JWT secret's ARN are deploy outputs, so they arrive as
 * environment variables and are read once per container by `settingsFromEnv`.
 * The local gateway builds the same `RuntimeSettings` directly.
 */
import type { RateLimitPolicy, RouteSpec } from "./specs/routes";
import type { TollgateSettings } from "./specs/config";

export interface CapturedSettings {
    routes: RouteSpec[];
    defaultRateLimit: RateLimitPolicy;
    sessionCacheSeconds: number;
    rateLimitFailureMode: "open" | "closed";
    upstreamTimeoutMs: number;
    jwt: { issuer?: string; audience?: string; jwksUrl?: string };
}

export interface RuntimeSettings extends CapturedSettings {
    tables: { rateLimits: string; sessions: string };
    region: string;
    logLevel: string;
    /** Where the HS256 secret comes from: Secrets Manager (deployed) or a literal value (local gateway). */
    jwtSecret: { secretArn: string } | { value: string } | undefined;
    /** DynamoDB endpoint override (local gateway, tests); unset means AWS. */
    dynamoEndpoint?: string;
}

/** Names of the environment variables the Gateway component sets on the Lambda. */
export const environmentNames = {
    rateLimitTable: "DYNAMODB_RATE_LIMIT_TABLE",
    sessionTable: "DYNAMODB_SESSION_TABLE",
    region: "AWS_REGION_NAME",
    logLevel: "LOG_LEVEL",
    jwtSecretArn: "JWT_SECRET_ARN",
    dynamoEndpoint: "DYNAMODB_ENDPOINT",
} as const;

export function capturedSettings(settings: TollgateSettings): CapturedSettings {
    return {
        routes: settings.routes,
        defaultRateLimit: settings.defaultRateLimit,
        sessionCacheSeconds: settings.sessionCacheSeconds,
        rateLimitFailureMode: settings.rateLimitFailureMode,
        upstreamTimeoutMs: settings.upstreamTimeoutMs,
        jwt: { ...settings.jwt },
    };
}

export function settingsFromEnv(captured: CapturedSettings, env: NodeJS.ProcessEnv = process.env): RuntimeSettings {
    const required = (name: string) => {
        const value = env[name];
        if (!value) throw new Error(`environment variable ${name} is not set`);
        return value;
    };
    return {
        ...captured,
        tables: { rateLimits: required(environmentNames.rateLimitTable), sessions: required(environmentNames.sessionTable) },
        region: env[environmentNames.region] ?? env.AWS_REGION ?? "us-east-1",
        logLevel: env[environmentNames.logLevel] ?? "INFO",
        jwtSecret: env[environmentNames.jwtSecretArn] ? { secretArn: env[environmentNames.jwtSecretArn]! } : undefined,
        dynamoEndpoint: env[environmentNames.dynamoEndpoint] || undefined,
    };
}
