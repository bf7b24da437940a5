/**
 * The built-in echo upstream of the local gateway: stands in for a route's
 * real service and answers every request with JSON describing what reached
 * it, so a developer (or a test) can see exactly what the gateway forwarded:
 * the path after the route prefix, the query, the headers it added or
 * stripped, and the body.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { listen } from "./gateway";

/** The echo's answer. */
export interface EchoReport {
    /** The route this echo stands in for. */
    upstream: string;
    method: string;
    /** The path as it reached the upstream, still percent-encoded. */
    path: string;
    /** Query parameters, decoded; a repeated key gives a list. */
    query: Record<string, string | string[]>;
    /** Header names lower-cased; repeats as Node joins them. */
    headers: Record<string, string | string[] | undefined>;
    /** The body as text, or base64 when it is not UTF-8 (`bodyEncoding`). */
    body: string;
    bodyEncoding: "utf8" | "base64";
}

export interface EchoUpstream {
    name: string;
    url: string;
    close(): Promise<void>;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export async function startEchoUpstream(name: string, options: { port?: number; host?: string } = {}): Promise<EchoUpstream> {
    const host = options.host ?? "127.0.0.1";
    const server = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("error", () => response.destroy());
        request.on("end", () => {
            const report = describe(name, request, Buffer.concat(chunks));
            const text = JSON.stringify(report);
            response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
            response.end(request.method === "HEAD" ? undefined : text);
        });
    });
    await listen(server, options.port ?? 0, host);
    const port = (server.address() as AddressInfo).port;
    return {
        name,
        url: `http://${host}:${port}`,
        close: () =>
            new Promise<void>((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
            }),
    };
}

/** What reached an upstream, as the echo reports it. */
export function describe(name: string, request: http.IncomingMessage, body: Buffer): EchoReport {
    const target = request.url ?? "/";
    const question = target.indexOf("?");
    const path = question < 0 ? target : target.slice(0, question);
    const query = new Map<string, string | string[]>();
    if (question >= 0) {
        for (const [key, value] of new URLSearchParams(target.slice(question + 1))) {
            const earlier = query.get(key);
            query.set(key, earlier === undefined ? value : [...(Array.isArray(earlier) ? earlier : [earlier]), value]);
        }
    }
    let text: string;
    let bodyEncoding: EchoReport["bodyEncoding"] = "utf8";
    try {
        text = strictUtf8.decode(body);
    } catch {
        text = body.toString("base64");
        bodyEncoding = "base64";
    }
    return {
        upstream: name,
        method: request.method ?? "GET",
        path,
        query: Object.fromEntries(query),
        headers: { ...request.headers },
        body: text,
        bodyEncoding,
    };
}
