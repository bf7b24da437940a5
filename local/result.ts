/**
 * The response half of the API Gateway HTTP API emulation: what a Lambda
 * returned -> the HTTP response the client gets, by payload format 2.0 rules.
 *
 * - A structured result (one with `statusCode`) gives the status, `headers`,
 *   `multiValueHeaders`, one `Set-Cookie` line per entry of `cookies`, and
 *   `body`, base64-decoded when `isBase64Encoded`.
 * - Anything else is the simple response: API Gateway assumes status 200,
 *   `content-type: application/json`, and the value itself as the body (a
 *   string as it is, any other JSON value serialised).
 * - A result that cannot be one of those is the function's fault: API
 *   Gateway answers 500 Internal Server Error.
 */
import type { Reason } from "../specs/reasons";

export interface HttpAnswer {
    statusCode: number;
    /** Name/value pairs in order; a name may repeat (`set-cookie`). */
    headers: [string, string][];
    body: Buffer;
    /** Why the emulation answered itself (API Gateway's own answers), when it did. */
    reason?: Reason;
}

export class MalformedResultError extends Error {
    constructor(message: string) {
        super(`malformed Lambda proxy response: ${message}`);
        this.name = "MalformedResultError";
    }
}

/** Set by the gateway from the body it sends; a value from the function would be wrong or ambiguous. */
const serverControlledHeaders = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

type HeaderValue = string | number | boolean;

export function answerFromResult(result: unknown): HttpAnswer {
    if (typeof result === "string") return simpleAnswer(result);
    if (!isRecord(result) || result.statusCode === undefined) return simpleAnswer(JSON.stringify(result ?? null));

    const { statusCode, headers, multiValueHeaders, cookies, body, isBase64Encoded } = result;
    if (typeof statusCode !== "number" || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
        throw new MalformedResultError(`statusCode ${JSON.stringify(statusCode)} is not an HTTP status`);
    }
    const lines: [string, string][] = [];
    const add = (name: string, value: unknown, field: string) => {
        if (!isHeaderValue(value)) throw new MalformedResultError(`${field}.${name} is not a string, number or boolean`);
        if (!serverControlledHeaders.has(name.toLowerCase())) lines.push([name, String(value)]);
    };
    if (headers !== undefined && headers !== null) {
        if (!isRecord(headers)) throw new MalformedResultError("headers is not an object");
        for (const [name, value] of Object.entries(headers)) add(name, value, "headers");
    }
    if (multiValueHeaders !== undefined && multiValueHeaders !== null) {
        if (!isRecord(multiValueHeaders)) throw new MalformedResultError("multiValueHeaders is not an object");
        for (const [name, values] of Object.entries(multiValueHeaders)) {
            if (!Array.isArray(values)) throw new MalformedResultError(`multiValueHeaders.${name} is not a list`);
            for (const value of values) add(name, value, "multiValueHeaders");
        }
    }
    if (cookies !== undefined && cookies !== null) {
        if (!Array.isArray(cookies) || !cookies.every((cookie) => typeof cookie === "string")) {
            throw new MalformedResultError("cookies is not a list of strings");
        }
        for (const cookie of cookies) lines.push(["set-cookie", cookie]);
    }
    if (body !== undefined && body !== null && typeof body !== "string") throw new MalformedResultError("body is not a string");
    const text = (body as string | undefined | null) ?? "";
    return {
        statusCode,
        headers: lines,
        body: isBase64Encoded === true ? Buffer.from(text, "base64") : Buffer.from(text, "utf8"),
    };
}

function simpleAnswer(body: string): HttpAnswer {
    return { statusCode: 200, headers: [["content-type", "application/json"]], body: Buffer.from(body, "utf8") };
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isHeaderValue(value: unknown): value is HeaderValue {
    return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/** An RFC 9457 problem body without internal detail, as the gateway's own errors are; `reason` says why API Gateway would answer it. */
export function problemAnswer(statusCode: number, title: string, reason?: Reason): HttpAnswer {
    return {
        statusCode,
        headers: [["content-type", "application/problem+json"]],
        body: Buffer.from(JSON.stringify({ type: "about:blank", title, status: statusCode })),
        ...(reason ? { reason } : {}),
    };
}
