/**
 * Upstreams for the trust-boundary tests: a recording upstream that keeps
 * every request exactly as it arrived on the socket (raw header lines, in
 * order, repeats and spelling kept; the request target; the body's bytes)
 * and answers what a test asks of it by path:
 *
 * - `.../bytes/<n>`: n bytes of octet-stream, streamed as the gateway reads
 *   them, with a Content-Length unless the query says `chunked=1`;
 * - `.../gzip`: a gzip-compressed JSON body with its Content-Encoding;
 * - `.../set-cookie`: Set-Cookie for `session` and for `theme`;
 * - `.../cacheable`: 200 marked `Cache-Control: public, max-age=600` (and
 *   for CDNs, `CDN-Cache-Control`), with `x-gateway-session` set to the
 *   query's `session` when it has one (a login's instruction);
 * - anything else: 200 with a small JSON body.
 */
import * as http from "node:http";
import { gzipSync } from "node:zlib";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { listenOnLoopback } from "./loopback";

export interface ArrivedRequest {
    method: string;
    /** The request target as it reached the upstream: path and query, still encoded. */
    target: string;
    /** Raw header lines as [name, value], in arrival order, names as spelled. */
    rawHeaders: [string, string][];
    headers: http.IncomingHttpHeaders;
    body: Buffer;
    /** The gateway's end of the connection: the same port for requests on one kept-alive connection. */
    remotePort: number;
}

export interface RecordingUpstream {
    url: string;
    requests: ArrivedRequest[];
    /** Requests whose target starts with `/<prefix>`. */
    to(prefix: string): ArrivedRequest[];
    /** Bytes written on `bytes/<n>` answers so far. */
    bytesSent(): number;
    close(): Promise<void>;
}

export const gzippedJson = gzipSync(Buffer.from(JSON.stringify({ compressed: true, padding: "x".repeat(200) })));

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
    const requests: ArrivedRequest[] = [];
    let bytesSent = 0;
    const server = http.createServer({ maxHeaderSize: 256 * 1024 }, (request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
            const rawHeaders: [string, string][] = [];
            for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) rawHeaders.push([request.rawHeaders[i], request.rawHeaders[i + 1]]);
            requests.push({ method: request.method!, target: request.url!, rawHeaders, headers: request.headers, body: Buffer.concat(chunks), remotePort: request.socket.remotePort ?? 0 });
            const url = new URL(request.url!, "http://upstream");
            const size = /\/bytes\/(\d+)$/.exec(url.pathname);
            if (size) {
                let left = Number(size[1]);
                const chunked = url.searchParams.get("chunked") === "1";
                response.writeHead(200, { "content-type": "application/octet-stream", ...(chunked ? {} : { "content-length": String(left) }) });
                const block = Buffer.alloc(64 * 1024, 0x61);
                const pump = () => {
                    while (left > 0) {
                        const piece = left >= block.length ? block : block.subarray(0, left);
                        left -= piece.length;
                        bytesSent += piece.length;
                        if (!response.write(piece)) return void response.once("drain", pump);
                    }
                    response.end();
                };
                response.on("close", () => (left = 0));
                pump();
                return;
            }
            if (url.pathname.endsWith("/gzip")) {
                response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip", "content-length": String(gzippedJson.length) });
                response.end(gzippedJson);
                return;
            }
            if (url.pathname.endsWith("/cacheable")) {
                const instruction = url.searchParams.get("session");
                response.writeHead(200, {
                    "content-type": "application/json",
                    "cache-control": "public, max-age=600",
                    "cdn-cache-control": "max-age=600",
                    ...(instruction !== null ? { "x-gateway-session": instruction } : {}),
                });
                response.end('{"upstream":"cacheable"}');
                return;
            }
            if (url.pathname.endsWith("/set-cookie")) {
                response.setHeader("set-cookie", ["session=upstream-chosen; Path=/; HttpOnly", "theme=dark; Path=/"]);
                response.writeHead(200, { "content-type": "text/plain" });
                response.end("cookies");
                return;
            }
            response.writeHead(200, { "content-type": "application/json" });
            response.end('{"upstream":"recorded"}');
        });
    });
    const { url, close } = await listenOnLoopback(server);
    return {
        url,
        requests,
        to: (prefix) => requests.filter((request) => request.target.startsWith(`/${prefix}`)),
        bytesSent: () => bytesSent,
        close,
    };
}

/** Header lines whose name, lower-cased, is `name`. */
export function linesNamed(request: ArrivedRequest, name: string): string[] {
    return request.rawHeaders.filter(([line]) => line.toLowerCase() === name).map(([, value]) => value);
}

export interface VerifyingUpstream {
    url: string;
    /** What it saw of each request: the verified claims, or why it refused. */
    seen: ({ claims: Record<string, unknown> } | { refused: string })[];
    close(): Promise<void>;
}

/**
 * An upstream that believes only the gateway: it verifies `x-gateway-assertion`
 * with `jose` against the gateway's JWKS (the few lines docs/security.md shows
 * an upstream owner), answers 401 to anything else, and tells in its answer
 * whom it served. Headers such as `x-gateway-user-id` it ignores.
 */
export async function startVerifyingUpstream(options: { jwksUrl: string; issuer: string }): Promise<VerifyingUpstream> {
    const jwks = createRemoteJWKSet(new URL(options.jwksUrl));
    const seen: VerifyingUpstream["seen"] = [];
    const server = http.createServer((request, response) => {
        request.resume();
        const audience = new URL(request.url!, "http://upstream").pathname.split("/")[1];
        const assertion = request.headers["x-gateway-assertion"];
        const refuse = (reason: string) => {
            seen.push({ refused: reason });
            response.writeHead(401, { "content-type": "application/json" });
            response.end(JSON.stringify({ refused: reason }));
        };
        if (typeof assertion !== "string") return refuse("no assertion");
        jwtVerify(assertion, jwks, { issuer: options.issuer, audience, algorithms: ["ES256"], maxTokenAge: "2m" }).then(
            ({ payload }) => {
                seen.push({ claims: payload });
                response.writeHead(200, { "content-type": "application/json" });
                response.end(JSON.stringify({ servedTo: payload.sub ?? null, claims: payload }));
            },
            (error: Error) => refuse((error as { code?: string }).code ?? error.message),
        );
    });
    const { url, close } = await listenOnLoopback(server);
    return { url, seen, close };
}
