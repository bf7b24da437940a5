/**
 * Step 4: proxy. Sends the request to the route's upstream with `fetch` and
 * turns the answer into a 2.0 result.
 *
 * Request: hop-by-hop headers (and any the Connection header names) are
 * dropped, so are Host, Content-Length and Expect (fetch sets its own), any
 * `x-gateway-*` the client sent (only the gateway may say who the caller is),
 * and the session token (its Authorization header and the `session` cookie);
 * `x-request-id` is the API Gateway request id, and an authenticated caller
 * is described by `x-gateway-user-id`, `x-gateway-roles`,
 * `x-gateway-permissions` (comma separated). Redirects are passed back to
 * the client, not followed.
 *
 * Response: text bodies stay text, anything else travels as base64; each
 * `Set-Cookie` becomes an entry of the 2.0 `cookies` array. fetch decodes
 * compressed bodies, so Content-Encoding and Content-Length are dropped.
 * Upstream refused or reset -> 502, no answer within the timeout -> 504.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { Identity } from "../auth/identity";
import { sessionCookieName } from "./authenticate";
import type { GatewayRequest } from "./request";

const hopByHop = new Set([
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
]);
const setByFetch = new Set(["host", "content-length", "expect"]);
const droppedFromResponse = new Set([...hopByHop, "content-length", "content-encoding", "set-cookie"]);
const gatewayHeaderPrefix = "x-gateway-";

/** Lambda's response payload limit is 6 MB; base64 grows a body by a third. */
const maxResponseBodyBytes = 4_500_000;

export interface ProxyRequest {
    url: string;
    request: GatewayRequest;
    identity?: Identity;
    /** Strip these because they carried the session token. */
    strip: { authorization: boolean; sessionCookie: boolean };
    timeoutMs: number;
    fetch: typeof fetch;
    now: () => number;
}

export type ProxyOutcome =
    | { kind: "answered"; result: APIGatewayProxyStructuredResultV2; status: number; latencyMs: number }
    | { kind: "refused" | "timeout" | "too-large"; latencyMs: number };

export function upstreamHeaders(proxy: Pick<ProxyRequest, "request" | "identity" | "strip">): Headers {
    const { request, identity, strip } = proxy;
    const named = new Set(
        (request.headers.connection ?? "")
            .split(",")
            .map((name) => name.trim().toLowerCase())
            .filter(Boolean),
    );
    const headers = new Headers();
    const set = (name: string, value: string) => {
        try {
            headers.set(name, value);
        } catch {
            // A value fetch cannot send (not a byte string): dropped rather than failing the request.
        }
    };
    for (const [name, value] of Object.entries(request.headers)) {
        if (hopByHop.has(name) || named.has(name) || setByFetch.has(name) || name.startsWith(gatewayHeaderPrefix) || name === "x-request-id") continue;
        if (name === "authorization" && strip.authorization) continue;
        set(name, value);
    }
    const cookies = strip.sessionCookie ? request.cookies.filter((cookie) => cookie.split("=", 1)[0].trim() !== sessionCookieName) : request.cookies;
    if (cookies.length) set("cookie", cookies.join("; "));
    set("x-request-id", request.requestId);
    if (identity) {
        set("x-gateway-user-id", identity.userId);
        set("x-gateway-roles", identity.roles.join(","));
        set("x-gateway-permissions", identity.permissions.join(","));
    }
    return headers;
}

export async function proxy(proxyRequest: ProxyRequest): Promise<ProxyOutcome> {
    const { request, timeoutMs, now } = proxyRequest;
    const started = now();
    const withBody = request.method !== "GET" && request.method !== "HEAD" && request.body !== undefined;
    try {
        const response = await proxyRequest.fetch(proxyRequest.url, {
            method: request.method,
            headers: upstreamHeaders(proxyRequest),
            body: withBody ? new Uint8Array(request.body!) : undefined,
            redirect: "manual",
            signal: AbortSignal.timeout(Math.max(1, timeoutMs)),
        });
        // The timeout covers the body too: the signal aborts the stream.
        const body = Buffer.from(await response.arrayBuffer());
        const latencyMs = now() - started;
        if (body.length > maxResponseBodyBytes) return { kind: "too-large", latencyMs };
        return { kind: "answered", status: response.status, result: resultOf(response, body), latencyMs };
    } catch (error) {
        const latencyMs = now() - started;
        const name = (error as { name?: string } | undefined)?.name;
        return { kind: name === "TimeoutError" || name === "AbortError" ? "timeout" : "refused", latencyMs };
    }
}

const textualType = /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|x-www-form-urlencoded|graphql|yaml|x-yaml)\b)|^image\/svg\+xml/i;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function resultOf(response: Response, body: Buffer): APIGatewayProxyStructuredResultV2 {
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
        if (!droppedFromResponse.has(name)) headers[name] = value;
    });
    const cookies = response.headers.getSetCookie();
    let text: string | undefined;
    if (body.length === 0) text = "";
    else if (textualType.test(response.headers.get("content-type") ?? "")) {
        try {
            text = utf8.decode(body);
        } catch {
            text = undefined; // declared text, but not UTF-8: sent as bytes
        }
    }
    return {
        statusCode: response.status,
        headers,
        ...(cookies.length ? { cookies } : {}),
        body: text ?? body.toString("base64"),
        isBase64Encoded: text === undefined,
    };
}
