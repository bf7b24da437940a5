/**
 * The embedded DynamoDB-compatible store of the local gateway: dynalite in
 * this process, listening on 127.0.0.1 so other commands (`npm run sessions
 * -- --local`) can reach it. Data is kept on disk unless `path` is omitted.
 */
import * as fs from "node:fs";
import type { AddressInfo } from "node:net";

export interface EmbeddedStore {
    endpoint: string;
    port: number;
    close(): Promise<void>;
}

/** How long a stopping store lets the requests in flight finish before it cuts their connections: DynamoDB answers in milliseconds, and a stop should look like one. */
const closeGraceMs = 100;

export async function startEmbeddedStore(options: { port?: number; host?: string; path?: string } = {}): Promise<EmbeddedStore> {
    // dynalite has no type declarations; it is a factory returning an http.Server.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dynalite = require("dynalite") as (opts: Record<string, unknown>) => import("node:http").Server;
    if (options.path) fs.mkdirSync(options.path, { recursive: true });
    const server = dynalite({
        path: options.path,
        createTableMs: 0,
        deleteTableMs: 0,
        updateTableMs: 0,
    });
    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port ?? 0, host, () => {
            server.off("error", reject);
            resolve();
        });
    });
    const port = (server.address() as AddressInfo).port;
    return {
        endpoint: `http://${host}:${port}`,
        port,
        // dynalite closes its database once the server has closed: requests still running then would
        // meet a closed database (an unhandled "Database is closed" inside dynalite). So stop accepting,
        // let the requests in flight finish, and cut what is left only after a grace period.
        close: () =>
            new Promise<void>((resolve) => {
                const cutOff = setTimeout(() => server.closeAllConnections(), closeGraceMs);
                server.close(() => {
                    clearTimeout(cutOff);
                    resolve();
                });
                server.closeIdleConnections();
            }),
    };
}
