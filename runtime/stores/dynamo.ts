/**
 * The one DynamoDB client a container uses: the low-level client, built once
 * per `createHandler` call (once per Lambda container) and shared by both
 * stores, which hand it attribute values they build themselves.
 *
 * - `cacheMiddleware`: the client resolves each command's middleware stack
 *   once and reuses it, instead of rebuilding it on every call (the document
 *   client cannot do this; the stores do its marshalling by hand instead).
 *   A middleware added to the client must therefore be added before its
 *   first call.
 * - Less per-call work in the SDK, measured by the benchmark: the SDK builds
 *   its User-Agent header anew for every call (the features the call used,
 *   the app id, escaped and joined), a quarter of its CPU per call; DynamoDB
 *   needs none of it, and the client sends the same short one every time.
 *   Its logger middleware filters every input and output for a logger that
 *   is not there, and its recursion-detection middleware copies the Lambda's
 *   trace id into a header DynamoDB takes no part in (it neither sends X-Ray
 *   segments nor invokes Lambda); both are left out.
 * - Timeouts that hold: the installed `@smithy/node-http-handler` only logs
 *   a warning when `requestTimeout` passes unless `throwOnRequestTimeout` is
 *   set, and its socket timeout is off by default, so a DynamoDB that accepts
 *   a connection and never answers would hold a request until the Lambda's
 *   own timeout. With the values below a store call gives up after at most
 *   `storeGiveUpMs` and the limiter fails open or closed, authentication
 *   answers 503.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { isLoopbackUrl } from "../../specs/routes";

/**
 * How long a store waits on DynamoDB. DynamoDB answers a single-item call in
 * milliseconds; a second is a DynamoDB (or a network) in trouble.
 */
export const storeTimeouts = {
    /** To establish the TCP connection. */
    connectionMs: 1000,
    /** One attempt, from sending the request to the response's headers. */
    requestMs: 1000,
    /** Silence on the socket while a response body arrives. */
    socketIdleMs: 1000,
    /** Attempts per call, the first included; a timeout is retried once. A limiter write that landed before timing out is then counted twice: the counter runs ahead, never behind (docs/request-handling.md). */
    maxAttempts: 2,
    /** The SDK's longest backoff before the retry (standard mode: a random share of 2 x 50 ms). */
    backoffMs: 100,
} as const;

/** The longest a store call can take before it fails: every attempt timing out, and the backoff between them. */
export const storeGiveUpMs = storeTimeouts.maxAttempts * Math.max(storeTimeouts.connectionMs, storeTimeouts.requestMs) + storeTimeouts.backoffMs;

export interface DynamoClientOptions {
    region: string;
    /** Endpoint override (local gateway, DynamoDB Local, dynalite); unset means AWS. */
    endpoint?: string;
    maxAttempts?: number;
    connectionTimeoutMs?: number;
    requestTimeoutMs?: number;
    /** Replaces the HTTP handler, timeouts and all (the benchmark answers DynamoDB in memory). */
    requestHandler?: DynamoDBClientConfig["requestHandler"];
}

/** What the client sends as its User-Agent, every call. */
export const storeUserAgent = "tollgate aws-sdk-js";

/** Stores on loopback accept any credentials; these spare a developer from having AWS ones. */
const loopbackCredentials = { accessKeyId: "local", secretAccessKey: "local" };

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

/** True for the error DynamoDB returns when a ConditionExpression does not hold. */
export function isConditionalCheckFailed(error: unknown): boolean {
    return (error as { name?: string } | undefined)?.name === "ConditionalCheckFailedException";
}

/** Waits for a conditional write: true when it was made, false when its condition did not hold; any other failure is thrown. */
export async function conditionHeld(write: Promise<unknown>): Promise<boolean> {
    try {
        await write;
        return true;
    } catch (error) {
        if (isConditionalCheckFailed(error)) return false;
        throw error;
    }
}
