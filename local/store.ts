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
        close: () =>
            new Promise<void>((resolve) => {
                server.close(() => resolve());
                (server as any).closeAllConnections?.();
            }),
    };
}
