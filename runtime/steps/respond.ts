/**
 * Step 5 (the gateway's own answers): RFC 9457 problem details and small JSON
 * bodies. Problems carry a fixed title per status and, at most, a detail
 * written for the client; never an error message, a stack or a table name.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";

const titles: Record<number, string> = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
};

export function problem(status: number, detail?: string, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
    const body = { type: "about:blank", title: titles[status] ?? "Error", status, ...(detail ? { detail } : {}) };
    return { statusCode: status, headers: { "content-type": "application/problem+json", ...headers }, body: JSON.stringify(body), isBase64Encoded: false };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
    return { statusCode: status, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body), isBase64Encoded: false };
}

/** Adds headers to a result, the given ones winning. */
export function withHeaders(result: APIGatewayProxyStructuredResultV2, headers: Record<string, string>): APIGatewayProxyStructuredResultV2 {
    return { ...result, headers: { ...(result.headers ?? {}), ...headers } };
}
