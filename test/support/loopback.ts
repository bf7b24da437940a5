/**
 * Loopback ports. The tests' own HTTP servers (upstreams, JWKS, Secrets
 * Manager, a DynamoDB proxy) listen on a free 127.0.0.1 port and close without
 * waiting for keep-alive connections; a process that binds its port itself
 * (DynamoDB Local, `npm start` in the tests and the benchmark) is handed one
 * found free beforehand.
 */
import type * as http from "node:http";
import * as net from "node:net";

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

export interface LoopbackServer {
    port: number;
    /** `http://127.0.0.1:<port>` */
    url: string;
    /** Stops listening and drops the open connections. */
    close(): Promise<void>;
}

export async function listenOnLoopback(server: http.Server): Promise<LoopbackServer> {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    return {
        port,
        url: `http://127.0.0.1:${port}`,
        close: () =>
            new Promise<void>((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
            }),
    };
}
