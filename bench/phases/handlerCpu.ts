/**
 * 7. The handler's own CPU per request: tollgate's handler with the prod
 * stack's routes, and beside it, in the same process and run, a minimal
 * gateway (one conditional UpdateItem, then the upstream's answer) as the
 * floor to compare with.
 *
 * DynamoDB and the upstream are answered in memory (support/memoryDynamo.ts,
 * `memoryUpstream` below), so the figures hold the handlers' own work and
 * their DynamoDB clients', and no store's or socket's: tollgate's own store
 * client (runtime/awsClient.ts), and the SDK's low-level client for the
 * floor, as a handler of a few lines would call DynamoDB. The floor also
 * runs on tollgate's store client (`baseline_store_client`), so the results
 * say how much of the difference is the client and how much the rest. CPU is `process.cpuUsage()` (user +
 * system, every thread of this process: GC and libuv included) over a round
 * of sequential requests. The targets take turns, round after round, and
 * each figure is the median of its rounds, so drift in the machine's load
 * falls on all of them alike.
 *
 * tollgate's log lines go to /dev/null through a real file descriptor, as
 * stdout costs a write per line in Lambda; the minimal gateway logs nothing.
 * Both tollgate workloads run as the prod stack has them, the identity
 * assertion on (and reused for a caller's repeated requests, as
 * `tollgate:identity.assertionReuseSeconds` does by default), and each has
 * its own ratio to the floor, round by round. The anonymous workload also
 * runs without the assertion (`tollgate:identity.assertion: false`) and with
 * one signed for every request (`assertionReuseSeconds: 0`), to show what
 * the assertion costs and what its reuse saves.
 *
 * The minimal gateway also runs a second time writing one log line per
 * request, through the same file descriptor as tollgate's: in this VM a
 * system call costs the requests after it far more than its own
 * microseconds (caches and TLB refilled), and the floor above makes none,
 * since DynamoDB and the upstream are answered in memory. That figure says
 * how much of tollgate's distance to the floor is its one log line.
 *
 * In Lambda no invocation runs without system calls: the runtime asks the
 * Runtime API for each event (`GET .../invocation/next`) and posts each
 * answer (`POST .../invocation/{id}/response`), over a socket. `in_runtime`
 * runs the floor and both workloads again with one write to a file
 * descriptor before each invocation and one after it (the event's request
 * and the answer's JSON), the fewest system calls the runtime can make, so
 * that the floor pays what every Lambda invocation pays and the log line
 * weighs what it weighs there.
 *
 * The proxy change: the transport is measured where it does its work,
 * against the echo upstream in a process of its own: the anonymous workload
 * through the same handler with Node's `fetch`, the transport tollgate had
 * before (bench/baseline/fetchUpstream.ts), and with its `node:http` client.
 */
import * as fs from "node:fs";
import { UpdateItemCommand, type DynamoDBClient, type UpdateItemInput } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { generateKeyMaterial } from "../../local/keys";
import { createHandler } from "../../runtime/handler";
import type { RuntimeSettings } from "../../runtime/settings";
import { capturedSettings } from "../../specs/lambda";
import { loadStackConfig } from "../../specs/stackFile";
import type { UpstreamClient } from "../../runtime/upstream/client";
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
    /** The same minimal gateway writing one log line per request as tollgate does (a write to a file descriptor), same run. */
    baseline_logging_cpu_us_per_req: number;
    /** The same minimal gateway making its UpdateItem through tollgate's own store client (runtime/awsClient.ts) instead of the SDK's, silent, same run. */
    baseline_store_client_cpu_us_per_req: number;
    /** tollgate's CPU over the minimal gateway's, round by round: the median of the rounds' ratios. */
    cpu_ratio: number;
    by_workload_cpu_us_per_req: { anonymous: number; session_cache10: number; anonymous_without_assertion: number; anonymous_signing_every_request: number };
    /** Each workload's CPU over the minimal gateway's, assertion on: the median of the rounds' ratios. */
    by_workload_ratio: { anonymous: number; session_cache10: number };
    /** Each workload's CPU over the logging minimal gateway's. */
    by_workload_ratio_to_logging_baseline: { anonymous: number; session_cache10: number };
    /** Each workload's CPU over the minimal gateway's on tollgate's own store client: tollgate's work beside the floor's, the client taken out. */
    by_workload_ratio_to_store_client_baseline: { anonymous: number; session_cache10: number };
    /** The floor and both workloads, each invocation between a write for the runtime's request of the event and one for its posting of the answer. */
    in_runtime: { baseline_cpu_us_per_req: number; by_workload_cpu_us_per_req: { anonymous: number; session_cache10: number }; by_workload_ratio: { anonymous: number; session_cache10: number } };
    /** What the identity assertion adds to an anonymous request, reused as deployed: the anonymous figures' difference, with and without it. */
    assertion_cpu_us_per_req: number;
    /** What it adds when signed for every request (`assertionReuseSeconds: 0`). */
    assertion_signed_every_request_cpu_us_per_req: number;
    /** The anonymous workload against the echo upstream in another process, through `fetch` (before) and `node:http` (after, as shipped). */
    proxy: { fetch_cpu_us_per_req: number; node_http_cpu_us_per_req: number; change_pct: number };
    rounds: number;
    requests_per_round: number;
    method: string;
}

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

const tables = { rateLimits: "bench-memory-rate-limits", sessions: "bench-memory-sessions" };
const clients = 10;

/** The upstream answered in memory: a small JSON answer, at once. */
function memoryUpstream(): UpstreamClient {
    const body = Buffer.from('{"ok":true}');
    return { send: async () => ({ kind: "answered", answer: { status: 200, headers: [["content-type", "application/json"]], body } }) };
}

/**
 * The floor: what any gateway of this design does per request, written the
 * cheapest way a handler of a few lines does: one conditional UpdateItem
 * (on the SDK's low-level client with cached middleware, `sdkUpdate`), then
 * the upstream's answer returned as it came.
 */
export function minimalGateway(updateItem: (input: UpdateItemInput) => Promise<unknown>, upstream: UpstreamClient): Handler {
    return async (event) => {
        const windowStart = String(Math.floor(Date.now() / 60_000) * 60);
        try {
            await updateItem({
                TableName: tables.rateLimits,
                Key: { limiter_key: { S: `ip:${event.requestContext.http.sourceIp}` }, window_start: { N: windowStart } },
                UpdateExpression: "ADD request_count :one",
                ConditionExpression: "attribute_not_exists(request_count) OR request_count < :limit",
                ExpressionAttributeValues: { ":one": { N: "1" }, ":limit": { N: "300" } },
            });
        } catch (error) {
            if ((error as Error).name === "ConditionalCheckFailedException") return { statusCode: 429 };
            throw error;
        }
        const answered = await upstream.send({ url: new URL(event.rawPath, "http://upstream.invalid"), method: event.requestContext.http.method, headers: {}, timeoutMs: 1000, maxBodyBytes: 1 << 20 });
        if (answered.kind !== "answered") return { statusCode: 502 };
        return { statusCode: answered.answer.status, headers: Object.fromEntries(answered.answer.headers), body: answered.answer.body.toString("utf8") };
    };
}

/** The floor's UpdateItem as a few-line handler makes it: the SDK's low-level client. */
const sdkUpdate = (dynamo: DynamoDBClient) => (input: UpdateItemInput) => dynamo.send(new UpdateItemCommand(input));

/** What the runtime writes to ask for the next event: a request line and its headers. */
const nextEventRequest = Buffer.from("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUser-Agent: aws-lambda-nodejs\r\n\r\n");

/** The handler as Lambda's runtime calls it: `runtimeFd` stands for the Runtime API's socket (a write before the invocation, and the answer's JSON after it). */
function inRuntime(handler: Handler, runtimeFd: number): Handler {
    return async (event) => {
        fs.writeSync(runtimeFd, nextEventRequest);
        const result = await handler(event);
        fs.writeSync(runtimeFd, JSON.stringify(result));
        return result;
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
    const runtimeApi = fs.openSync("/dev/null", "w");
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
        const dynamo = () => memoryDynamo({ sessionsTable: tables.sessions, userId: "bench-cpu-user" });
        const inMemory = memoryUpstream();
        const tollgate = createHandler(settings, { dynamo: dynamo(), log: sink, upstream: inMemory });
        const unsigned = createHandler({ ...settings, identity: { ...settings.identity, assertion: false } }, { dynamo: dynamo(), log: sink, upstream: inMemory });
        const signingEach = createHandler({ ...settings, identity: { ...settings.identity, assertionReuseSeconds: 0 } }, { dynamo: dynamo(), log: sink, upstream: inMemory });
        const floor = minimalGateway(sdkUpdate(plainMemoryDynamo({ sessionsTable: tables.sessions, userId: "bench-cpu-user" })), inMemory);
        const quietFloor = minimalGateway(sdkUpdate(plainMemoryDynamo({ sessionsTable: tables.sessions, userId: "bench-cpu-user" })), inMemory);
        const wireStore = memoryDynamo({ sessionsTable: tables.sessions, userId: "bench-cpu-user" });
        const wireFloor = minimalGateway((input) => wireStore.call("UpdateItem", input), inMemory);
        const loggingFloor: Handler = async (event) => {
            const started = Date.now();
            const result = await quietFloor(event);
            sink(JSON.stringify({ correlation_id: event.requestContext.requestId, method: event.requestContext.http.method, status: result.statusCode, latency_ms: Date.now() - started }));
            return result;
        };
        // (The routes' upstream is the echo process; the in-memory upstream answers whatever it is sent.)
        const overHttp = createHandler(settings, { dynamo: dynamo(), log: sink });
        const overFetch = createHandler(settings, { dynamo: dynamo(), log: sink, upstream: fetchUpstreamClient() });
        const floorInRuntime = inRuntime(floor, runtimeApi);
        const tollgateInRuntime = inRuntime(tollgate, runtimeApi);

        const ip = (client: number) => `198.51.100.${client + 1}`;
        const token = Buffer.alloc(32, 7).toString("base64url");
        const anonymous = Array.from({ length: clients }, (_, client) => gatewayEvent({ path: "/products/42", sourceIp: ip(client) }));
        const session = Array.from({ length: clients }, (_, client) => gatewayEvent({ path: "/users/me", sourceIp: ip(client), headers: { authorization: `Bearer ${token}` } }));

        const targets = {
            anonymous: () => cpuPerRequest(tollgate, anonymous, options.requestsPerRound),
            session_cache10: () => cpuPerRequest(tollgate, session, options.requestsPerRound),
            baseline: () => cpuPerRequest(floor, anonymous, options.requestsPerRound),
            baseline_logging: () => cpuPerRequest(loggingFloor, anonymous, options.requestsPerRound),
            baseline_store_client: () => cpuPerRequest(wireFloor, anonymous, options.requestsPerRound),
            anonymous_without_assertion: () => cpuPerRequest(unsigned, anonymous, options.requestsPerRound),
            anonymous_signing_every_request: () => cpuPerRequest(signingEach, anonymous, options.requestsPerRound),
            anonymous_node_http: () => cpuPerRequest(overHttp, anonymous, options.requestsPerRound),
            anonymous_fetch: () => cpuPerRequest(overFetch, anonymous, options.requestsPerRound),
            baseline_in_runtime: () => cpuPerRequest(floorInRuntime, anonymous, options.requestsPerRound),
            anonymous_in_runtime: () => cpuPerRequest(tollgateInRuntime, anonymous, options.requestsPerRound),
            session_in_runtime: () => cpuPerRequest(tollgateInRuntime, session, options.requestsPerRound),
        };
        // Warm every path (JIT, the agents' connections) before anything is measured, and check
        // that tollgate's requests were decided the way they should be (a store failing would fail open, also 200).
        const checked: string[] = [];
        const checking = createHandler(settings, { dynamo: dynamo(), log: (line) => void checked.push(line), upstream: inMemory });
        for (const event of [...anonymous, ...session]) await checking(event);
        const decisions = new Set(checked.map((line) => JSON.parse(line)).filter((entry) => !entry._aws).map((entry) => `${entry.route} ${entry.decision} ${entry.auth ?? ""}`.trim()));
        if ([...decisions].sort().join(", ") !== "products admitted, users admitted valid") throw new Error(`handler CPU run: requests decided as ${[...decisions].join(", ")}`);
        for (const run of Object.values(targets)) await run();
        const order = Object.keys(targets) as (keyof typeof targets)[];
        const samples = Object.fromEntries(order.map((name) => [name, [] as number[]])) as Record<keyof typeof targets, number[]>;
        for (let round = 0; round < options.rounds; round++) {
            // Each round in another order, so no target always follows the same one.
            const turn = round % 2 === 0 ? order : [...order].reverse();
            for (const name of turn) samples[name].push(await targets[name]());
        }
        const anonymousUs = median(samples.anonymous);
        const sessionUs = median(samples.session_cache10);
        const baselineUs = median(samples.baseline);
        const unsignedUs = median(samples.anonymous_without_assertion);
        const signingEachUs = median(samples.anonymous_signing_every_request);
        const mixUs = (anonymousUs + sessionUs) / 2;
        // Each round's targets ran within a second or two of each other: their ratio cancels the machine's load, which a ratio of medians would not.
        const ratios = samples.baseline.map((baseline, i) => (samples.anonymous[i] + samples.session_cache10[i]) / 2 / baseline);
        const proxyRatios = samples.anonymous_node_http.map((us, i) => us / samples.anonymous_fetch[i]);
        const assertionUs = samples.anonymous.map((us, i) => us - samples.anonymous_without_assertion[i]);
        const signingEachAssertionUs = samples.anonymous_signing_every_request.map((us, i) => us - samples.anonymous_without_assertion[i]);
        const ratioTo = (workload: number[], floor = samples.baseline) => round(median(workload.map((us, i) => us / floor[i])), 2);
        return {
            cpu_us_per_req: round(mixUs, 1),
            baseline_cpu_us_per_req: round(baselineUs, 1),
            baseline_logging_cpu_us_per_req: round(median(samples.baseline_logging), 1),
            baseline_store_client_cpu_us_per_req: round(median(samples.baseline_store_client), 1),
            cpu_ratio: round(median(ratios), 2),
            by_workload_cpu_us_per_req: {
                anonymous: round(anonymousUs, 1),
                session_cache10: round(sessionUs, 1),
                anonymous_without_assertion: round(unsignedUs, 1),
                anonymous_signing_every_request: round(signingEachUs, 1),
            },
            by_workload_ratio: { anonymous: ratioTo(samples.anonymous), session_cache10: ratioTo(samples.session_cache10) },
            by_workload_ratio_to_logging_baseline: { anonymous: ratioTo(samples.anonymous, samples.baseline_logging), session_cache10: ratioTo(samples.session_cache10, samples.baseline_logging) },
            by_workload_ratio_to_store_client_baseline: { anonymous: ratioTo(samples.anonymous, samples.baseline_store_client), session_cache10: ratioTo(samples.session_cache10, samples.baseline_store_client) },
            in_runtime: {
                baseline_cpu_us_per_req: round(median(samples.baseline_in_runtime), 1),
                by_workload_cpu_us_per_req: { anonymous: round(median(samples.anonymous_in_runtime), 1), session_cache10: round(median(samples.session_in_runtime), 1) },
                by_workload_ratio: { anonymous: ratioTo(samples.anonymous_in_runtime, samples.baseline_in_runtime), session_cache10: ratioTo(samples.session_in_runtime, samples.baseline_in_runtime) },
            },
            assertion_cpu_us_per_req: round(median(assertionUs), 1),
            assertion_signed_every_request_cpu_us_per_req: round(median(signingEachAssertionUs), 1),
            proxy: {
                fetch_cpu_us_per_req: round(median(samples.anonymous_fetch), 1),
                node_http_cpu_us_per_req: round(median(samples.anonymous_node_http), 1),
                change_pct: round((median(proxyRatios) - 1) * 100, 1),
            },
            rounds: options.rounds,
            requests_per_round: options.requestsPerRound,
            method: "process.cpuUsage() per sequential request, median of the rounds (the ratios: median of the rounds' ratios); DynamoDB answered in memory through the SDK and the upstream in memory; prod routes products and users (session cache 10 s), identity assertion on and reused as deployed; the proxy figures against the echo upstream in another process",
        };
    } finally {
        fs.closeSync(devNull);
        fs.closeSync(runtimeApi);
        await echo.stop();
    }
}
