/**
 * DynamoDB answered in memory: an HTTP handler for the AWS SDK that answers
 * every call at once, without a socket, so the SDK's own work (middleware,
 * signing, serialising, parsing) is all a run through it measures.
 * `memoryDynamo` builds the client as the handler builds its own
 * (runtime/stores/dynamo.ts); `plainMemoryDynamo` as a handler written in a
 * few lines would (low-level, cached middleware, nothing else changed).
 *
 * UpdateItem answers a count of 1 (every request admitted); GetItem answers
 * `sessionItem` for the sessions table and a previous window's count for
 * the rate-limits table.
 */
import { Readable } from "node:stream";
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { createDynamoClient } from "../../runtime/stores/dynamo";

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

class MemoryHandler {
    constructor(
        private readonly sessionsTable: string,
        private readonly sessionItem: string,
    ) {}

    async handle(request: SignedRequest) {
        const target = String(request.headers["x-amz-target"] ?? "");
        let body: string;
        if (target.endsWith(".UpdateItem")) body = answers.update;
        else if (target.endsWith(".GetItem")) body = mentions(request.body, this.sessionsTable) ? this.sessionItem : answers.previousWindow;
        else throw new Error(`the in-memory DynamoDB answers UpdateItem and GetItem, not ${target}`);
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

/** tollgate's client (runtime/stores/dynamo.ts) with DynamoDB answered in memory. */
export function memoryDynamo(options: { sessionsTable: string; userId: string }): DynamoDBClient {
    // A loopback endpoint gets the client its local credentials; nothing connects to it.
    return createDynamoClient({ region: "eu-west-1", endpoint: "http://127.0.0.1:9", maxAttempts: 1, requestHandler: memoryHandler(options) });
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
