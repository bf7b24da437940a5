/**
 * Step 4: proxy. Sends the request to the route's upstream through the
 * container's `UpstreamClient` (node:http/https, keep-alive) and turns the
 * answer into a 2.0 result.
 *
 * The upstream receives the client's end-to-end headers as they came, and
 * nothing else but the gateway's own:
 *
 * - dropped: hop-by-hop headers, and the client's headers its Connection
 *   header names (never the ones API Gateway or the gateway set:
 *   `x-forwarded-for`, `-proto`, `-port`, `x-amzn-trace-id`, and what the
 *   gateway adds); `Host`, `Content-Length`, `Expect` (the gateway sets its
 *   own framing); any header that, lower-cased with `_` read as `-`, is
 *   `x-gateway-*`, `x-request-id` or `x-forwarded-host` (only the gateway
 *   says these); `traceparent` and `tracestate` in any spelling (the gateway
 *   sends its own, runtime/steps/trace.ts); the proxy-control headers (`Forwarded`, `X-Real-IP`,
 *   `X-Forwarded-Prefix`, `X-Original-URL`, `X-HTTP-Method-Override`, ...:
 *   `proxyControlHeaders`) unless the route keeps one by name; an
 *   `_`-spelled twin of a header the gateway passes on or of one the request
 *   already has (`x_forwarded_for`, `content_type`: CGI, WSGI, Rack and PHP
 *   fold `_` and `-` into one name, so the twin would be read as the real one);
 *   the session cookie under any of its names; the Authorization header unless the route forwards
 *   it (`forwardAuthorization`), and always when it carries a session token;
 * - added: `x-request-id`, `traceparent` (and the client's `tracestate`
 *   with the trace it continues), `x-forwarded-host` (the Host the client called),
 *   `Forwarded: for=<client>;proto=<scheme>;host=<host>` from what API
 *   Gateway saw (appended to the client's when the route keeps that),
 *   the signed identity assertion `x-gateway-assertion`, and, unless turned
 *   off, `x-gateway-user-id`, `x-gateway-roles`, `x-gateway-permissions`
 *   (comma separated, each value percent-encoded where a header or the list
 *   could not carry it: `%`, `,`, `"`, `;`, `\`, space, control and non-ASCII characters).
 *
 * The body goes up on every method, with a `Content-Length` of its own; the
 * answer comes back as bytes: a compressed body keeps its `Content-Encoding`
 * and travels base64, as it came. Text bodies stay text, anything else is
 * base64; each `Set-Cookie` becomes an entry of the 2.0 `cookies` array (the
 * sessions step then drops one for the gateway's own cookie). Redirects are passed
 * back, not followed. Upstream refused or reset -> 502, no answer within the
 * timeout -> 504, a body over the limit -> 502.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { proxyControlHeaders, type RouteSpec } from "../../specs/routes";
import { encodeIdentityValue, type Identity } from "../auth/identity";
import type { UpstreamClient } from "../upstream/client";
import { isSessionCookieName } from "../../specs/sessions";
import { carriesSessionToken } from "./authenticate";
import { traceparentOf, type TraceContext } from "./trace";
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
/** Set by the gateway itself, whatever the client sent: the trace context in any spelling too (a `trace_parent` is read as `trace-parent`). */
const setByGateway = new Set(["host", "content-length", "expect", "x-request-id", "x-forwarded-host", "traceparent", "tracestate", "trace-parent", "trace-state"]);
/** Passed on as API Gateway (or the client) sent them; a differently spelled twin is dropped. */
const passedOn = new Set(["authorization", "cookie", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "content-type", "content-encoding"]);
/** Set by API Gateway, not the client: a client's Connection header cannot have them removed. */
const setByApiGateway = new Set(["x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-amzn-trace-id"]);
const noNames: ReadonlySet<string> = new Set();
/** Dropped from a client unless the route keeps them (`keepClientHeaders`). */
const proxyControl: ReadonlySet<string> = new Set(proxyControlHeaders);
const droppedFromResponse = new Set([...hopByHop, "content-length"]);

export const assertionHeader = "x-gateway-assertion";
export const identityHeaderNames = { userId: "x-gateway-user-id", roles: "x-gateway-roles", permissions: "x-gateway-permissions" } as const;

/** Lambda's response payload limit is 6 MB; base64 grows a body by a third. */
export const maxResponseBodyBytes = 4_500_000;

/** How a header name reads to servers that fold `_` into `-`. */
export function normalisedHeaderName(name: string): string {
    return name.toLowerCase().replace(/_/g, "-");
}

const tokenPattern = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const printableAscii = /^[\t\x20-\x7e]*$/;
/** What HTTP/1.1 lets a header value hold, as bytes (Node writes header strings as latin1). */
const fieldValueBytes = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * A header value as the bytes to send: API Gateway hands over text, and the
 * client sent it as UTF-8, so that is what goes on the wire (Node writes each
 * character of a header string as one byte).
 */
function wireValue(value: string): string | undefined {
    // Printable ASCII, as nearly every value is, is its own bytes.
    if (printableAscii.test(value)) return value;
    const bytes = Buffer.from(value, "utf8").toString("latin1");
    return fieldValueBytes.test(bytes) ? bytes : undefined;
}

export type ClientHeaders = { headers: Record<string, string> } | { unsendable: string };

/**
 * The client's headers as they go upstream (before the gateway adds its own),
 * or the name of one that cannot be sent as it came: such a request is
 * refused, not forwarded without it.
 */
export function clientHeaders(request: GatewayRequest, route: Pick<RouteSpec, "auth" | "forwardAuthorization" | "keepClientHeaders">): ClientHeaders {
    const incoming = request.headers;
    const named = incoming.connection === undefined ? noNames : new Set(incoming.connection.split(",").map((name) => normalisedHeaderName(name.trim())));
    const kept: ReadonlySet<string> = route.keepClientHeaders?.length ? new Set(route.keepClientHeaders) : noNames;
    const headers: Record<string, string> = {};
    for (const name of Object.keys(incoming)) {
        const value = incoming[name];
        const normal = name.includes("_") ? normalisedHeaderName(name) : name;
        if (hopByHop.has(normal) || normal.startsWith("proxy-") || setByGateway.has(normal) || normal.startsWith("x-gateway-")) continue;
        // Connection names the client's own hop-by-hop headers, never the ones API Gateway vouches for.
        if (named.has(normal) && !setByApiGateway.has(normal)) continue;
        // A kept proxy-control header passes in its own spelling only.
        if (proxyControl.has(normal) && (normal !== name || !kept.has(normal))) continue;
        if (normal !== name && (passedOn.has(normal) || Object.hasOwn(incoming, normal))) continue;
        if (normal === "authorization" && !forwardsAuthorization(route, value)) continue;
        if (!tokenPattern.test(name)) return { unsendable: name };
        const wire = wireValue(value);
        if (wire === undefined) return { unsendable: name };
        headers[name] = wire;
    }
    const cookies = request.cookies.filter((cookie) => !isSessionCookieName(cookie.split("=", 1)[0]));
    if (cookies.length) {
        const wire = wireValue(cookies.join("; "));
        if (wire === undefined) return { unsendable: "cookie" };
        headers.cookie = wire;
    }
    if (request.body !== undefined || incoming["content-length"] !== undefined) headers["content-length"] = String(request.body?.length ?? 0);
    if (incoming.host !== undefined) {
        const host = wireValue(incoming.host);
        if (host !== undefined) headers["x-forwarded-host"] = host;
    }
    // The gateway's own element last, so an upstream that keeps the client's list reads the gateway's at its end.
    const own = forwardedElement(request);
    headers.forwarded = headers.forwarded !== undefined ? `${headers.forwarded}, ${own}` : own;
    return { headers };
}

const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const ipv6 = /^[0-9A-Fa-f:.]+$/;
const hostText = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/;

/**
 * The gateway's RFC 7239 `Forwarded` element, from what API Gateway saw:
 * `for` the client's address (`"[...]"` for IPv6), `proto` the scheme it was
 * called with (`x-forwarded-proto`, API Gateway's), `host` the Host it was
 * called by; a value of another shape is written `unknown` or left out.
 */
export function forwardedElement(request: Pick<GatewayRequest, "sourceIp" | "headers">): string {
    const address = request.sourceIp;
    const client = ipv4.test(address) ? address : address.includes(":") && ipv6.test(address) ? `"[${address}]"` : "unknown";
    const scheme = (request.headers["x-forwarded-proto"] ?? "https").split(",")[0].trim().toLowerCase();
    const proto = /^[a-z][a-z0-9+.-]*$/.test(scheme) ? scheme : "https";
    const host = request.headers.host?.trim();
    return `for=${client};proto=${proto}${host !== undefined && hostText.test(host) ? `;host="${host}"` : ""}`;
}

/**
 * Whether the client's Authorization header goes upstream: never with a
 * session token in it; on routes that authenticate, only when the route says
 * `forwardAuthorization`; on `none` routes, unless it is a bearer token the
 * gateway would take as its own credential (a JWT) and the route does not
 * ask for it, so Basic and other schemes stay the upstream's business.
 */
function forwardsAuthorization(route: Pick<RouteSpec, "auth" | "forwardAuthorization">, value: string): boolean {
    if (carriesSessionToken(value)) return false;
    if (route.forwardAuthorization) return true;
    if (route.auth !== "none") return false;
    return !/^Bearer[ \t]+[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*[ \t]*$/i.test(value);
}

/** The gateway's own headers: the request id, the trace context, the assertion, and the identity in plain headers when they are on. */
export function gatewayHeaders(requestId: string, identity: Identity | undefined, options: { assertion?: string; identityHeaders: boolean; trace?: TraceContext }): Record<string, string> {
    const headers: Record<string, string> = { "x-request-id": encodeIdentityValue(requestId) };
    if (options.trace) {
        headers.traceparent = traceparentOf(options.trace);
        if (options.trace.tracestate !== undefined) headers.tracestate = options.trace.tracestate;
    }
    if (options.assertion !== undefined) headers[assertionHeader] = options.assertion;
    if (identity && options.identityHeaders) {
        headers[identityHeaderNames.userId] = encodeIdentityValue(identity.userId);
        headers[identityHeaderNames.roles] = identity.roles.map(encodeIdentityValue).join(",");
        headers[identityHeaderNames.permissions] = identity.permissions.map(encodeIdentityValue).join(",");
    }
    return headers;
}

export interface ProxyRequest {
    url: URL;
    method: string;
    /** Everything the upstream gets: `clientHeaders` and `gatewayHeaders`. */
    headers: Record<string, string>;
    body?: Buffer;
    timeoutMs: number;
    client: UpstreamClient;
    now: () => number;
}

export type ProxyOutcome =
    /** `answerHeaders`: the upstream's headers as they came. */
    | { kind: "answered"; result: APIGatewayProxyStructuredResultV2; status: number; latencyMs: number; answerHeaders: [string, string][] }
    | { kind: "refused" | "timeout" | "too-large"; latencyMs: number };

export async function proxy(proxyRequest: ProxyRequest): Promise<ProxyOutcome> {
    const { now } = proxyRequest;
    const started = now();
    const url = proxyRequest.url;
    const outcome = await proxyRequest.client.send({
        url,
        method: proxyRequest.method,
        headers: { host: url.host, ...proxyRequest.headers },
        body: proxyRequest.body,
        timeoutMs: Math.max(1, proxyRequest.timeoutMs),
        maxBodyBytes: maxResponseBodyBytes,
    });
    const latencyMs = now() - started;
    if (outcome.kind !== "answered") return { kind: outcome.kind, latencyMs };
    const { answer } = outcome;
    return { kind: "answered", status: answer.status, result: resultOf(answer.status, answer.headers, answer.body), latencyMs, answerHeaders: answer.headers };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A header value as Node read it (one character per byte) -> text: UTF-8 when the bytes are UTF-8, else one character per byte as before. */
function textOfBytes(value: string): string {
    if (!/[\x80-\xff]/.test(value)) return value;
    try {
        return utf8.decode(Buffer.from(value, "latin1"));
    } catch {
        return value;
    }
}

const textualType = /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|x-www-form-urlencoded|graphql|yaml|x-yaml)\b)|^image\/svg\+xml/i;

function resultOf(status: number, answerHeaders: [string, string][], body: Buffer): APIGatewayProxyStructuredResultV2 {
    const named = new Set(
        answerHeaders
            .filter(([name]) => name === "connection")
            .flatMap(([, value]) => value.split(","))
            .map((name) => name.trim().toLowerCase())
            .filter(Boolean),
    );
    const headers: Record<string, string> = {};
    const cookies: string[] = [];
    for (const [name, raw] of answerHeaders) {
        if (droppedFromResponse.has(name) || named.has(name)) continue;
        const value = textOfBytes(raw);
        if (name === "set-cookie") {
            // One for the gateway's own session cookie is dropped (with a warning) by the sessions step.
            cookies.push(value);
            continue;
        }
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const encoding = (headers["content-encoding"] ?? "identity").trim().toLowerCase();
    let text: string | undefined;
    if (body.length === 0) text = "";
    else if (encoding === "identity" && textualType.test(headers["content-type"] ?? "")) {
        try {
            text = utf8.decode(body);
        } catch {
            text = undefined; // declared text, but not UTF-8: sent as bytes
        }
    }
    return {
        statusCode: status,
        headers,
        ...(cookies.length ? { cookies } : {}),
        body: text ?? body.toString("base64"),
        isBase64Encoded: text === undefined,
    };
}
