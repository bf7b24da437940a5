/**
 * CORS as an HTTP API with a CORS configuration (`tollgate:cors`) does it:
 * API Gateway answers preflight requests itself, without calling the
 * function, and puts the configured headers on every other response to a
 * request with an `Origin`, ignoring any CORS headers the function returned.
 * A web app on an allowed origin (the dev stack allows
 * http://localhost:5173) can therefore call the local gateway exactly as it
 * will call the deployed one.
 */
import type { TollgateSettings } from "../specs/config";
import type { HttpAnswer } from "./result";

export type CorsSettings = TollgateSettings["cors"];

/** Lower-cased request header names -> values, as Node's `IncomingMessage.headers`. */
type RequestHeaders = Record<string, string | string[] | undefined>;

const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export function isPreflight(method: string, headers: RequestHeaders): boolean {
    return method.toUpperCase() === "OPTIONS" && single(headers.origin) !== undefined && single(headers["access-control-request-method"]) !== undefined;
}

function allowedOrigin(cors: CorsSettings, origin: string | undefined): string | undefined {
    if (!origin) return undefined;
    if (cors.allowOrigins.includes("*")) return "*";
    return cors.allowOrigins.includes(origin) ? origin : undefined;
}

/** The answer API Gateway gives a preflight request: 204, with the CORS headers when the origin is allowed. */
export function preflightAnswer(cors: CorsSettings, headers: RequestHeaders): HttpAnswer {
    const origin = allowedOrigin(cors, single(headers.origin));
    const lines: [string, string][] = [];
    if (origin) {
        lines.push(["access-control-allow-origin", origin]);
        if (cors.allowCredentials) lines.push(["access-control-allow-credentials", "true"]);
        if (cors.allowMethods.length) lines.push(["access-control-allow-methods", cors.allowMethods.join(",")]);
        if (cors.allowHeaders.length) lines.push(["access-control-allow-headers", cors.allowHeaders.join(",")]);
        lines.push(["access-control-max-age", String(cors.maxAgeSeconds)]);
    }
    return { statusCode: 204, headers: lines, body: Buffer.alloc(0) };
}

/** The function's answer with its CORS headers replaced by the configured ones (only for requests with an allowed Origin). */
export function withCorsHeaders(cors: CorsSettings, headers: RequestHeaders, answer: HttpAnswer): HttpAnswer {
    const requestOrigin = single(headers.origin);
    if (!requestOrigin) return answer;
    const lines = answer.headers.filter(([name]) => !name.toLowerCase().startsWith("access-control-"));
    const origin = allowedOrigin(cors, requestOrigin);
    if (origin) {
        lines.push(["access-control-allow-origin", origin]);
        if (cors.allowCredentials) lines.push(["access-control-allow-credentials", "true"]);
        if (cors.exposeHeaders.length) lines.push(["access-control-expose-headers", cors.exposeHeaders.join(",")]);
    }
    return { ...answer, headers: lines };
}
