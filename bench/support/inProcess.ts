/**
 * The handler in this process (runtime/handler.ts `createHandler`, as the
 * Lambda entry calls it) against an embedded dynalite store and an echo
 * upstream on loopback, with the prod stack's routes and behaviour. Time is
 * injected, so a workload can span minutes of windows in a second, and the
 * DynamoDB client is a counting one, handed in through `deps.dynamo`.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { createHandler, type Handler } from "../../runtime/handler";
import { startEchoUpstream, type EchoUpstream } from "../../local/echo";
import { generateKeyMaterial } from "../../local/keys";
import { startEmbeddedStore, type EmbeddedStore } from "../../local/store";
import { ensureTables } from "../../data/createTables";
import { createSessions } from "../../runtime/sessions";
import { type RuntimeSettings } from "../../runtime/settings";
import { capturedSettings } from "../../specs/lambda";
import { loadStackConfig } from "../../specs/stackFile";
import { rateLimitsTable, sessionsTable } from "../../specs/tables";
import { countingDynamo, type CountingDynamo } from "./dynamoCounter";

/** A clock the workload moves by hand; starts on a whole hour so windows line up with it. */
export class SimulatedClock {
    ms = Date.UTC(2031, 0, 1, 12, 0, 0);
    now = () => this.ms;
    advance(ms: number): void {
        this.ms += ms;
    }
}

export interface Rig {
    store: EmbeddedStore;
    echo: EchoUpstream;
    dynamo: CountingDynamo;
    tables: { rateLimits: string; sessions: string };
    /** The prod stack's settings, upstreams pointed at the echo. */
    prodSettings(overrides?: Partial<RuntimeSettings>): RuntimeSettings;
    handler(settings: RuntimeSettings, clock: SimulatedClock, log?: (line: string) => void): Handler;
    /** A session token for `userId`, created with the session library at the clock's time (or `issuedAt`, epoch ms). */
    session(userId: string, clock: SimulatedClock, issuedAt?: number): Promise<string>;
    close(): Promise<void>;
}

let rigCounter = 0;

export async function startRig(): Promise<Rig> {
    const store = await startEmbeddedStore({});
    const echo = await startEchoUpstream("bench");
    const admin = new DynamoDBClient({ endpoint: store.endpoint, region: "eu-west-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    const names = await ensureTables(admin, `bench${process.pid}-${++rigCounter}`, [rateLimitsTable, sessionsTable], { enableTtl: false });
    admin.destroy();
    const tables = { rateLimits: names[rateLimitsTable.name], sessions: names[sessionsTable.name] };
    const dynamo = countingDynamo(store.endpoint);
    const prod = loadStackConfig("prod");
    const keys = generateKeyMaterial();
    return {
        store,
        echo,
        dynamo,
        tables,
        prodSettings: (overrides = {}) => {
            const captured = capturedSettings(prod.settings);
            return {
                ...captured,
                routes: captured.routes.map((route) => ({ ...route, upstream: echo.url })),
                tables,
                region: prod.region ?? "eu-west-1",
                logLevel: prod.settings.logLevel,
                jwtSecret: undefined,
                gatewayKeys: { value: keys },
                dynamoEndpoint: store.endpoint,
                ...overrides,
            };
        },
        handler: (settings, clock, log = () => undefined) => createHandler(settings, { now: clock.now, dynamo: dynamo.client, log }),
        session: async (userId, clock, issuedAt) =>
            (await createSessions({ dynamo: dynamo.client, tableName: tables.sessions, now: issuedAt === undefined ? clock.now : () => issuedAt }).create({ userId, ttlSeconds: 86_400 })).token,
        close: async () => {
            dynamo.destroy();
            await echo.close();
            await store.close();
        },
    };
}

let eventCounter = 0;

/** An API Gateway HTTP API 2.0 event as the deployed API sends it (route `ANY /{proxy+}`). */
export function gatewayEvent(options: { path: string; sourceIp: string; headers?: Record<string, string>; method?: string; cookies?: string[]; body?: string }): APIGatewayProxyEventV2 {
    const method = options.method ?? "GET";
    const now = new Date();
    return {
        version: "2.0",
        routeKey: "ANY /{proxy+}",
        rawPath: options.path,
        rawQueryString: "",
        headers: { accept: "application/json", host: "api.example.com", "user-agent": "tollgate-bench", "x-forwarded-proto": "https", ...options.headers },
        requestContext: {
            accountId: "123456789012",
            apiId: "benchapi",
            domainName: "api.example.com",
            domainPrefix: "api",
            http: { method, path: options.path, protocol: "HTTP/1.1", sourceIp: options.sourceIp, userAgent: "tollgate-bench" },
            requestId: `bench-${process.pid}-${++eventCounter}`,
            routeKey: "ANY /{proxy+}",
            stage: "$default",
            time: now.toUTCString(),
            timeEpoch: now.getTime(),
        },
        pathParameters: { proxy: options.path.slice(1) },
        ...(options.cookies ? { cookies: options.cookies } : {}),
        ...(options.body !== undefined ? { body: options.body } : {}),
        isBase64Encoded: false,
    };
}
