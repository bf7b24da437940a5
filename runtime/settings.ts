/**
 * What the runtime needs to know, and where each part comes from.
 *
 * `CapturedSettings` (specs/lambda.ts) is plain data the Gateway component
 * captures into the Lambda's closure at deploy time. Table names, region, log
 * level and the ARNs of the JWT secret and the gateway's keys are deploy outputs, so they arrive as
 * environment variables and are read once per container by `settingsFromEnv`.
 * The local gateway builds the same `RuntimeSettings` directly.
 */
import { environmentNames, type CapturedSettings } from "../specs/lambda";
import type { GatewayKeysConfig } from "./auth/gatewayKeys";

export type { CapturedSettings } from "../specs/lambda";

export interface RuntimeSettings extends CapturedSettings {
    tables: { rateLimits: string; sessions: string };
    region: string;
    logLevel: string;
    /** Where the HS256 secret comes from: Secrets Manager (deployed) or a literal value (local gateway). */
    jwtSecret: { secretArn: string } | { value: string } | undefined;
    /** Where the assertion's signing keys and the log key come from: Secrets Manager (deployed) or the material itself (local gateway). */
    gatewayKeys: GatewayKeysConfig;
    /** DynamoDB endpoint override (local gateway, tests); unset means AWS. */
    dynamoEndpoint?: string;
    /**
     * Per-attempt request timeout of the stores, ms; unset means
     * `storeTimeouts.requestMs` (stores/dynamo.ts), what the Lambda uses.
     * The local gateway sets a longer one: its embedded store shares the
     * machine with the gateway and, under a load test, answers in seconds
     * where DynamoDB answers in milliseconds.
     */
    storeRequestTimeoutMs?: number;
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
        gatewayKeys: { secretArn: required(environmentNames.gatewayKeysSecretArn) },
        dynamoEndpoint: env[environmentNames.dynamoEndpoint] || undefined,
    };
}
