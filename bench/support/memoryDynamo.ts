/**
 * DynamoDB answered in memory, at once and without a socket, where each
 * client hands its signed request to HTTP: `memoryDynamo` is the store
 * client the handler builds (runtime/awsClient.ts), its transport answering
 * in memory, so its serialising, signing and parsing are all a run through
 * it measures; `plainMemoryDynamo` is the SDK's client as a handler written
 * in a few lines would build it (low-level, cached middleware, nothing else
 * changed), an HTTP handler answering in memory, so the SDK's middleware,
 * signing, serialising and parsing are what it measures.
 *
 * UpdateItem answers a count of 1 (every request admitted); GetItem answers
 * `sessionItem` for the sessions table and a previous window's count for
 * the rate-limits table.
 */
import { Readable } from "node:stream";
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { createStoreClient, type StoreClient } from "../../runtime/stores/dynamo";
import type { UpstreamClient } from "../../runtime/upstream/client";

const headers = { "content-type": "application/x-amz-json-1.0" };
const answers = {
    update: JSON.stringify({ Attributes: { request_count: { N: "1" } } }),
    previousWindow: JSON.stringify({ Item: { request_count: { N: "3" } } }),
};

/** A session item as the store writes it, valid until 2100. */
export function sessionItemJson(userId: string): string {
    return JSON.stringify({
        Item: {
            session_id: { S: "0".repeat(64) },
            user_id: { S: userId },
            roles: { L: [{ S: "reader" }] },
            permissions: { L: [] },
            created_at: { N: "1764000000" },
            expires_at: { N: "4102444800" },
            ttl_seconds: { N: "86400" },
        },
    });
}

/** What the SDK hands an HTTP handler: the parts this one reads. */
interface SignedRequest {
    headers: Record<string, string>;
    body?: unknown;
}

/** Whether a request body (a string, or the bytes the SDK serialised) contains `text`. */
function mentions(body: unknown, text: string): boolean {
    if (typeof body === "string") return body.includes(text);
    if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).includes(text);
    return false;
}

/** The answer to one signed request, by its `x-amz-target` and what its body names. */
function answerTo(request: SignedRequest, sessionsTable: string, sessionItem: string): string {
    const target = String(request.headers["x-amz-target"] ?? "");
    if (target.endsWith(".UpdateItem")) return answers.update;
    if (target.endsWith(".GetItem")) return mentions(request.body, sessionsTable) ? sessionItem : answers.previousWindow;
    throw new Error(`the in-memory DynamoDB answers UpdateItem and GetItem, not ${target}`);
}

class MemoryHandler {
    constructor(
        private readonly sessionsTable: string,
        private readonly sessionItem: string,
    ) {}

    async handle(request: SignedRequest) {
        const body = answerTo(request, this.sessionsTable, this.sessionItem);
        return { response: { statusCode: 200, headers, body: Readable.from([Buffer.from(body)]) } };
    }

    updateHttpClientConfig(): void {}

    httpHandlerConfigs() {
        return {};
    }
}

function memoryHandler(options: { sessionsTable: string; userId: string }): DynamoDBClientConfig["requestHandler"] {
    return new MemoryHandler(options.sessionsTable, sessionItemJson(options.userId)) as unknown as DynamoDBClientConfig["requestHandler"];
}

/** The wire client's transport, answering in memory with the bytes a socket would have given it. */
function memoryTransport(options: { sessionsTable: string; userId: string }): UpstreamClient {
    const sessionItem = sessionItemJson(options.userId);
    const answerHeaders: [string, string][] = Object.entries(headers);
    return { send: async (request) => ({ kind: "answered", answer: { status: 200, headers: answerHeaders, body: Buffer.from(answerTo(request, options.sessionsTable, sessionItem)) } }) };
}

/** tollgate's store client (runtime/stores/dynamo.ts) with DynamoDB answered in memory. */
export function memoryDynamo(options: { sessionsTable: string; userId: string }): StoreClient {
    return createStoreClient({
        region: "eu-west-1",
        endpoint: "http://dynamodb.memory.invalid",
        credentials: { accessKeyId: "memory", secretAccessKey: "memory" },
        maxAttempts: 1,
        transport: memoryTransport(options),
    });
}

/** The SDK's low-level client with cached middleware and nothing else changed, DynamoDB answered in memory. */
export function plainMemoryDynamo(options: { sessionsTable: string; userId: string }): DynamoDBClient {
    return new DynamoDBClient({
        region: "eu-west-1",
        endpoint: "http://dynamodb.memory.invalid",
        credentials: { accessKeyId: "memory", secretAccessKey: "memory" },
        maxAttempts: 1,
        cacheMiddleware: true,
        requestHandler: memoryHandler(options),
    });
}
