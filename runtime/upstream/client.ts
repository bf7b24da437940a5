/**
 * The connection to upstreams: `node:http` and `node:https` with keep-alive
 * agents made once per container, so a warm Lambda reuses its connections
 * across invocations instead of paying a TCP (and TLS) handshake per request.
 *
 * It sends exactly the headers it is given (Node adds only `Host`, when not
 * given, and `Connection`), and the body on every method. The answer is read
 * as bytes, never decoded or decompressed, and never more than `maxBodyBytes`
 * of it: a `Content-Length` above the limit is refused before the body is
 * read, and a body that grows past it while streaming is cut off at once, so
 * memory stays bounded by the limit whatever the upstream sends.
 *
 * Idle connections: Lambda freezes a container between invocations, so a
 * pooled connection may have been closed by the upstream while nothing ran.
 * Sockets idle longer than `maxIdleMs` are closed before a request picks one,
 * and an idempotent request whose reused connection turns out to be dead
 * before any answer arrives is sent once more on a new one.
 */
import * as http from "node:http";
import * as https from "node:https";

export interface UpstreamRequest {
    url: URL;
    method: string;
    /** Name -> value, sent as given (names lower-case). */
    headers: Record<string, string>;
    body?: Buffer;
    /** Covers connecting, the answer's head and its whole body. */
    timeoutMs: number;
    /** The most body bytes accepted; more is `too-large`. */
    maxBodyBytes: number;
}

export interface UpstreamAnswer {
    status: number;
    /** Header names lower-case, in arrival order, repeats kept. */
    headers: [name: string, value: string][];
    body: Buffer;
}

export type UpstreamResult =
    | { kind: "answered"; answer: UpstreamAnswer }
    /** Refused, reset, or not a valid HTTP answer. */
    | { kind: "refused" }
    | { kind: "timeout" }
    | { kind: "too-large" };

export interface UpstreamClient {
    send(request: UpstreamRequest): Promise<UpstreamResult>;
}

export interface HttpClientOptions {
    /** Pooled connections idle longer than this are closed before reuse. Default 4 s, below the 5 s most servers keep an idle connection. */
    maxIdleMs?: number;
    /** Connections per upstream origin. Default 64. */
    maxSockets?: number;
    /** Epoch milliseconds. */
    now?: () => number;
}

const idempotent = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
const lastUsed = Symbol("tollgate.lastUsed");

type PooledSocket = import("node:net").Socket & { [lastUsed]?: number };

/** The client a container keeps; its agents (and their connections) live as long as it does. */
export function createHttpClient(options: HttpClientOptions = {}): UpstreamClient & { close(): void } {
    const maxIdleMs = options.maxIdleMs ?? 4_000;
    const now = options.now ?? Date.now;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64, maxFreeSockets: 16, scheduling: "lifo" as const, timeout: maxIdleMs };
    const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
    for (const agent of Object.values(agents)) {
        const keep = agent.keepSocketAlive.bind(agent);
        agent.keepSocketAlive = (socket: PooledSocket) => {
            socket[lastUsed] = now();
            return keep(socket);
        };
    }

    /** Closes pooled sockets of `agent` idle past `maxIdleMs` (a frozen container's clock jumps; its timers do not fire). */
    const pruneIdle = (agent: http.Agent) => {
        const limit = now() - maxIdleMs;
        for (const sockets of Object.values(agent.freeSockets)) {
            for (const socket of [...(sockets ?? [])] as PooledSocket[]) {
                if ((socket[lastUsed] ?? 0) < limit) socket.destroy();
            }
        }
    };

    const attempt = (request: UpstreamRequest, deadline: number): Promise<UpstreamResult & { retryable?: boolean }> =>
        new Promise((resolve) => {
            const secure = request.url.protocol === "https:";
            const agent = secure ? agents.https : agents.http;
            pruneIdle(agent);
            let settled = false;
            let answered = false;
            const finish = (result: UpstreamResult & { retryable?: boolean }) => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                resolve(result);
            };
            let outgoing: http.ClientRequest;
            try {
                outgoing = (secure ? https : http).request({
                    protocol: request.url.protocol,
                    hostname: request.url.hostname.replace(/^\[|\]$/g, ""),
                    port: request.url.port || undefined,
                    path: `${request.url.pathname}${request.url.search}`,
                    method: request.method,
                    headers: request.headers,
                    agent,
                });
            } catch {
                // A header Node will not write: the proxy step checks them first, so only a bug gets here.
                resolve({ kind: "refused" });
                return;
            }
            const timer = setTimeout(() => {
                finish({ kind: "timeout" });
                outgoing.destroy();
            }, Math.max(1, deadline - now()));

            outgoing.on("response", (incoming) => {
                answered = true;
                const declared = Number(incoming.headers["content-length"]);
                if (Number.isFinite(declared) && declared > request.maxBodyBytes) {
                    finish({ kind: "too-large" });
                    incoming.destroy();
                    outgoing.destroy();
                    return;
                }
                const chunks: Buffer[] = [];
                let size = 0;
                incoming.on("data", (chunk: Buffer) => {
                    size += chunk.length;
                    if (size > request.maxBodyBytes) {
                        chunks.length = 0;
                        finish({ kind: "too-large" });
                        incoming.destroy();
                        outgoing.destroy();
                        return;
                    }
                    chunks.push(chunk);
                });
                incoming.on("end", () => {
                    const headers: [string, string][] = [];
                    for (let i = 0; i + 1 < incoming.rawHeaders.length; i += 2) headers.push([incoming.rawHeaders[i].toLowerCase(), incoming.rawHeaders[i + 1]]);
                    finish({ kind: "answered", answer: { status: incoming.statusCode ?? 502, headers, body: Buffer.concat(chunks, size) } });
                });
                // Cut off before its end (reset, or closed early): not an answer.
                incoming.on("error", () => finish({ kind: "refused" }));
                incoming.on("close", () => finish({ kind: "refused" }));
            });
            outgoing.on("error", (error: NodeJS.ErrnoException) => {
                const deadConnection = outgoing.reusedSocket && !answered && ["ECONNRESET", "EPIPE", "ECONNABORTED"].includes(error.code ?? "");
                finish({ kind: "refused", retryable: deadConnection && idempotent.has(request.method) });
            });
            outgoing.end(request.body);
        });

    return {
        async send(request) {
            const deadline = now() + request.timeoutMs;
            const first = await attempt(request, deadline);
            if (first.kind === "refused" && first.retryable && now() < deadline) {
                const { retryable: _, ...second } = await attempt(request, deadline);
                return second;
            }
            const { retryable: _, ...result } = first;
            return result;
        },
        close() {
            agents.http.destroy();
            agents.https.destroy();
        },
    };
}
