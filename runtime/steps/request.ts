/**
 * Reads an API Gateway HTTP API 2.0 event into the request the steps work on.
 * Events are trusted to come from API Gateway, but not to be well formed
 * (the local gateway and tests build them too): anything missing or of the
 * wrong type makes the request a 400, never a crash.
 */
import type { APIGatewayProxyEventV2 } from "aws-lambda";

export interface GatewayRequest {
    requestId: string;
    method: string;
    rawPath: string;
    rawQueryString: string;
    /** Lower-cased names; API Gateway joins repeated headers with commas. */
    headers: Record<string, string>;
    /** `name=value` pairs, from the 2.0 `cookies` array (or the Cookie header when that is absent). */
    cookies: string[];
    body?: Buffer;
    /** The TCP peer as API Gateway saw it; never taken from X-Forwarded-For. */
    sourceIp: string;
}

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/** The request, or undefined when the event is malformed. `fallbackRequestId` names requests whose event carries no id. */
export function readRequest(event: APIGatewayProxyEventV2 | undefined, fallbackRequestId: () => string): GatewayRequest | undefined {
    if (!event || typeof event !== "object") return undefined;
    const context = event.requestContext as Partial<APIGatewayProxyEventV2["requestContext"]> | undefined;
    const http = context && typeof context === "object" ? context.http : undefined;
    const method = http && typeof http === "object" ? http.method : undefined;
    const sourceIp = http && typeof http === "object" ? http.sourceIp : undefined;
    if (typeof method !== "string" || !/^[A-Za-z]{1,20}$/.test(method)) return undefined;
    if (typeof sourceIp !== "string" || sourceIp === "" || sourceIp.length > 64) return undefined;
    if (typeof event.rawPath !== "string") return undefined;
    if (event.rawQueryString !== undefined && typeof event.rawQueryString !== "string") return undefined;

    const headers: Record<string, string> = {};
    if (event.headers !== undefined && event.headers !== null) {
        if (typeof event.headers !== "object") return undefined;
        for (const [name, value] of Object.entries(event.headers)) {
            if (typeof value === "string") headers[name.toLowerCase()] = value;
        }
    }

    let cookies: string[] = [];
    if (Array.isArray(event.cookies)) cookies = event.cookies.filter((cookie): cookie is string => typeof cookie === "string");
    else if (headers.cookie) cookies = headers.cookie.split(";").map((cookie) => cookie.trim()).filter(Boolean);
    delete headers.cookie;

    let body: Buffer | undefined;
    if (event.body !== undefined && event.body !== null) {
        if (typeof event.body !== "string") return undefined;
        if (event.isBase64Encoded === true) {
            const compact = event.body.replace(/\s+/g, "");
            if (compact.length % 4 !== 0 || !base64Pattern.test(compact)) return undefined;
            body = Buffer.from(compact, "base64");
        } else {
            body = Buffer.from(event.body, "utf8");
        }
    }

    const requestId = typeof context?.requestId === "string" && context.requestId !== "" ? context.requestId : fallbackRequestId();
    return {
        requestId,
        method: method.toUpperCase(),
        rawPath: event.rawPath,
        rawQueryString: event.rawQueryString ?? "",
        headers,
        cookies,
        body,
        sourceIp,
    };
}

/** Every value of the cookie `name` (exactly so spelled), in the order sent. */
export function cookieValues(cookies: readonly string[], name: string): string[] {
    const values: string[] = [];
    for (const cookie of cookies) {
        const separator = cookie.indexOf("=");
        if (separator > 0 && cookie.slice(0, separator).trim() === name) values.push(cookie.slice(separator + 1).trim());
    }
    return values;
}
