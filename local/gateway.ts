/**
 * A local stand-in for API Gateway HTTP API with one `$default` Lambda
 * integration (payload format 2.0): an HTTP server on 127.0.0.1 that turns
 * each request into an event (event.ts), calls the handler in-process, and
 * turns its result into the response (result.ts).
 *
 * What API Gateway itself answers is emulated too: a request body over 10 MB
 * is refused with 413, a function that throws or returns a malformed result
 * gives 500, a function that outlives its timeout gives 500 (Lambda's
 * timeout) or 503 (API Gateway's 30-second integration timeout), all without
 * internal detail. With a CORS configuration, preflight requests are
 * answered here and CORS headers set as API Gateway sets them (cors.ts).
 * Every response carries `apigw-requestid`, as AWS's do. An answer the
 * emulation makes itself writes a log line like the handler's, with its
 * `reason` (specs/reasons.ts: `request.too_large`, `integration.timeout`,
 * `function.failed`), where API Gateway would only count it in its access log.
 * `onExchange` is told of every request and its answer (the inspector).
 */
import * as http from "node:http";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Context } from "aws-lambda";
import { buildEvent, newRequestId, type ApiIdentity, type GatewayEvent } from "./event";
import { answerFromResult, problemAnswer, type HttpAnswer } from "./result";
import { isPreflight, preflightAnswer, withCorsHeaders, type CorsSettings } from "./cors";
import { continueOrStart, randomTraceIds } from "../runtime/steps/trace";

/** A request as it arrived and the answer it got, for the inspector. */
export interface Exchange {
    requestId: string;
    /** Epoch milliseconds when it arrived. */
    receivedAt: number;
    method: string;
    /** Path and query as sent. */
    target: string;
    /** Header names and values as sent, in order. */
    rawHeaders: string[];
    /** The body, or undefined when it was not read (too large). */
    body?: Buffer;
    status: number;
    /** The headers the client was sent. */
    headers: [string, string][];
    latencyMs: number;
    /** Why the emulation answered itself, when it did. */
    reason?: HttpAnswer["reason"];
}

export type GatewayHandler = (event: GatewayEvent, context: Context) => Promise<unknown>;

export interface GatewayOptions {
    handler: GatewayHandler;
    /** Port on 127.0.0.1; 0 picks a free one. */
    port: number;
    host?: string;
    /** API Gateway's request payload limit. Default 10 MB. */
    maxBodyBytes?: number;
    /** The function's timeout (`tollgate:lambda.timeoutSeconds`); past it the invocation fails with 500. Default 30 s. */
    functionTimeoutMs?: number;
    /** The API's CORS configuration (`tollgate:cors`); unset: no CORS handling, as an API without one. */
    cors?: CorsSettings;
    /** API Gateway's integration timeout; past it the client gets 503. Default 30 s, the HTTP API maximum. */
    integrationTimeoutMs?: number;
    functionName?: string;
    memoryMb?: number;
    region?: string;
    api?: ApiIdentity;
    /** Where a failing invocation is reported (as Lambda would log it). Default stderr. */
    logError?: (message: string) => void;
    /** Where the emulation's own answers are logged, one JSON line each. Default stdout. */
    log?: (line: string) => void;
    /** Told of each request and its answer once it is sent. */
    onExchange?: (exchange: Exchange) => void;
}

export interface RunningGateway {
    url: string;
    port: number;
    server: http.Server;
    close(): Promise<void>;
}

export const apiGatewayLimits = {
    maxBodyBytes: 10 * 1024 * 1024,
    integrationTimeoutMs: 30_000,
} as const;

export class PortInUseError extends Error {
    constructor(readonly port: number) {
        super(`port ${port} is in use`);
        this.name = "PortInUseError";
    }
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
    const host = options.host ?? "127.0.0.1";
    const server = http.createServer((request, response) => {
        serve(request, response, options).catch((error) => {
            // Only the write itself can fail here (client gone); nothing left to answer.
            (options.logError ?? defaultLogError)(`tollgate local: could not answer a request: ${(error as Error).message}`);
            response.destroy();
        });
    });
    // Keep-alive connections from clients would otherwise hold close() open.
    server.keepAliveTimeout = 5_000;
    await listen(server, options.port, host);
    const port = (server.address() as AddressInfo).port;
    return {
        url: `http://${host}:${port}`,
        port,
        server,
        close: () =>
            new Promise<void>((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
            }),
    };
}

export function listen(server: http.Server, port: number, host: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new PortInUseError(port) : error);
        server.once("error", onError);
        server.listen(port, host, () => {
            server.off("error", onError);
            resolve();
        });
    });
}

const traceIds = randomTraceIds();

async function serve(request: http.IncomingMessage, response: http.ServerResponse, options: GatewayOptions): Promise<void> {
    const requestId = newRequestId();
    const receivedAt = Date.now();
    const maxBodyBytes = options.maxBodyBytes ?? apiGatewayLimits.maxBodyBytes;
    const body = await readBody(request, maxBodyBytes);
    if (body === "aborted") return;

    let answer: HttpAnswer;
    if (body === "too large") {
        answer = problemAnswer(413, "Request Entity Too Large", "request.too_large");
    } else if (options.cors && isPreflight(request.method ?? "", request.headers)) {
        answer = preflightAnswer(options.cors, request.headers);
    } else {
        const event = buildEvent(
            {
                method: request.method ?? "GET",
                target: request.url ?? "/",
                httpVersion: request.httpVersion,
                rawHeaders: request.rawHeaders,
                body,
                remoteAddress: request.socket.remoteAddress ?? "",
                localPort: request.socket.localPort ?? 0,
            },
            { requestId, now: new Date(), api: options.api },
        );
        answer = await invoke(event, options);
        if (options.cors) answer = withCorsHeaders(options.cors, request.headers, answer);
    }
    answer = send(response, answer, requestId, request.method === "HEAD", options.logError ?? defaultLogError);
    const latencyMs = Date.now() - receivedAt;
    if (answer.reason) {
        const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
        (options.log ?? defaultLog)(
            JSON.stringify({
                level: answer.statusCode >= 500 ? "ERROR" : "WARN",
                timestamp: new Date().toISOString(),
                correlation_id: requestId,
                trace_id: continueOrStart(headers, traceIds).traceId,
                method: request.method,
                status: answer.statusCode,
                latency_ms: latencyMs,
                reason: answer.reason,
            }),
        );
    }
    options.onExchange?.({
        requestId,
        receivedAt,
        method: request.method ?? "GET",
        target: request.url ?? "/",
        rawHeaders: request.rawHeaders,
        body: body === "too large" ? undefined : body,
        status: answer.statusCode,
        headers: [...answer.headers, ["apigw-requestid", requestId]],
        latencyMs,
        reason: answer.reason,
    });
}

/** The whole body, or why there is none: over the limit (read to the end and dropped, so the client sees the 413) or the client went away. */
function readBody(request: http.IncomingMessage, maxBytes: number): Promise<Buffer | "too large" | "aborted"> {
    return new Promise((resolve) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let tooLarge = Number(request.headers["content-length"] ?? 0) > maxBytes;
        request.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) tooLarge = true;
            if (!tooLarge) chunks.push(chunk);
        });
        request.on("end", () => resolve(tooLarge ? "too large" : Buffer.concat(chunks, size)));
        request.on("error", () => resolve("aborted"));
        request.on("aborted", () => resolve("aborted"));
    });
}

async function invoke(event: GatewayEvent, options: GatewayOptions): Promise<HttpAnswer> {
    const functionTimeoutMs = options.functionTimeoutMs ?? 30_000;
    const integrationTimeoutMs = options.integrationTimeoutMs ?? apiGatewayLimits.integrationTimeoutMs;
    const context = lambdaContext(options, Date.now() + functionTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<HttpAnswer>((resolve) => {
        const integrationFirst = integrationTimeoutMs <= functionTimeoutMs;
        timer = setTimeout(
            () => {
                (options.logError ?? defaultLogError)(
                    integrationFirst
                        ? `${event.requestContext.requestId} API Gateway integration timeout: no answer within ${integrationTimeoutMs} ms`
                        : `${event.requestContext.requestId} Task timed out after ${(functionTimeoutMs / 1000).toFixed(2)} seconds`,
                );
                resolve(integrationFirst ? problemAnswer(503, "Service Unavailable", "integration.timeout") : problemAnswer(500, "Internal Server Error", "function.failed"));
            },
            Math.min(integrationTimeoutMs, functionTimeoutMs),
        );
    });
    const invocation = (async () => {
        try {
            return answerFromResult(await options.handler(event, context));
        } catch (error) {
            // The client learns nothing; the developer sees what Lambda would have logged.
            (options.logError ?? defaultLogError)(`${event.requestContext.requestId} invocation failed: ${(error as Error)?.stack ?? String(error)}`);
            return problemAnswer(500, "Internal Server Error", "function.failed");
        }
    })();
    try {
        return await Promise.race([invocation, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

/** Writes the answer; the answer sent (a 500 instead of one that cannot be sent). */
function send(response: http.ServerResponse, answer: HttpAnswer, requestId: string, isHead: boolean, logError: (message: string) => void): HttpAnswer {
    const invalid = answer.headers.find(([name, value]) => !isSendable(name, value));
    if (invalid) {
        // A header Node cannot send (a newline in a value, say) is the function's fault, as on AWS.
        logError(`${requestId} malformed Lambda proxy response: header ${JSON.stringify(invalid[0])} cannot be sent`);
        answer = problemAnswer(500, "Internal Server Error", "function.failed");
    }
    // These statuses have no body, so no length either.
    const bodiless = answer.statusCode < 200 || answer.statusCode === 204 || answer.statusCode === 304;
    const headers: string[] = answer.headers.flat();
    headers.push("apigw-requestid", requestId);
    if (!bodiless) headers.push("content-length", String(answer.body.length));
    response.writeHead(answer.statusCode, headers);
    response.end(isHead || bodiless ? undefined : answer.body);
    return answer;
}

function isSendable(name: string, value: string): boolean {
    try {
        http.validateHeaderName(name);
        http.validateHeaderValue(name, value);
        return true;
    } catch {
        return false;
    }
}

function defaultLogError(message: string): void {
    process.stderr.write(`${message}\n`);
}

function defaultLog(line: string): void {
    process.stdout.write(`${line}\n`);
}

function lambdaContext(options: GatewayOptions, deadline: number): Context {
    const functionName = options.functionName ?? "tollgate-local";
    const region = options.region ?? "us-east-1";
    const accountId = options.api?.accountId ?? "123456789012";
    const fail = () => {
        throw new Error("context.done/fail/succeed are not supported: return a value or throw");
    };
    return {
        callbackWaitsForEmptyEventLoop: true,
        functionName,
        functionVersion: "$LATEST",
        invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
        memoryLimitInMB: String(options.memoryMb ?? 512),
        awsRequestId: randomUUID(),
        logGroupName: `/aws/lambda/${functionName}`,
        logStreamName: "local",
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        done: fail,
        fail,
        succeed: fail,
    };
}
