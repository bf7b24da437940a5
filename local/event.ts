/**
 * The request half of the API Gateway HTTP API emulation: an HTTP request as
 * it arrived on the socket -> the payload format 2.0 event a Lambda receives.
 *
 * The shape follows an event captured from AWS
 * (test/fixtures/apigw-http-v2-event.json): header names lower-cased and
 * repeats joined with ",", `rawPath` percent-decoded (HTTP APIs decode it,
 * live captures show; `rawQueryString` stays encoded), cookies moved out of
 * the headers into `cookies`, `rawQueryString` always present, query values
 * decoded with repeats joined with ",", `requestContext.http.sourceIp` taken
 * from the socket (X-Forwarded-For is only ever a header), a fresh request id
 * per request, and binary bodies base64-encoded. Route keys are those of the
 * deployed API (components/gateway.ts): `ANY /{proxy+}` with the path in
 * `pathParameters.proxy`, and `ANY /` for the root; the stage is `$default`.
 */
import { randomBytes } from "node:crypto";
import type { APIGatewayEventRequestContextV2, APIGatewayProxyEventV2 } from "aws-lambda";

/** An HTTP request as the gateway received it, body read in full. */
export interface ReceivedRequest {
    method: string;
    /** The request target as sent: path and query, still percent-encoded. */
    target: string;
    /** `1.1`, `1.0`. */
    httpVersion: string;
    /** Header names and values in arrival order, as Node's `rawHeaders`. */
    rawHeaders: string[];
    body: Buffer;
    /** The client's address on the socket. */
    remoteAddress: string;
    /** The gateway's own port, reported to the handler as `x-forwarded-port`. */
    localPort: number;
}

/** What API Gateway knows about itself: the ids it puts in every event. */
export interface ApiIdentity {
    accountId: string;
    apiId: string;
}

export const localApiIdentity: ApiIdentity = { accountId: "123456789012", apiId: "tollgatelc" };

/** The 2.0 event with the `authorizer` block AWS sends for routes without an authorizer. */
export type GatewayEvent = APIGatewayProxyEventV2 & {
    requestContext: APIGatewayEventRequestContextV2 & { authorizer: { lambda: null } };
};

export interface EventOptions {
    requestId: string;
    now: Date;
    api?: ApiIdentity;
}

/**
 * Headers that describe this one connection, not the request; API Gateway
 * does not pass them on (the captured event has no `connection` although the
 * client sent one). The body reaches the handler whole, so its framing goes too.
 */
const connectionHeaders = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]);

/** Headers API Gateway sets itself from the connection, whatever the client sent. */
const forwardedHeaders = new Set(["x-forwarded-port", "x-forwarded-proto"]);

export function buildEvent(request: ReceivedRequest, options: EventOptions): GatewayEvent {
    const api = options.api ?? localApiIdentity;
    const sourceIp = clientAddress(request.remoteAddress);
    const { rawPath, rawQueryString } = splitTarget(request.target);

    const received = new Map<string, string>();
    const cookies: string[] = [];
    for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
        const name = request.rawHeaders[i].toLowerCase();
        const value = headerText(request.rawHeaders[i + 1]);
        if (name === "cookie") {
            cookies.push(...splitCookies(value));
            continue;
        }
        if (connectionHeaders.has(name) || forwardedHeaders.has(name)) continue;
        joinValue(received, name, value);
    }
    const claimedChain = received.get("x-forwarded-for");
    // API Gateway appends the address it saw to whatever chain the client claimed.
    received.set("x-forwarded-for", claimedChain ? `${claimedChain}, ${sourceIp}` : sourceIp);
    received.set("x-forwarded-port", String(request.localPort));
    received.set("x-forwarded-proto", "http");
    if (!received.has("x-amzn-trace-id")) received.set("x-amzn-trace-id", newTraceId(options.now));
    // fromEntries makes own properties even of names like `__proto__`.
    const headers: Record<string, string> = Object.fromEntries(received);

    const domainName = hostName(received.get("host")) ?? "localhost";
    const route = deployedRoute(rawPath);
    const event: GatewayEvent = {
        version: "2.0",
        routeKey: route.routeKey,
        rawPath,
        rawQueryString,
        headers,
        requestContext: {
            accountId: api.accountId,
            apiId: api.apiId,
            authorizer: { lambda: null },
            domainName,
            domainPrefix: domainName.split(".")[0],
            http: {
                method: request.method.toUpperCase(),
                path: rawPath,
                protocol: `HTTP/${request.httpVersion}`,
                sourceIp,
                userAgent: received.get("user-agent") ?? "",
            },
            requestId: options.requestId,
            routeKey: route.routeKey,
            stage: "$default",
            time: formatRequestTime(options.now),
            timeEpoch: options.now.getTime(),
        },
        isBase64Encoded: false,
    };
    if (cookies.length > 0) event.cookies = cookies;
    if (route.pathParameters) event.pathParameters = route.pathParameters;
    const query = queryParameters(rawQueryString);
    if (query) event.queryStringParameters = query;
    if (request.body.length > 0) {
        const encoded = encodeBody(request.body, received.get("content-type"));
        event.body = encoded.body;
        event.isBase64Encoded = encoded.isBase64Encoded;
    }
    return event;
}

/**
 * A header value as text. Node reads header bytes one character per byte;
 * a Lambda event carries text, so bytes that are UTF-8 are decoded as UTF-8
 * (the handler sends them on as UTF-8 again), and anything else is kept one
 * character per byte.
 */
function headerText(value: string): string {
    if (!/[\x80-\xff]/.test(value)) return value;
    try {
        return strictUtf8.decode(Buffer.from(value, "latin1"));
    } catch {
        return value;
    }
}

/** The route of the deployed API a path matches: the greedy proxy route, or the root route for `/`. */
export function deployedRoute(rawPath: string): { routeKey: string; pathParameters?: Record<string, string> } {
    if (rawPath === "/") return { routeKey: "ANY /" };
    return { routeKey: "ANY /{proxy+}", pathParameters: { proxy: rawPath.slice(1) } };
}

/**
 * HTTP APIs pass a body as text only for these content types (checked
 * against AWS by others: form posts and a missing content type arrive
 * base64-encoded); everything else, and text that is not valid UTF-8, is
 * base64.
 */
export function isTextContentType(contentType: string | undefined): boolean {
    if (!contentType) return false;
    const mediaType = contentType.split(";")[0].trim().toLowerCase();
    return mediaType.startsWith("text/") || ["application/json", "application/xml", "application/javascript"].includes(mediaType);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function encodeBody(body: Buffer, contentType: string | undefined): { body: string; isBase64Encoded: boolean } {
    if (isTextContentType(contentType)) {
        try {
            return { body: strictUtf8.decode(body), isBase64Encoded: false };
        } catch {
            // Declared as text but not UTF-8: only base64 carries it intact.
        }
    }
    return { body: body.toString("base64"), isBase64Encoded: true };
}

/** API Gateway's request ids are 16 base64 characters, e.g. `ZhNHJhhLjoEEPiw=`. */
export function newRequestId(): string {
    return randomBytes(11).toString("base64");
}

/** An X-Ray trace header as API Gateway adds it: `Root=1-<epoch seconds hex>-<96 random bits hex>`. */
export function newTraceId(now: Date): string {
    const seconds = Math.floor(now.getTime() / 1000).toString(16).padStart(8, "0");
    return `Root=1-${seconds}-${randomBytes(12).toString("hex")}`;
}

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `17/Jun/2024:15:52:39 +0000`: the access-log time format of `requestContext.time`, always UTC. */
export function formatRequestTime(now: Date): string {
    const two = (n: number) => String(n).padStart(2, "0");
    return (
        `${two(now.getUTCDate())}/${months[now.getUTCMonth()]}/${now.getUTCFullYear()}:` +
        `${two(now.getUTCHours())}:${two(now.getUTCMinutes())}:${two(now.getUTCSeconds())} +0000`
    );
}

function splitTarget(target: string): { rawPath: string; rawQueryString: string } {
    let pathAndQuery = target;
    // An absolute-form target (`GET http://host/path`) as proxies send it.
    if (/^https?:\/\//i.test(target)) {
        const url = new URL(target);
        pathAndQuery = url.pathname + url.search;
    }
    const hash = pathAndQuery.indexOf("#");
    if (hash >= 0) pathAndQuery = pathAndQuery.slice(0, hash);
    const question = pathAndQuery.indexOf("?");
    const encodedPath = (question < 0 ? pathAndQuery : pathAndQuery.slice(0, question)) || "/";
    return { rawPath: decodePath(encodedPath), rawQueryString: question < 0 ? "" : pathAndQuery.slice(question + 1) };
}

/** HTTP APIs hand the path over decoded (unlike REST APIs and function URLs); a malformed escape is left as sent. */
function decodePath(encodedPath: string): string {
    try {
        return decodeURIComponent(encodedPath);
    } catch {
        return encodedPath;
    }
}

function queryParameters(rawQueryString: string): Record<string, string> | undefined {
    if (!rawQueryString) return undefined;
    const parameters = new Map<string, string>();
    for (const [key, value] of new URLSearchParams(rawQueryString)) joinValue(parameters, key, value);
    return parameters.size > 0 ? Object.fromEntries(parameters) : undefined;
}

/** Payload format 2.0 has no multi-value fields: repeats are joined with ",". */
function joinValue(values: Map<string, string>, key: string, value: string): void {
    const earlier = values.get(key);
    values.set(key, earlier === undefined ? value : `${earlier},${value}`);
}

function splitCookies(header: string): string[] {
    return header
        .split(";")
        .map((cookie) => cookie.trim())
        .filter((cookie) => cookie.length > 0);
}

function clientAddress(remoteAddress: string): string {
    // A dual-stack socket reports IPv4 clients as IPv4-mapped IPv6 addresses.
    return remoteAddress.startsWith("::ffff:") && remoteAddress.includes(".") ? remoteAddress.slice(7) : remoteAddress;
}

function hostName(host: string | undefined): string | undefined {
    if (!host) return undefined;
    if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
    return host.split(":")[0] || undefined;
}
