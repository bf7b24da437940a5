/**
 * An upstream that records every request it receives (method, path as it
 * arrived, headers) and answers 200 with a small JSON body, so a test can
 * tell exactly which requests the gateway forwarded, and where to.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedCall {
    method: string;
    /** The request target as it reached the upstream: path and query, still encoded. */
    target: string;
    headers: http.IncomingHttpHeaders;
}

export interface RecordingUpstream {
    url: string;
    calls: RecordedCall[];
    close(): Promise<void>;
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
    const calls: RecordedCall[] = [];
    const server = http.createServer({ maxHeaderSize: 256 * 1024 }, (request, response) => {
        calls.push({ method: request.method ?? "", target: request.url ?? "", headers: request.headers });
        request.resume();
        request.on("end", () => {
            response.writeHead(200, { "content-type": "application/json" });
            response.end('{"upstream":"recorded"}');
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        calls,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}
