/**
 * The one DynamoDB client a container uses. Built once per `createHandler`
 * call (once per Lambda container) and shared by both stores.
 *
 * Timeouts and attempts are short on purpose: DynamoDB answers in
 * milliseconds, and when it does not, the limiter's fail-open/closed decision
 * and the 503 of authentication should come quickly rather than after the
 * SDK's default backoff.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export interface DynamoClientOptions {
    region: string;
    /** Endpoint override (local gateway, DynamoDB Local, dynalite); unset means AWS. */
    endpoint?: string;
    maxAttempts?: number;
    connectionTimeoutMs?: number;
    requestTimeoutMs?: number;
}

/** Stores on loopback accept any credentials; these spare a developer from having AWS ones. */
const loopbackCredentials = { accessKeyId: "local", secretAccessKey: "local" };

export function isLoopbackEndpoint(endpoint: string | undefined): boolean {
    if (!endpoint) return false;
    try {
        const host = new URL(endpoint).hostname;
        return host === "localhost" || host === "[::1]" || host.startsWith("127.");
    } catch {
        return false;
    }
}

export function createDynamoClient(options: DynamoClientOptions): DynamoDBClient {
    return new DynamoDBClient({
        region: options.region,
        endpoint: options.endpoint,
        credentials: isLoopbackEndpoint(options.endpoint) && !process.env.AWS_ACCESS_KEY_ID ? loopbackCredentials : undefined,
        maxAttempts: options.maxAttempts ?? 2,
        requestHandler: {
            connectionTimeout: options.connectionTimeoutMs ?? 1000,
            requestTimeout: options.requestTimeoutMs ?? 3000,
        },
    });
}

export function documentClientOf(client: DynamoDBClient): DynamoDBDocumentClient {
    return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function createDocumentClient(options: DynamoClientOptions): DynamoDBDocumentClient {
    return documentClientOf(createDynamoClient(options));
}

/** True for the error DynamoDB returns when a ConditionExpression does not hold. */
export function isConditionalCheckFailed(error: unknown): boolean {
    return (error as { name?: string } | undefined)?.name === "ConditionalCheckFailedException";
}
