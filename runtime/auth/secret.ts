/**
 * The HS256 secret of JWT routes. Deployed, it lives in Secrets Manager
 * (`JWT_SECRET_ARN`) and is fetched once per container, on the first JWT that
 * needs it; a failed fetch is not cached, so the next request tries again.
 * Locally it is a plain value.
 *
 * The fetch has the stores' timeouts (stores/dynamo.ts), enforced the same
 * way: a Secrets Manager that does not answer costs the request at most
 * `storeGiveUpMs` and a 503, not the Lambda's whole timeout.
 */
import type { RuntimeSettings } from "../settings";
import { createWireClient, environmentCredentials, secretsManagerService, serviceEndpoint } from "../awsClient";
import { storeAttempts, storeTimeouts } from "../stores/dynamo";

export type SecretLoader = (secretArn: string) => Promise<string>;

/**
 * Reads a secret's `SecretString`: through runtime/awsClient.ts with the
 * credentials Lambda puts in the environment, or, where there are none or
 * the SDK's endpoint rules would choose another endpoint, with the AWS SDK's
 * client, loaded and made on first use, once.
 */
export function secretsManagerLoader(region: string, env: NodeJS.ProcessEnv = process.env): SecretLoader {
    const endpoint = serviceEndpoint(secretsManagerService, region, undefined, env);
    const credentials = environmentCredentials(env);
    if (endpoint && credentials) {
        const client = createWireClient({ service: secretsManagerService, region, endpoint, credentials, ...storeAttempts });
        return async (secretArn) => secretStringOf(await client.call("GetSecretValue", { SecretId: secretArn }));
    }
    let client: import("@aws-sdk/client-secrets-manager").SecretsManagerClient | undefined;
    return async (secretArn) => {
        const { SecretsManagerClient, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
        client ??= new SecretsManagerClient({
            region,
            maxAttempts: storeTimeouts.maxAttempts,
            requestHandler: {
                connectionTimeout: storeTimeouts.connectionMs,
                requestTimeout: storeTimeouts.requestMs,
                throwOnRequestTimeout: true,
                socketTimeout: storeTimeouts.socketIdleMs,
            },
        });
        return secretStringOf(await client.send(new GetSecretValueCommand({ SecretId: secretArn })));
    };
}

function secretStringOf(result: { SecretString?: unknown }): string {
    if (typeof result.SecretString !== "string" || result.SecretString === "") throw new Error("the secret has no SecretString");
    return result.SecretString;
}

/** Returns the secret's bytes, or undefined when no secret is configured. */
export function createSecretSource(config: RuntimeSettings["jwtSecret"], load: SecretLoader): () => Promise<Uint8Array | undefined> {
    if (!config) return async () => undefined;
    if ("value" in config) {
        const bytes = new TextEncoder().encode(config.value);
        return async () => bytes;
    }
    let pending: Promise<Uint8Array> | undefined;
    return () => {
        pending ??= load(config.secretArn).then(
            (secret) => new TextEncoder().encode(secret),
            (error) => {
                pending = undefined;
                throw error;
            },
        );
        return pending;
    };
}
