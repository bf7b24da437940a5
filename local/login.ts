/**
 * The built-in login upstream of the local gateway: stands in for an
 * application's login service on routes that issue or end sessions, so the
 * whole loop (log in, call a session route with the cookie, log out) works
 * with curl and nothing else. It checks no password; it only shows what a
 * real login service sends back, which is one response header:
 *
 *   POST .../login        {"username": "alice"} (JSON, or a form field)
 *                         -> 200, x-gateway-session: {"userId": "alice", "username": "alice"}
 *                            (roles, permissions and ttlSeconds posted as JSON are passed on as given,
 *                            so the gateway's checks of them can be tried too)
 *   POST .../logout       -> 200, x-gateway-session: {"revoke": "current"}
 *   POST .../logout/all   -> 200, x-gateway-session: {"revoke": "all"}
 *
 * Any other path is answered as the echo upstream answers. It listens on
 * loopback only, and only `npm start` starts it.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { describe } from "./echo";
import { listen } from "./gateway";

export interface LoginUpstream {
    name: string;
    /** `http://127.0.0.1:<port>`, without a path. */
    url: string;
    close(): Promise<void>;
}

const instructionHeader = "x-gateway-session";
/** Fields of a posted JSON login passed on to the instruction as they are. */
const passedOn = ["roles", "permissions", "ttlSeconds"] as const;

/** JSON with every character outside ASCII escaped, so it is a valid header value whatever the username. */
export function asciiJson(value: unknown): string {
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function readLogin(request: http.IncomingMessage, body: Buffer): Record<string, unknown> | undefined {
    const text = body.toString("utf8");
    if (/json/i.test(request.headers["content-type"] ?? "")) {
        try {
            const parsed = JSON.parse(text);
            return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : undefined;
        } catch {
            return undefined;
        }
    }
    return Object.fromEntries(new URLSearchParams(text));
}

function answer(response: http.ServerResponse, status: number, body: unknown, instruction?: unknown): void {
    const text = JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" };
    if (instruction !== undefined) headers[instructionHeader] = asciiJson(instruction);
    response.writeHead(status, headers);
    response.end(text);
}

export async function startLoginUpstream(name: string, options: { port?: number } = {}): Promise<LoginUpstream> {
    const server = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("error", () => response.destroy());
        request.on("end", () => {
            const body = Buffer.concat(chunks);
            const path = (request.url ?? "/").split("?")[0];
            const action = /\/login$/.test(path) ? "login" : /\/logout\/all$/.test(path) ? "logout-all" : /\/logout$/.test(path) ? "logout" : undefined;
            if (action === undefined) {
                const text = JSON.stringify(describe(name, request, body));
                response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
                response.end(request.method === "HEAD" ? undefined : text);
                return;
            }
            if (request.method !== "POST") {
                response.setHeader("allow", "POST");
                answer(response, 405, { error: `POST to ${action === "login" ? "log in" : "log out"}` });
                return;
            }
            if (action === "logout") return answer(response, 200, { loggedOut: "this session" }, { revoke: "current" });
            if (action === "logout-all") return answer(response, 200, { loggedOut: "every session of the user" }, { revoke: "all" });
            const login = readLogin(request, body);
            const username = login?.username;
            if (typeof username !== "string" || username.trim() === "") {
                answer(response, 400, { error: 'post a username, e.g. {"username": "alice"}' });
                return;
            }
            const instruction: Record<string, unknown> = { userId: username, username };
            for (const field of passedOn) if (login![field] !== undefined) instruction[field] = login![field];
            answer(response, 200, { loggedIn: username }, instruction);
        });
    });
    await listen(server, options.port ?? 0, "127.0.0.1");
    const port = (server.address() as AddressInfo).port;
    return {
        name,
        url: `http://127.0.0.1:${port}`,
        close: () =>
            new Promise<void>((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
            }),
    };
}
