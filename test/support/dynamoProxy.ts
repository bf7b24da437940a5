/**
 * A DynamoDB endpoint that misbehaves on purpose: an HTTP proxy on a free
 * loopback port in front of a real store (dynalite, DynamoDB Local) that
 * passes requests through, except where a rule says to throttle a call
 * (400 ProvisionedThroughputExceededException), to let only part of a batch
 * through and answer the rest as UnprocessedItems/UnprocessedKeys the way
 * DynamoDB does under load, or to hold a call or its answer back for a while.
 */
import * as http from "node:http";
import { listenOnLoopback } from "./loopback";

export interface ProxiedCall {
    /** `BatchWriteItem`, `BatchGetItem`, `Scan`... (from the X-Amz-Target header). */
    operation: string;
    /** Calls of this operation so far, this one included. */
    count: number;
    body: any;
    /** The body's bytes as they arrived. */
    raw: Buffer;
    /** The HTTP headers the client sent with the call. */
    headers: http.IncomingHttpHeaders;
}

export type ProxyAction =
    /** `delayMs` holds the call back before it reaches the store; `answerDelayMs` lets it through at once and holds back the answer (a write that lands, and an answer that comes too late). */
    | { kind: "forward"; delayMs?: number; answerDelayMs?: number }
    | { kind: "throttle" }
    /** Forward the first `forward` write requests (BatchWriteItem) or keys (BatchGetItem) of each table; answer the rest as unprocessed. */
    | { kind: "partial"; forward: number; delayMs?: number };

export type ProxyRule = (call: ProxiedCall) => ProxyAction | undefined;

export interface DynamoProxy {
    endpoint: string;
    /** What the proxy did with each call, in order. */
    log: { operation: string; action: ProxyAction["kind"]; requests: number; unprocessed: number }[];
    close(): Promise<void>;
}

function readBody(stream: http.IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        stream.on("data", (chunk) => chunks.push(chunk));
        stream.on("end", () => resolve(Buffer.concat(chunks)));
        stream.on("error", reject);
    });
}

function forward(target: URL, request: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
        const headers = { ...request.headers, host: target.host, "content-length": String(body.length) };
        const outgoing = http.request({ host: target.hostname, port: target.port, method: request.method, path: request.url, headers }, async (response) => {
            try {
                resolve({ status: response.statusCode ?? 502, headers: response.headers, body: await readBody(response) });
            } catch (error) {
                reject(error);
            }
        });
        outgoing.on("error", reject);
        outgoing.end(body);
    });
}

function sendJson(response: http.ServerResponse, status: number, payload: unknown): void {
    const text = JSON.stringify(payload);
    // No x-amz-crc32: the SDK checks it only when present.
    response.writeHead(status, { "content-type": "application/x-amz-json-1.0", "content-length": Buffer.byteLength(text) });
    response.end(text);
}

/** Splits each table's requests (or keys) into the part forwarded and the part answered as unprocessed. */
function splitBatch(operation: string, body: any, forwardCount: number): { forwarded: any; unprocessed: any; requests: number; held: number } {
    const forwarded: Record<string, unknown> = {};
    const unprocessed: Record<string, unknown> = {};
    let requests = 0;
    let held = 0;
    for (const [table, entry] of Object.entries<any>(body.RequestItems ?? {})) {
        if (operation === "BatchWriteItem") {
            requests += entry.length;
            if (entry.length > forwardCount) unprocessed[table] = entry.slice(forwardCount);
            if (forwardCount > 0) forwarded[table] = entry.slice(0, forwardCount);
            held += Math.max(0, entry.length - forwardCount);
        } else {
            requests += entry.Keys.length;
            if (entry.Keys.length > forwardCount) unprocessed[table] = { ...entry, Keys: entry.Keys.slice(forwardCount) };
            if (forwardCount > 0) forwarded[table] = { ...entry, Keys: entry.Keys.slice(0, forwardCount) };
            held += Math.max(0, entry.Keys.length - forwardCount);
        }
    }
    return { forwarded: { ...body, RequestItems: forwarded }, unprocessed, requests, held };
}

export async function startDynamoProxy(targetEndpoint: string, rule: ProxyRule): Promise<DynamoProxy> {
    const target = new URL(targetEndpoint);
    const counts = new Map<string, number>();
    const log: DynamoProxy["log"] = [];
    const server = http.createServer(async (request, response) => {
        try {
            const raw = await readBody(request);
            const operation = String(request.headers["x-amz-target"] ?? "").split(".").pop() ?? "";
            const count = (counts.get(operation) ?? 0) + 1;
            counts.set(operation, count);
            const body = raw.length ? JSON.parse(raw.toString("utf8")) : {};
            const action = rule({ operation, count, body, raw, headers: request.headers }) ?? { kind: "forward" };
            const requests = operation === "BatchWriteItem" ? Object.values<any>(body.RequestItems ?? {}).reduce((n, e) => n + e.length, 0) : 0;
            if (action.kind === "throttle") {
                log.push({ operation, action: action.kind, requests, unprocessed: requests });
                return sendJson(response, 400, {
                    __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                    message: "The level of configured provisioned throughput for the table was exceeded.",
                });
            }
            if (action.delayMs) await new Promise((resolve) => setTimeout(resolve, action.delayMs));
            if (action.kind === "partial" && (operation === "BatchWriteItem" || operation === "BatchGetItem")) {
                const split = splitBatch(operation, body, action.forward);
                log.push({ operation, action: action.kind, requests: split.requests, unprocessed: split.held });
                let result: any = operation === "BatchWriteItem" ? { UnprocessedItems: {} } : { Responses: {}, UnprocessedKeys: {} };
                if (Object.keys(split.forwarded.RequestItems).length > 0) {
                    const upstream = await forward(target, request, Buffer.from(JSON.stringify(split.forwarded)));
                    if (upstream.status !== 200) {
                        response.writeHead(upstream.status, { "content-type": upstream.headers["content-type"] ?? "application/x-amz-json-1.0" });
                        return response.end(upstream.body);
                    }
                    result = JSON.parse(upstream.body.toString("utf8"));
                }
                const key = operation === "BatchWriteItem" ? "UnprocessedItems" : "UnprocessedKeys";
                result[key] = result[key] ?? {};
                for (const [table, entry] of Object.entries<any>(split.unprocessed)) {
                    const already = result[key][table];
                    if (operation === "BatchWriteItem") result[key][table] = [...(already ?? []), ...entry];
                    else result[key][table] = { ...entry, Keys: [...(already?.Keys ?? []), ...entry.Keys] };
                }
                return sendJson(response, 200, result);
            }
            log.push({ operation, action: "forward", requests, unprocessed: 0 });
            const upstream = await forward(target, request, raw);
            if (action.kind === "forward" && action.answerDelayMs) await new Promise((resolve) => setTimeout(resolve, action.answerDelayMs));
            response.writeHead(upstream.status, upstream.headers);
            response.end(upstream.body);
        } catch (error) {
            if (!response.headersSent) sendJson(response, 500, { __type: "com.amazonaws.dynamodb.v20120810#InternalServerError", message: String(error) });
            else response.destroy();
        }
    });
    const { url, close } = await listenOnLoopback(server);
    return { endpoint: url, log, close };
}
