/**
 * The SDK's DynamoDB client, as the session library, the sessions command
 * and a machine without credentials in its environment use it
 * (stores/dynamo.ts says what is trimmed and why). Its own module, so that
 * only what builds one loads the SDK: the Lambda does not.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { isLoopbackUrl } from "../../specs/routes";
import { loopbackCredentials, storeTimeouts, storeUserAgent, type DynamoClientOptions } from "./dynamo";

export function createDynamoClient(options: DynamoClientOptions): DynamoDBClient {
    const requestTimeout = options.requestTimeoutMs ?? storeTimeouts.requestMs;
    const client = new DynamoDBClient({
        region: options.region,
        endpoint: options.endpoint,
        credentials: isLoopbackUrl(options.endpoint) && !process.env.AWS_ACCESS_KEY_ID ? loopbackCredentials : undefined,
        maxAttempts: options.maxAttempts ?? storeTimeouts.maxAttempts,
        cacheMiddleware: true,
        requestHandler: options.requestHandler ?? {
            connectionTimeout: options.connectionTimeoutMs ?? storeTimeouts.connectionMs,
            requestTimeout,
            throwOnRequestTimeout: true,
            socketTimeout: Math.max(requestTimeout, storeTimeouts.socketIdleMs),
        },
    });
    client.middlewareStack.remove("loggerMiddleware");
    client.middlewareStack.remove("recursionDetectionMiddleware");
    if (client.middlewareStack.remove("getUserAgentMiddleware")) {
        client.middlewareStack.add(
            (next) => (args) => {
                const request = args.request as { headers?: Record<string, string> } | undefined;
                if (request?.headers) request.headers["user-agent"] = storeUserAgent;
                return next(args);
            },
            { step: "build", name: "fixedUserAgent" },
        );
    }
    return client;
}
