/**
 * The tests' own HTTP servers (upstreams, JWKS, Secrets Manager, a DynamoDB
 * proxy) listen on a free 127.0.0.1 port and close without waiting for
 * keep-alive connections.
 */
import type * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface LoopbackServer {
    port: number;
    /** `http://127.0.0.1:<port>` */
    url: string;
    /** Stops listening and drops the open connections. */
    close(): Promise<void>;
}

export async function listenOnLoopback(server: http.Server): Promise<LoopbackServer> {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
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
