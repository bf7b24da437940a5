/**
 * The upstream transport tollgate had before `node:http`: Node's global
 * `fetch`, kept here only so the benchmark can put it behind the same handler
 * (`deps.upstream`) and measure the difference in one run. It does what the
 * old proxy did: redirects passed back, the whole body read into memory
 * before the size check, compressed bodies decoded by fetch (and their
 * Content-Encoding and Content-Length dropped), a GET's body dropped.
 */
import type { UpstreamClient, UpstreamResult } from "../../runtime/upstream/client";

export function fetchUpstreamClient(): UpstreamClient {
    return {
        async send(request): Promise<UpstreamResult> {
            const headers = new Headers();
            for (const [name, value] of Object.entries(request.headers)) {
                // fetch sets these itself, and refuses to be given some of them.
                if (name === "host" || name === "content-length" || name === "connection") continue;
                try {
                    headers.set(name, value);
                } catch {
                    // a value fetch cannot send was dropped
                }
            }
            const withBody = request.method !== "GET" && request.method !== "HEAD" && request.body !== undefined;
            try {
                const response = await fetch(request.url, {
                    method: request.method,
                    headers,
                    body: withBody ? new Uint8Array(request.body!) : undefined,
                    redirect: "manual",
                    signal: AbortSignal.timeout(Math.max(1, request.timeoutMs)),
                });
                const body = Buffer.from(await response.arrayBuffer());
                if (body.length > request.maxBodyBytes) return { kind: "too-large" };
                const answerHeaders: [string, string][] = [];
                response.headers.forEach((value, name) => {
                    if (name !== "set-cookie" && name !== "content-encoding" && name !== "content-length") answerHeaders.push([name, value]);
                });
                for (const cookie of response.headers.getSetCookie()) answerHeaders.push(["set-cookie", cookie]);
                return { kind: "answered", answer: { status: response.status, headers: answerHeaders, body } };
            } catch (error) {
                const name = (error as { name?: string } | undefined)?.name;
                return { kind: name === "TimeoutError" || name === "AbortError" ? "timeout" : "refused" };
            }
        },
    };
}
