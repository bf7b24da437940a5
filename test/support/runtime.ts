/**
 * Helpers for the runtime's tests: 2.0 events shaped like the one captured
 * from AWS (test/fixtures/apigw-http-v2-event.json), a clock tests move by
 * hand, real upstream HTTP servers on free loopback ports, tables on a test
 * DynamoDB, a DynamoDB client that counts the operations it sends, and the
 * mocha hooks that set these up for a suite of handler tests.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { startDynamo, testCredentials, type DynamoKind, type TestDynamo } from "./dynamo";
import { createStoreClient, type StoreClient } from "../../runtime/stores/dynamo";
import { listenOnLoopback } from "./loopback";
import { ensureTables } from "../../data/createTables";
import { rateLimitsTable, sessionsTable } from "../../specs/tables";
import type { RateLimitPolicy, RouteSpec } from "../../specs/routes";
import type { RuntimeSettings } from "../../runtime/settings";
import { generateKeyMaterial } from "../../local/keys";
import { gatewayKeysOf } from "../../runtime/auth/gatewayKeys";
import { windowStartOf } from "../../runtime/steps/rateLimit";

const fixture: APIGatewayProxyEventV2 = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "apigw-http-v2-event.json"), "utf8"));

export interface EventOptions {
    method?: string;
    path?: string;
    query?: string;
    headers?: Record<string, string>;
    cookies?: string[];
    body?: string | Buffer;
    sourceIp?: string;
    requestId?: string;
}

let requestCounter = 0;

/** A 2.0 event: the captured one with the given request in it (headers lower-cased, as API Gateway does). */
export function event(options: EventOptions = {}): APIGatewayProxyEventV2 {
    const base = structuredClone(fixture);
    const method = options.method ?? "GET";
    const rawPath = options.path ?? "/";
    const headers: Record<string, string> = { accept: "*/*", host: base.headers.host!, "user-agent": "tollgate-test", "x-forwarded-proto": "https" };
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
    const binary = Buffer.isBuffer(options.body);
    const result: APIGatewayProxyEventV2 = {
        ...base,
        routeKey: "$default",
        rawPath,
        rawQueryString: options.query ?? "",
        headers,
        requestContext: {
            ...base.requestContext,
            routeKey: "$default",
            requestId: options.requestId ?? `req-${++requestCounter}-${Date.now().toString(36)}`,
            http: { ...base.requestContext.http, method, path: rawPath, sourceIp: options.sourceIp ?? "198.51.100.7", userAgent: "tollgate-test" },
        },
        isBase64Encoded: binary,
    };
    if (options.cookies) result.cookies = options.cookies;
    if (options.body !== undefined) result.body = binary ? (options.body as Buffer).toString("base64") : (options.body as string);
    else delete result.body;
    return result;
}

/** A clock for `now()`, starting on a whole hour. */
export class Clock {
    ms = Date.UTC(2031, 0, 1, 12, 0, 0);
    now = () => this.ms;
    advance(ms: number) {
        this.ms += ms;
    }
    /**
     * Moves the clock to the start of the limiter key's next window (or leaves it
     * there): each key's windows start at an offset of their own, which the
     * tests' gateway keys decide.
     */
    toWindowStart(limiterKey: string, windowSeconds: number) {
        const start = windowStartOf(limiterKey, windowSeconds, testWindowKey, this.ms) * 1000;
        if (start !== this.ms) this.ms = start + windowSeconds * 1000;
    }
    /** The `window_start` of the key's window now. */
    windowStart(limiterKey: string, windowSeconds: number) {
        return windowStartOf(limiterKey, windowSeconds, testWindowKey, this.ms);
    }
    /** Seconds since the epoch. */
    get seconds() {
        return Math.floor(this.ms / 1000);
    }
}

export interface UpstreamRequest {
    method: string;
    /** Path and query as they reached the upstream. */
    url: string;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
}

export interface Upstream {
    url: string;
    requests: UpstreamRequest[];
    close(): Promise<void>;
}

export const binaryPayload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Request headers that tell the upstream's `/answer` path what to answer: `x-answer-header-<name>: <value>` sets response header `<name>`. */
export const answerHeaderPrefix = "x-answer-header-";

/** Request headers asking `/answer` to send `header` back as a response header of that name, e.g. `x-gateway-session`. */
export function answerWith(headers: Record<string, string>, status?: number): Record<string, string> {
    const asked = Object.fromEntries(Object.entries(headers).map(([name, value]) => [`${answerHeaderPrefix}${name}`, value]));
    return status === undefined ? asked : { ...asked, "x-answer-status": String(status) };
}

/**
 * A real HTTP upstream. `/slow` never answers, `/reset` drops the connection,
 * `/binary` answers 256 bytes of octet-stream, `/cookies` sets two cookies,
 * `/redirect` answers 302, `/status/<n>` answers n, `/answer` answers with the
 * status and response headers the request asks for (`answerWith`), `/reflect`
 * answers every `x-*` request header back as a response header; anything else
 * echoes the request as JSON.
 */
export async function startUpstream(): Promise<Upstream> {
    const requests: UpstreamRequest[] = [];
    const server = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
            const body = Buffer.concat(chunks);
            requests.push({ method: request.method!, url: request.url!, headers: request.headers, body });
            const pathname = request.url!.split("?")[0];
            if (pathname.endsWith("/slow")) return; // never answers
            if (pathname.endsWith("/reset")) {
                request.socket.destroy();
                return;
            }
            if (pathname.endsWith("/binary")) {
                response.writeHead(200, { "content-type": "application/octet-stream" });
                response.end(binaryPayload);
                return;
            }
            if (pathname.endsWith("/cookies")) {
                response.setHeader("set-cookie", ["a=1; Path=/; HttpOnly", "b=2; Path=/"]);
                response.writeHead(200, { "content-type": "text/plain" });
                response.end("cookies set");
                return;
            }
            if (pathname.endsWith("/redirect")) {
                response.writeHead(302, { location: "http://elsewhere.invalid/" });
                response.end();
                return;
            }
            if (pathname.endsWith("/answer") || pathname.endsWith("/reflect")) {
                const reflect = pathname.endsWith("/reflect");
                for (const [name, value] of Object.entries(request.headers)) {
                    if (reflect && name.startsWith("x-") && value !== undefined) response.setHeader(name, value);
                    else if (!reflect && name.startsWith(answerHeaderPrefix) && value !== undefined) response.setHeader(name.slice(answerHeaderPrefix.length), value);
                }
                response.writeHead(Number(request.headers["x-answer-status"] ?? 200), { "content-type": "application/json" });
                response.end(JSON.stringify({ answered: true }));
                return;
            }
            const status = /\/status\/(\d{3})$/.exec(pathname);
            if (status) {
                response.writeHead(Number(status[1]), { "content-type": "text/plain" });
                response.end(`status ${status[1]}`);
                return;
            }
            response.writeHead(200, { "content-type": "application/json", connection: "keep-alive", "keep-alive": "timeout=5", "x-upstream": "echo" });
            response.end(JSON.stringify({ method: request.method, url: request.url, headers: request.headers, body: body.toString("base64") }));
        });
    });
    const { url, close } = await listenOnLoopback(server);
    return { url, requests, close };
}

let tableCounter = 0;

/** The built-in tables under a fresh prefix, TTL off (so expired items stay, as they do on AWS for a while). */
export async function freshTables(dynamo: TestDynamo): Promise<{ prefix: string; rateLimits: string; sessions: string }> {
    const prefix = `t${process.pid}-${++tableCounter}`;
    const names = await ensureTables(dynamo.client, prefix, [rateLimitsTable, sessionsTable], { enableTtl: false });
    return { prefix, rateLimits: names[rateLimitsTable.name], sessions: names[sessionsTable.name] };
}

export interface SuiteServers {
    dynamo: TestDynamo;
    upstream: Upstream;
}

/**
 * Mocha hooks: a DynamoDB of `kind` and a real upstream for the whole suite,
 * the upstream's record of requests emptied before each test. The fields are
 * set once the suite's `before` has run.
 */
export function useDynamoAndUpstream(kind: DynamoKind): SuiteServers {
    const servers = {} as SuiteServers;
    before(async () => {
        servers.dynamo = await startDynamo(kind);
        servers.upstream = await startUpstream();
    });
    after(async () => {
        await servers.upstream?.close();
        await servers.dynamo?.close();
    });
    beforeEach(() => {
        servers.upstream.requests.length = 0;
    });
    return servers;
}

export interface HandlerSuite extends SuiteServers {
    tables: { rateLimits: string; sessions: string };
    clock: Clock;
    counting: CountingClient;
}

/** `useDynamoAndUpstream`, and for each test fresh tables, a new clock and a counting client. */
export function useHandlerSuite(kind: DynamoKind): HandlerSuite {
    const suite = useDynamoAndUpstream(kind) as HandlerSuite;
    beforeEach(async () => {
        suite.tables = await freshTables(suite.dynamo);
        suite.clock = new Clock();
        suite.counting = countingClient(suite.dynamo);
    });
    afterEach(() => suite.counting.destroy());
    return suite;
}

export function route(overrides: Partial<RouteSpec> & Pick<RouteSpec, "name" | "pathPrefix" | "upstream">): RouteSpec {
    return { auth: "none", permissions: [], ...overrides };
}

/** The gateway's keys for every handler a test makes (one P-256 key and a log key, made once per test process). */
export const testKeyMaterial = generateKeyMaterial();

/** The window key of `testKeyMaterial`: where each limiter key's windows start. */
export const testWindowKey = gatewayKeysOf(testKeyMaterial).windowKey;

/** What `tollgate:identity` gives a stack that sets none, with the issuer of the test stacks' gateways. */
export const testIdentity = { assertion: true, headers: true, issuer: "urn:tollgate:test" };

/** The JWT policy the config schema gives a stack that sets none. */
export const jwtPolicy = { maxLifetimeSeconds: 86_400, scopesAsPermissions: false };

export const generousLimit: RateLimitPolicy = { by: "ip", limit: 1000, windowSeconds: 60, algorithm: "fixed" };

export function runtimeSettings(tables: { rateLimits: string; sessions: string }, dynamo: Pick<TestDynamo, "endpoint">, overrides: Partial<RuntimeSettings> = {}): RuntimeSettings {
    return {
        routes: [],
        defaultRateLimit: generousLimit,
        sessionCacheSeconds: 0,
        rateLimitFailureMode: "open",
        upstreamTimeoutMs: 2000,
        jwt: { ...jwtPolicy },
        identity: { ...testIdentity },
        gatewayKeys: { value: testKeyMaterial },
        tables: { rateLimits: tables.rateLimits, sessions: tables.sessions },
        region: "eu-west-1",
        logLevel: "INFO",
        jwtSecret: undefined,
        dynamoEndpoint: dynamo.endpoint,
        ...overrides,
    };
}

export interface CountingClient {
    /** What the handler is given (`deps.dynamo`): the store client, as the handler builds its own. */
    client: StoreClient;
    /** Operations sent, by DynamoDB command name (GetItemCommand, UpdateItemCommand, ...). */
    counts: Map<string, number>;
    /** `+Name` when an operation is sent, `-Name` when its answer (or failure) is back, in order. */
    trace: string[];
    /** Operations sent to one table, by command name without `Command` (`UpdateItem`, ...). */
    on(tableName: string): Record<string, number>;
    total(): number;
    reset(): void;
    destroy(): void;
}

/** The gateway's own store client (runtime/awsClient.ts) on the test store, counting every operation it is asked for (retries count once). */
export function countingClient(dynamo: Pick<TestDynamo, "endpoint">, options: { timeoutMs?: number } = {}): CountingClient {
    // A longer timeout covers connecting too: parallel connections to a busy test store take their time.
    const wire = createStoreClient({ region: "eu-west-1", endpoint: dynamo.endpoint, credentials: testCredentials, maxAttempts: 1, requestTimeoutMs: options.timeoutMs ?? 2000 });
    const counts = new Map<string, number>();
    const trace: string[] = [];
    const tables: { table: string; name: string }[] = [];
    const client: StoreClient = {
        via: wire.via,
        async call(operation, input) {
            const commandName = `${operation}Command`;
            counts.set(commandName, (counts.get(commandName) ?? 0) + 1);
            tables.push({ table: String(input.TableName), name: operation });
            trace.push(`+${operation}`);
            try {
                return await wire.call(operation, input);
            } finally {
                trace.push(`-${operation}`);
            }
        },
        destroy: () => wire.destroy(),
    };
    return {
        client,
        counts,
        trace,
        on: (tableName) => {
            const onTable: Record<string, number> = {};
            for (const call of tables) if (call.table === tableName) onTable[call.name] = (onTable[call.name] ?? 0) + 1;
            return onTable;
        },
        total: () => [...counts.values()].reduce((sum, n) => sum + n, 0),
        reset: () => {
            counts.clear();
            trace.length = 0;
            tables.length = 0;
        },
        destroy: () => client.destroy(),
    };
}

/** Parses a JSON body of a 2.0 result. */
export function bodyOf(result: { body?: string; isBase64Encoded?: boolean }): any {
    const text = result.isBase64Encoded ? Buffer.from(result.body ?? "", "base64").toString("utf8") : result.body ?? "";
    return JSON.parse(text);
}
