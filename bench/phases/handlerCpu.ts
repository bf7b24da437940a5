/**
 * 7. The handler's own CPU per request: tollgate's handler with the prod
 * stack's routes, and beside it, in the same process and run, a minimal
 * gateway (one conditional UpdateItem, then the upstream's answer) as the
 * floor to compare with.
 *
 * DynamoDB is answered in memory (support/memoryDynamo.ts), so the SDK's
 * work is measured and a store's is not; the upstream is the echo upstream
 * in a process of its own, so this process's CPU holds the HTTP client's
 * work and not the server's. CPU is `process.cpuUsage()` (user + system,
 * every thread of this process: GC and libuv included) over a round of
 * sequential requests. The targets take turns, round after round, and each
 * figure is the median of its rounds, so drift in the machine's load falls
 * on all of them alike.
 *
 * tollgate's log lines go to /dev/null through a real file descriptor, as
 * stdout costs a write per line in Lambda; the minimal gateway logs nothing.
 *
 * The proxy change: the anonymous workload runs a third time through the
 * same handler with the upstream transport tollgate had before, Node's
 * `fetch` (bench/baseline/fetchUpstream.ts), so `proxy` compares the two in
 * the same rounds.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import { UpdateItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { generateKeyMaterial } from "../../local/keys";
import { createHandler } from "../../runtime/handler";
import type { RuntimeSettings } from "../../runtime/settings";
import { capturedSettings } from "../../specs/lambda";
import { loadStackConfig } from "../../specs/stackFile";
import { fetchUpstreamClient } from "../baseline/fetchUpstream";
import { gatewayEvent } from "../support/inProcess";
import { memoryDynamo, plainMemoryDynamo } from "../support/memoryDynamo";
import { startEchoProcess } from "../support/processes";
import { median, round } from "../support/stats";

export interface HandlerCpuResult {
    /** tollgate's handler, the cost model's mix: half `products` (anonymous), half `users` (session). */
    cpu_us_per_req: number;
    /** The minimal one-UpdateItem gateway, same run. */
    baseline_cpu_us_per_req: number;
    /** tollgate's CPU over the minimal gateway's, round by round: the median of the rounds' ratios. */
    cpu_ratio: number;
    by_workload_cpu_us_per_req: { anonymous: number; session_cache10: number };
    /** The anonymous workload with the upstream reached through `fetch` (before) and `node:http` (after, as shipped). */
    proxy: { fetch_cpu_us_per_req: number; node_http_cpu_us_per_req: number; change_pct: number };
    rounds: number;
    requests_per_round: number;
    method: string;
}

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

const tables = { rateLimits: "bench-memory-rate-limits", sessions: "bench-memory-sessions" };
const clients = 10;

/**
 * The floor: what any gateway of this design does per request, written the
 * cheapest way a handler of a few lines does: one conditional UpdateItem on
 * the SDK's low-level client with cached middleware, then the upstream over
 * a keep-alive agent, its answer returned as it came.
 */
export function minimalGateway(dynamo: DynamoDBClient, upstream: string): Handler {
    const agent = new http.Agent({ keepAlive: true });
    const target = new URL(upstream);
    return async (event) => {
        const windowStart = String(Math.floor(Date.now() / 60_000) * 60);
        try {
            await dynamo.send(
                new UpdateItemCommand({
                    TableName: tables.rateLimits,
                    Key: { limiter_key: { S: `ip:${event.requestContext.http.sourceIp}` }, window_start: { N: windowStart } },
                    UpdateExpression: "ADD request_count :one",
                    ConditionExpression: "attribute_not_exists(request_count) OR request_count < :limit",
                    ExpressionAttributeValues: { ":one": { N: "1" }, ":limit": { N: "300" } },
                }),
            );
        } catch (error) {
            if ((error as Error).name === "ConditionalCheckFailedException") return { statusCode: 429 };
            throw error;
        }
        return new Promise((resolve, reject) => {
            const request = http.request({ host: target.hostname, port: target.port, path: event.rawPath, method: event.requestContext.http.method, headers: event.headers, agent }, (response) => {
                const chunks: Buffer[] = [];
                response.on("data", (chunk: Buffer) => chunks.push(chunk));
                response.on("end", () => resolve({ statusCode: response.statusCode, headers: response.headers as Record<string, string>, body: Buffer.concat(chunks).toString("utf8") }));
                response.on("error", reject);
            });
            request.on("error", reject);
            request.end();
        });
    };
}

async function cpuPerRequest(handler: Handler, events: APIGatewayProxyEventV2[], requests: number): Promise<number> {
    const before = process.cpuUsage();
    for (let i = 0; i < requests; i++) {
        const result = await handler(events[i % events.length]);
        if (result.statusCode !== 200) throw new Error(`handler CPU run: answered ${result.statusCode}: ${result.body}`);
    }
    const used = process.cpuUsage(before);
    return (used.user + used.system) / requests;
}

export async function measureHandlerCpu(options: { rounds: number; requestsPerRound: number }): Promise<HandlerCpuResult> {
    const echo = await startEchoProcess();
    const devNull = fs.openSync("/dev/null", "w");
    try {
        const prod = loadStackConfig("prod");
        const captured = capturedSettings(prod.settings);
        const settings: RuntimeSettings = {
            ...captured,
            routes: captured.routes.map((route) => ({ ...route, upstream: echo.url })),
            tables,
            region: "eu-west-1",
            logLevel: prod.settings.logLevel,
            jwtSecret: undefined,
            gatewayKeys: { value: generateKeyMaterial() },
        };
        const sink = (line: string) => void fs.writeSync(devNull, `${line}\n`);
        const tollgate = createHandler(settings, { dynamo: memoryDynamo({ sessionsTable: tables.sessions, userId: "bench-cpu-user" }), log: sink });
        const withFetch = createHandler(settings, { dynamo: memoryDynamo({ sessionsTable: tables.sessions, userId: "bench-cpu-user" }), log: sink, upstream: fetchUpstreamClient() });
        const floor = minimalGateway(plainMemoryDynamo({ sessionsTable: tables.sessions, userId: "bench-cpu-user" }), echo.url);

        const ip = (client: number) => `198.51.100.${client + 1}`;
        const token = Buffer.alloc(32, 7).toString("base64url");
        const anonymous = Array.from({ length: clients }, (_, client) => gatewayEvent({ path: "/products/42", sourceIp: ip(client) }));
        const session = Array.from({ length: clients }, (_, client) => gatewayEvent({ path: "/users/me", sourceIp: ip(client), headers: { authorization: `Bearer ${token}` } }));

        const targets = {
            anonymous: () => cpuPerRequest(tollgate, anonymous, options.requestsPerRound),
            session_cache10: () => cpuPerRequest(tollgate, session, options.requestsPerRound),
            baseline: () => cpuPerRequest(floor, anonymous, options.requestsPerRound),
            anonymous_fetch: () => cpuPerRequest(withFetch, anonymous, options.requestsPerRound),
        };
        // Warm every path (JIT, the agents' connections) before anything is measured, and check
        // that tollgate's requests were decided the way they should be (a store failing would fail open, also 200).
        const checked: string[] = [];
        const checking = createHandler(settings, { dynamo: memoryDynamo({ sessionsTable: tables.sessions, userId: "bench-cpu-user" }), log: (line) => void checked.push(line) });
        for (const event of [...anonymous, ...session]) await checking(event);
        const decisions = new Set(checked.map((line) => JSON.parse(line)).filter((entry) => !entry._aws).map((entry) => `${entry.route} ${entry.decision} ${entry.auth ?? ""}`.trim()));
        if ([...decisions].sort().join(", ") !== "products admitted, users admitted valid") throw new Error(`handler CPU run: requests decided as ${[...decisions].join(", ")}`);
        for (const run of Object.values(targets)) await run();
        const samples: Record<keyof typeof targets, number[]> = { anonymous: [], session_cache10: [], baseline: [], anonymous_fetch: [] };
        const order = Object.keys(targets) as (keyof typeof targets)[];
        for (let round = 0; round < options.rounds; round++) {
            // Each round in another order, so no target always follows the same one.
            const turn = round % 2 === 0 ? order : [...order].reverse();
            for (const name of turn) samples[name].push(await targets[name]());
        }
        const anonymousUs = median(samples.anonymous);
        const sessionUs = median(samples.session_cache10);
        const baselineUs = median(samples.baseline);
        const mixUs = (anonymousUs + sessionUs) / 2;
        // Each round's targets ran within a second or two of each other: their ratio cancels the machine's load, which a ratio of medians would not.
        const ratios = samples.baseline.map((baseline, i) => (samples.anonymous[i] + samples.session_cache10[i]) / 2 / baseline);
        const fetchUs = median(samples.anonymous_fetch);
        const proxyRatios = samples.anonymous.map((us, i) => us / samples.anonymous_fetch[i]);
        return {
            cpu_us_per_req: round(mixUs, 1),
            baseline_cpu_us_per_req: round(baselineUs, 1),
            cpu_ratio: round(median(ratios), 2),
            by_workload_cpu_us_per_req: { anonymous: round(anonymousUs, 1), session_cache10: round(sessionUs, 1) },
            proxy: { fetch_cpu_us_per_req: round(fetchUs, 1), node_http_cpu_us_per_req: round(anonymousUs, 1), change_pct: round((median(proxyRatios) - 1) * 100, 1) },
            rounds: options.rounds,
            requests_per_round: options.requestsPerRound,
            method: "process.cpuUsage() per sequential request, median of the rounds (the ratio: median of the rounds' ratios); DynamoDB answered in memory through the SDK, the echo upstream in another process; prod routes products and users (session cache 10 s)",
        };
    } finally {
        fs.closeSync(devNull);
        await echo.stop();
    }
}
