/**
 * Loopback ports. The tests' own HTTP servers (upstreams, JWKS, Secrets
 * Manager, a DynamoDB proxy) listen on a free 127.0.0.1 port and close without
 * waiting for keep-alive connections; a process that binds its port itself
 * (DynamoDB Local, `npm start` in the tests and the benchmark) is handed one
 * found free beforehand.
 */
import * as http from "node:http";
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

export interface SilentServer {
    /** `http://127.0.0.1:<port>` */
    url: string;
    /** Connections accepted so far. */
    connections(): number;
    close(): Promise<void>;
}

/** A TCP server on loopback that accepts every connection, reads what it is sent, and never answers: a store or service that hangs. */
export async function startSilentServer(): Promise<SilentServer> {
    const sockets = new Set<net.Socket>();
    let accepted = 0;
    const server = net.createServer((socket) => {
        accepted++;
        sockets.add(socket);
        socket.on("data", () => undefined);
        socket.on("error", () => undefined);
        socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    return {
        url: `http://127.0.0.1:${port}`,
        connections: () => accepted,
        close: () =>
            new Promise<void>((resolve) => {
                for (const socket of sockets) socket.destroy();
                server.close(() => resolve());
            }),
    };
}


/** A DynamoDB stand-in on loopback that answers every call with an empty JSON object, handing `seen` the headers of each. */
export function startEmptyDynamo(seen: (headers: http.IncomingHttpHeaders) => void = () => undefined): Promise<LoopbackServer> {
    const server = http.createServer((request, response) => {
        seen(request.headers);
        request.resume();
        request.on("end", () => {
            response.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
            response.end("{}");
        });
    });
    return listenOnLoopback(server);
}
