/**
 * The stores' DynamoDB clients, and what both stores ask of one: a
 * `StoreClient` makes one operation at a time, its input and output in the
 * low-level form the stores write by hand.
 *
 * - The gateway's is the wire client (runtime/awsClient.ts): it signs and sends
 *   each call itself, over the runtime's keep-alive HTTP client, with the
 *   credentials Lambda puts in the environment. `createStoreClient` builds
 *   it, once per `createHandler` call (once per Lambda container).
 * - The session library (`tollgate/sessions`), the sessions command, and a
 *   machine without credentials in its environment (a profile, SSO) use the
 *   SDK's client (`sdkStoreClient`), which finds credentials wherever the
 *   SDK does. `createDynamoClient` (stores/sdkClient.ts, loaded only where
 *   one is built) builds it with less per-call work than
 *   the SDK's defaults, measured by the benchmark: the middleware stack
 *   resolved once per command (`cacheMiddleware`; a middleware added to the
 *   client must therefore be added before its first call); the same short
 *   User-Agent every call, instead of one the SDK builds anew per call (a
 *   quarter of its CPU per call); no logger middleware (it filters every
 *   input and output for a logger that is not there) and no
 *   recursion-detection middleware (it copies the Lambda's trace id into a
 *   header DynamoDB takes no part in).
 *
 * Timeouts that hold, on both: a store call gives up after at most
 * `storeGiveUpMs` and the limiter fails open or closed, authentication
 * answers 503. (The installed `@smithy/node-http-handler` only logs a
 * warning when `requestTimeout` passes unless `throwOnRequestTimeout` is
 * set, and its socket timeout is off by default; the SDK's client is built
 * with both.)
 */
import type {
    DeleteItemInput,
    DeleteItemOutput,
    DynamoDBClient,
    DynamoDBClientConfig,
    GetItemInput,
    GetItemOutput,
    PutItemInput,
    PutItemOutput,
    QueryInput,
    QueryOutput,
    UpdateItemInput,
    UpdateItemOutput,
} from "@aws-sdk/client-dynamodb";
import { isLoopbackUrl } from "../../specs/routes";
import type { UpstreamClient } from "../upstream/client";
import { createWireClient, dynamodbService, environmentCredentials, serviceEndpoint, type WireCredentials } from "../awsClient";

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

/** The AWS client's attempts (runtime/awsClient.ts), each bounded as a whole: connecting, the answer and its body. */
export const storeAttempts = {
    maxAttempts: storeTimeouts.maxAttempts,
    attemptTimeoutMs: Math.max(storeTimeouts.connectionMs, storeTimeouts.requestMs),
    backoffMs: storeTimeouts.backoffMs,
} as const;

/** The longest a store call can take before it fails: every attempt timing out, and the backoff between them. */
export const storeGiveUpMs = storeAttempts.maxAttempts * storeAttempts.attemptTimeoutMs + storeAttempts.backoffMs;

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

/** The operations the stores make, each with its input and output as the low-level API writes them. */
export interface StoreOperations {
    GetItem: [GetItemInput, GetItemOutput];
    PutItem: [PutItemInput, PutItemOutput];
    UpdateItem: [UpdateItemInput, UpdateItemOutput];
    DeleteItem: [DeleteItemInput, DeleteItemOutput];
    Query: [QueryInput, QueryOutput];
}
export type StoreOperation = keyof StoreOperations;

/**
 * What the stores ask of DynamoDB: one operation at a time. The gateway's is
 * the wire client (runtime/awsClient.ts); the session library and the sessions
 * command give an SDK client (`sdkStoreClient`), with whatever credentials
 * the SDK finds.
 */
export interface StoreClient {
    /** Which client makes the calls. */
    readonly via: "wire" | "sdk";
    call<O extends StoreOperation>(operation: O, input: StoreOperations[O][0]): Promise<StoreOperations[O][1]>;
    destroy(): void;
}

type SdkCommand = new (input: object) => Parameters<DynamoDBClient["send"]>[0];

/** The SDK's command classes, loaded on the first call that needs them: the Lambda never loads the SDK's DynamoDB client (about 100 ms of a cold start). */
let sdkCommands: Promise<Record<StoreOperation, SdkCommand>> | undefined;
const loadSdkCommands = () =>
    (sdkCommands ??= import("@aws-sdk/client-dynamodb").then((sdk) => ({
        GetItem: sdk.GetItemCommand,
        PutItem: sdk.PutItemCommand,
        UpdateItem: sdk.UpdateItemCommand,
        DeleteItem: sdk.DeleteItemCommand,
        Query: sdk.QueryCommand,
    })) as Promise<Record<StoreOperation, SdkCommand>>);

/** The stores' calls made through an SDK client (a promise of one, built when first needed), its credentials, retries and middleware as configured. */
export function sdkStoreClient(client: DynamoDBClient | Promise<DynamoDBClient>): StoreClient {
    const ready = Promise.resolve(client);
    return {
        via: "sdk",
        async call(operation, input) {
            const [sdk, commands] = await Promise.all([ready, loadSdkCommands()]);
            return sdk.send(new commands[operation](input)) as never;
        },
        destroy: () => void ready.then((sdk) => sdk.destroy(), () => undefined),
    };
}

/** A store client, or an SDK client to make one of. */
export type DynamoInput = StoreClient | DynamoDBClient;

export function asStoreClient(dynamo: DynamoInput): StoreClient {
    return "call" in dynamo && typeof dynamo.call === "function" ? dynamo : sdkStoreClient(dynamo as DynamoDBClient);
}

/**
 * The gateway's client: DynamoDB spoken directly (awsClient.ts) with the
 * credentials Lambda puts in the environment, or any on loopback, at the
 * endpoint the SDK would choose (the one given, `AWS_ENDPOINT_URL_DYNAMODB`
 * or `AWS_ENDPOINT_URL`, else the region's). Where there are no credentials
 * (a developer's machine with a profile or SSO), or the SDK's endpoint rules
 * would choose another endpoint (FIPS, dual-stack, an isolated partition),
 * the SDK's client, loaded then.
 */
export function createStoreClient(options: DynamoClientOptions & { transport?: UpstreamClient; credentials?: WireCredentials }, env: NodeJS.ProcessEnv = process.env): StoreClient {
    const endpoint = serviceEndpoint(dynamodbService, options.region, options.endpoint, env);
    const credentials = options.credentials ?? environmentCredentials(env) ?? (isLoopbackUrl(endpoint) ? loopbackCredentials : undefined);
    if (!credentials || !endpoint) return sdkStoreClient(import("./sdkClient").then(({ createDynamoClient }) => createDynamoClient(options)));
    const wire = createWireClient({
        service: dynamodbService,
        region: options.region,
        endpoint,
        credentials,
        ...storeAttempts,
        maxAttempts: options.maxAttempts ?? storeAttempts.maxAttempts,
        attemptTimeoutMs: Math.max(options.connectionTimeoutMs ?? storeTimeouts.connectionMs, options.requestTimeoutMs ?? storeTimeouts.requestMs),
        transport: options.transport,
        userAgent: storeUserAgent,
    });
    return { via: "wire", call: (operation, input) => wire.call(operation, input) as never, destroy: () => wire.destroy() };
}

/** What the client sends as its User-Agent, every call. */
export const storeUserAgent = "tollgate";

/** Stores on loopback accept any credentials; these spare a developer from having AWS ones. */
export const loopbackCredentials = { accessKeyId: "local", secretAccessKey: "local" };

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
