/**
 * The inspector: a page of `npm start` that lists the requests the local
 * gateway answers as they happen, newest first, and shows each one's whole
 * decision: the credential and the identity it gave, the rate-limit counter,
 * the identity assertion's claims, what the upstream was sent and answered,
 * the trace, and the request as a curl command line.
 *
 * It is the developer's own local traffic, but credentials stay masked in
 * everything it holds and serves: a bearer token or session cookie shows as
 * its kind and length, the assertion without its signature, a session token
 * the gateway sets in its answer as `<masked>`. The curl line puts `$TOKEN`
 * (or `$SESSION`) where the credential was, and says so.
 *
 * It listens on a port of its own on 127.0.0.1, another origin than the
 * gateway's, so no page an upstream serves through the gateway can read it;
 * it answers loopback clients only, and only a Host naming its own address
 * (a DNS-rebinding page cannot reach it either). It keeps the last
 * `capacity` requests in memory and streams new ones with Server-Sent Events.
 * Nothing of it is part of the Lambda: the handler only calls its hook
 * (`HandlerDeps.inspect`), which the Lambda never gives.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { RequestInspection } from "../runtime/handler";
import { assertionHeader } from "../runtime/steps/proxy";
import { traceparentOf } from "../runtime/steps/trace";
import { isSessionCookieName } from "../specs/sessions";
import { reasons, type Reason } from "../specs/reasons";
import type { Exchange } from "./gateway";
import { listen } from "./gateway";
import { inspectorPage, inspectorScript } from "./inspectorPage";

/** Requests the inspector keeps; older ones are dropped. */
export const inspectorCapacity = 300;
/** Request body bytes kept for the curl line. */
const maxBodyKept = 16 * 1024;

type HeaderList = [string, string][];

/** One request as the page shows it: everything masked already. */
export interface InspectedRequest {
    id: string;
    receivedAt: string;
    method: string;
    path: string;
    route?: string;
    status: number;
    reason?: string;
    reasonMeaning?: string;
    latencyMs: number;
    traceId?: string;
    /** The client's request and the gateway's answer to it. */
    request: { headers: HeaderList; bodyBytes: number };
    response: { headers: HeaderList };
    decision?: {
        credential?: string;
        auth?: string;
        identity?: { userId: string; username?: string; roles: string[]; permissions: string[]; method: string };
        rateLimit?: { limiterKey: string; counted: number; limit: number; remaining: number; windowSeconds: number; resetSeconds: number; outcome: string; decidedBy: string; policy: string };
        assertion?: Record<string, unknown>;
        trace: { traceId: string; origin: string; traceparent: string; tracestate?: string };
        session?: string;
        upstream?: { url: string; method: string; headers: HeaderList; status?: number; answerHeaders?: HeaderList; latencyMs?: number; error?: string };
    };
    curl: string;
}

export interface Inspector {
    /** The page's URL, for the banner. */
    url: string;
    /** `HandlerDeps.inspect`: the handler's decision, joined to its request by id. */
    decision(inspection: RequestInspection): void;
    /** `GatewayOptions.onExchange`: a request and its answer. */
    exchange(exchange: Exchange): void;
    /** What it holds, oldest first. */
    requests(): InspectedRequest[];
    close(): Promise<void>;
}

export interface InspectorOptions {
    /** Port on 127.0.0.1; 0 picks a free one. */
    port: number;
    /** The gateway's URL, for the curl lines. */
    gatewayUrl: string;
    /** Route names, for the page's filter. */
    routes: string[];
    capacity?: number;
}

export async function startInspector(options: InspectorOptions): Promise<Inspector> {
    const capacity = options.capacity ?? inspectorCapacity;
    const held: InspectedRequest[] = [];
    /** Decisions that came before their exchange (the usual order: the handler answers before the answer is sent). */
    const pending = new Map<string, RequestInspection>();
    const feeds = new Set<http.ServerResponse>();

    const publish = (request: InspectedRequest) => {
        const message = `data: ${JSON.stringify(request)}\n\n`;
        for (const feed of feeds) feed.write(message);
    };

    const server = http.createServer((request, response) => {
        const port = (server.address() as AddressInfo).port;
        if (!isLoopback(request.socket.remoteAddress) || !namesThisServer(request.headers.host, port)) {
            response.writeHead(403, { "content-type": "text/plain" }).end("The inspector answers this machine only.\n");
            return;
        }
        const path = (request.url ?? "/").split("?")[0];
        const common = { "cache-control": "no-store", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" };
        if (request.method !== "GET") {
            response.writeHead(405, { ...common, allow: "GET" }).end();
        } else if (path === "/") {
            response
                .writeHead(200, {
                    ...common,
                    "content-type": "text/html; charset=utf-8",
                    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
                    "x-frame-options": "DENY",
                })
                .end(inspectorPage(options.routes));
        } else if (path === "/inspector.js") {
            response.writeHead(200, { ...common, "content-type": "text/javascript; charset=utf-8" }).end(inspectorScript);
        } else if (path === "/events") {
            response.writeHead(200, { ...common, "content-type": "text/event-stream", connection: "keep-alive" });
            // A comment first: the headers go out now, and the page knows it is connected before the first request.
            response.write(": tollgate inspector\n\n");
            for (const kept of held) response.write(`data: ${JSON.stringify(kept)}\n\n`);
            feeds.add(response);
            request.on("close", () => feeds.delete(response));
        } else {
            response.writeHead(404, { ...common, "content-type": "text/plain" }).end("Not found\n");
        }
    });
    server.keepAliveTimeout = 5_000;
    await listen(server, options.port, "127.0.0.1");
    const port = (server.address() as AddressInfo).port;

    return {
        url: `http://127.0.0.1:${port}/`,
        decision(inspection) {
            const kept = held.find((request) => request.id === inspection.requestId);
            if (kept) {
                // Came after its answer (an integration timeout): the record is completed and sent again.
                Object.assign(kept, withDecision(kept, inspection));
                publish(kept);
                return;
            }
            pending.set(inspection.requestId, inspection);
            // A decision whose request never shows (it cannot, but the map must not grow without bound).
            if (pending.size > capacity) pending.delete(pending.keys().next().value!);
        },
        exchange(exchange) {
            const decision = pending.get(exchange.requestId);
            pending.delete(exchange.requestId);
            const inspected = inspect(exchange, options.gatewayUrl);
            const record = decision ? { ...inspected, ...withDecision(inspected, decision) } : inspected;
            held.push(record);
            if (held.length > capacity) held.splice(0, held.length - capacity);
            publish(record);
        },
        requests: () => [...held],
        close: () =>
            new Promise<void>((resolve) => {
                for (const feed of feeds) feed.end();
                server.close(() => resolve());
                server.closeAllConnections();
            }),
    };
}

function isLoopback(address: string | undefined): boolean {
    return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

function namesThisServer(host: string | undefined, port: number): boolean {
    return host === `127.0.0.1:${port}` || host === `localhost:${port}` || host === `[::1]:${port}`;
}

function reasonFields(reason: Reason | undefined): { reason?: string; reasonMeaning?: string } {
    return reason ? { reason, reasonMeaning: reasons[reason].meaning } : {};
}

/** The request and answer as the page shows them, before the handler's decision is known. */
export function inspect(exchange: Exchange, gatewayUrl: string): InspectedRequest {
    const headers: HeaderList = [];
    for (let i = 0; i + 1 < exchange.rawHeaders.length; i += 2) headers.push([exchange.rawHeaders[i], exchange.rawHeaders[i + 1]]);
    return {
        id: exchange.requestId,
        receivedAt: new Date(exchange.receivedAt).toISOString(),
        method: exchange.method,
        path: exchange.target,
        status: exchange.status,
        ...reasonFields(exchange.reason),
        latencyMs: exchange.latencyMs,
        request: { headers: headers.map(maskRequestHeader), bodyBytes: exchange.body?.length ?? 0 },
        response: { headers: exchange.headers.map(maskResponseHeader) },
        curl: curlOf(exchange, headers, gatewayUrl),
    };
}

function withDecision(inspected: InspectedRequest, decision: RequestInspection): Partial<InspectedRequest> {
    const rateLimit = decision.rateLimit;
    const upstream = decision.upstream;
    const assertion = upstream?.headers[assertionHeader];
    return {
        route: decision.route,
        ...reasonFields(decision.reason ?? (inspected.reason as Reason | undefined)),
        traceId: decision.trace.traceId,
        decision: {
            credential: decision.credential ? `${decision.credential.kind}${decision.credential.from ? ` (${decision.credential.from === "cookie" ? "session cookie" : "Authorization header"})` : ""}` : undefined,
            auth: decision.auth,
            identity: decision.identity,
            rateLimit: rateLimit && {
                limiterKey: rateLimit.limiterKey,
                counted: rateLimit.limit - rateLimit.remaining,
                limit: rateLimit.limit,
                remaining: rateLimit.remaining,
                windowSeconds: rateLimit.windowSeconds,
                resetSeconds: rateLimit.resetSeconds,
                outcome: rateLimit.outcome,
                decidedBy: rateLimit.source === "container" ? "this container's memory of a refusal" : "the rate-limits table",
                policy: rateLimit.policyName,
            },
            assertion: assertion ? claimsOf(assertion) : undefined,
            trace: { traceId: decision.trace.traceId, origin: decision.trace.origin, traceparent: traceparentOf(decision.trace), tracestate: decision.trace.tracestate },
            session: decision.session,
            upstream: upstream && {
                url: upstream.url,
                method: upstream.method,
                headers: Object.entries(upstream.headers).map(maskRequestHeader),
                status: upstream.status,
                answerHeaders: upstream.answerHeaders?.map(maskResponseHeader),
                latencyMs: upstream.latencyMs,
                error: upstream.error,
            },
        },
    };
}

/** A JWT's claims, read without verifying (the gateway signed it a moment ago). */
function claimsOf(jwt: string): Record<string, unknown> | undefined {
    try {
        return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8"));
    } catch {
        return undefined;
    }
}

const masked = (what: string) => `<${what}: masked>`;

/** A JWT as its header and claims, its signature masked. */
function withoutSignature(jwt: string): string {
    const [header, claims] = jwt.split(".");
    return `${header}.${claims}.${masked("signature")}`;
}

/** A credential as its kind and length; a JWT as its header and claims without the signature. */
function maskCredential(value: string): string {
    const scheme = /^(\S+)[ \t]+(\S+)\s*$/.exec(value);
    if (!scheme) return masked(`${value.length} characters`);
    const [, name, secret] = scheme;
    if (secret.split(".").length === 3) return `${name} ${withoutSignature(secret)}`;
    return `${name} ${masked(`${secret.length} characters`)}`;
}

function maskCookies(value: string): string {
    return value
        .split(";")
        .map((cookie) => {
            const at = cookie.indexOf("=");
            return at > 0 && isSessionCookieName(cookie.slice(0, at).trim()) ? `${cookie.slice(0, at)}=${masked("session token")}` : cookie;
        })
        .join(";");
}

function maskRequestHeader([name, value]: [string, string]): [string, string] {
    const lower = name.toLowerCase();
    if (lower === "authorization" || lower === "proxy-authorization") return [name, maskCredential(value)];
    if (lower === "cookie") return [name, maskCookies(value)];
    if (lower === assertionHeader) return [name, withoutSignature(value)];
    return [name, value];
}

function maskResponseHeader([name, value]: [string, string]): [string, string] {
    const lower = name.toLowerCase();
    if (lower === "set-cookie") {
        const at = value.indexOf("=");
        const end = value.indexOf(";");
        return at > 0 && isSessionCookieName(value.slice(0, at).trim()) ? [name, `${value.slice(0, at)}=${masked("session token")}${end > 0 ? value.slice(end) : ""}`] : [name, value];
    }
    if (lower === "x-gateway-session-token") return [name, masked("session token")];
    return [name, value];
}

/** Headers curl sets itself, or that describe the connection rather than the request. */
const notCopied = new Set(["host", "content-length", "connection", "transfer-encoding", "keep-alive"]);

function shellQuote(text: string): string {
    return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Text inside a double-quoted shell word: `"`, `\`, `$` and backquote escaped. */
function doubleQuoted(text: string): string {
    return text.replace(/["\\$`]/g, "\\$&");
}

/**
 * The request as a curl command line, sent to the gateway again: the method,
 * the URL, every header the client sent but the connection's own, and the
 * body when it is text. A credential is not copied: the line uses `$TOKEN`
 * for a bearer token and `$SESSION` for the session cookie, and says so first.
 */
export function curlOf(exchange: Pick<Exchange, "method" | "target" | "body">, headers: HeaderList, gatewayUrl: string): string {
    const lines: string[] = [];
    const notes: string[] = [];
    const parts = [`curl -X ${exchange.method} ${shellQuote(`${gatewayUrl.replace(/\/+$/, "")}${exchange.target}`)}`];
    for (const [name, value] of headers) {
        const lower = name.toLowerCase();
        if (notCopied.has(lower)) continue;
        if (lower === "authorization") {
            const scheme = /^(\S+)[ \t]+\S+/.exec(value)?.[1] ?? "Bearer";
            parts.push(`-H "${doubleQuoted(`${name}: ${scheme}`)} $TOKEN"`);
            notes.push("the Authorization credential is not copied: set TOKEN to it first");
            continue;
        }
        if (lower === "cookie" && value.split(";").some((cookie) => isSessionCookieName(cookie.split("=")[0].trim()))) {
            const cookies = value.split(";").map((cookie) => cookie.trim());
            const shown = cookies.map((cookie) => {
                const cookieName = cookie.split("=")[0];
                return isSessionCookieName(cookieName) ? `${doubleQuoted(cookieName)}=$SESSION` : doubleQuoted(cookie);
            });
            parts.push(`-H "${doubleQuoted(name)}: ${shown.join("; ")}"`);
            notes.push("the session cookie is not copied: set SESSION to its token first");
            continue;
        }
        parts.push(`-H ${shellQuote(`${name}: ${value}`)}`);
    }
    const body = exchange.body;
    if (body && body.length > 0) {
        const text = body.length <= maxBodyKept ? textOf(body) : undefined;
        if (text !== undefined) parts.push(`--data-raw ${shellQuote(text)}`);
        else notes.push(`the body (${body.length} bytes${body.length > maxBodyKept ? "" : ", not text"}) is not copied`);
    }
    for (const note of notes) lines.push(`# ${note[0].toUpperCase()}${note.slice(1)}.`);
    lines.push(parts.join(" \\\n  "));
    return lines.join("\n");
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function textOf(body: Buffer): string | undefined {
    try {
        const text = strictUtf8.decode(body);
        return /[\u0000-\u0008\u000e-\u001f]/.test(text) ? undefined : text;
    } catch {
        return undefined;
    }
}
