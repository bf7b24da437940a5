/**
 * Load: 30 s of 64 concurrent connections through the local gateway (`npm
 * start` as a child process) over a mix of routes and rate-limit keys: an
 * anonymous route by ip, an anonymous route by route, a session route by user
 * and a session route by route, four users. The source IP is the socket's
 * (127.0.0.1), so keys vary by route and user.
 *
 * Then the rate-limits table of the gateway's store is read directly: for
 * every key, the counts stored over its windows equal the requests the
 * gateway admitted (from its own log lines, which name the key's hash and the
 * limiter's decision), and no window holds more than the limit.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import { startEchoProcess, startLocalGateway, type ChildService, type LocalGatewayProcess } from "../../bench/support/processes";
import { startLoad } from "../../bench/support/load";
import { createSessions } from "../../runtime/sessions";
import { loadStackConfig } from "../../specs/stackFile";
import { physicalTableName, rateLimitsTable, sessionsTable } from "../../specs/tables";
import { hashLimiterKey } from "../../runtime/steps/observe";
import { keysFileName } from "../../local/keys";
import type { KeyMaterial } from "../../runtime/auth/gatewayKeys";

const stackFile = path.join(__dirname, "stacks", "Pulumi.reliability.yaml");
const connections = 64;
const durationSeconds = 30;
const users = ["u1", "u2", "u3", "u4"];

interface KeyedRequest {
    route: string;
    limiterKey: string;
    path: string;
    headers: Record<string, string>;
}

describe("reliability: load through the local gateway", function () {
    this.timeout(180_000);
    const { settings } = loadStackConfig("reliability", { file: stackFile });
    const limitOf = (routeName: string) => settings.routes.find((route) => route.name === routeName)!.rateLimit!.limit;
    let echo: ChildService;
    let gateway: LocalGatewayProcess;
    let client: DynamoDBClient;
    let doc: DynamoDBDocumentClient;
    let dataDir: string | undefined;

    before(async () => {
        echo = await startEchoProcess();
        const upstreams = Object.fromEntries(settings.routes.map((route) => [route.name, echo.url]));
        // A data directory of its own, so the test can read the log key the gateway hashes limiter keys with.
        dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-load-"));
        gateway = await startLocalGateway({ configFile: stackFile, upstreams, dataDir });
        client = new DynamoDBClient({ endpoint: gateway.dynamoEndpoint, region: "eu-west-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
        doc = DynamoDBDocumentClient.from(client);
    });

    after(async () => {
        doc?.destroy();
        await gateway?.stop();
        await echo?.stop();
        if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("answers no 5xx, and stores exactly the admitted requests of every key, none over its limit", async () => {
        // given four users with sessions, and one request template per rate-limit key
        const sessions = createSessions({ dynamo: client, tableName: physicalTableName(settings.prefix, sessionsTable) });
        const tokens = new Map<string, string>();
        for (const user of users) tokens.set(user, (await sessions.create({ userId: user })).token);
        const keyed: KeyedRequest[] = [
            { route: "catalog", limiterKey: "ip:127.0.0.1:route:catalog", path: "/catalog/items?page=2", headers: {} },
            { route: "search", limiterKey: "ip:127.0.0.1:route:search", path: "/search/q?text=tea", headers: {} },
            ...users.map((user) => ({ route: "account", limiterKey: `user:${user}:route:account`, path: "/account/me", headers: { authorization: `Bearer ${tokens.get(user)}` } })),
            ...users.map((user) => ({ route: "orders", limiterKey: `user:${user}:route:orders`, path: "/orders/recent", headers: { cookie: `session=${tokens.get(user)}` } })),
        ];
        const seen = keyed.map(() => new Map<number, number>());

        // when 64 connections send them in turn for 30 s
        const instance = startLoad({
            url: gateway.url,
            connections,
            duration: durationSeconds,
            requests: keyed.map((request, index) => ({
                method: "GET",
                path: request.path,
                headers: request.headers,
                onResponse: (status: number) => void seen[index].set(status, (seen[index].get(status) ?? 0) + 1),
            })),
        });
        const result = await instance;
        // Requests in flight when autocannon stopped still finish on the gateway; let them land.
        await new Promise((resolve) => setTimeout(resolve, 1500));

        // then: no 5xx, only 200 and 429
        const statuses = new Map<number, number>();
        for (const counts of seen) for (const [status, count] of counts) statuses.set(status, (statuses.get(status) ?? 0) + count);
        const fiveXx = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, count]) => sum + count, 0);
        assert.equal(fiveXx, 0, `5xx answers: ${JSON.stringify([...statuses])}`);
        assert.deepEqual([...statuses.keys()].filter((status) => status !== 200 && status !== 429), [], `unexpected statuses: ${JSON.stringify([...statuses])}`);
        assert.ok(gateway.alive(), "the gateway process exited");

        // and the stored counts equal the admitted requests, key by key, none over the limit
        const { logKey: logKeyText } = JSON.parse(fs.readFileSync(path.join(dataDir!, keysFileName), "utf8")) as KeyMaterial;
        const logKey = Buffer.from(logKeyText, "utf8");
        const admittedByHash = new Map<string, number>();
        let logged = 0;
        for (const line of gateway.output().split("\n")) {
            if (!line.startsWith("{") || !line.includes('"correlation_id"')) continue;
            const entry = JSON.parse(line);
            logged++;
            if (entry.decision === "failed-open" || entry.decision === "failed-closed") assert.fail(`the limiter failed during the load: ${line}`);
            if (entry.decision === "admitted") admittedByHash.set(entry.limiter_key_hash, (admittedByHash.get(entry.limiter_key_hash) ?? 0) + 1);
        }
        const stored = new Map<string, number>();
        const overLimit: string[] = [];
        const limitByKey = new Map(keyed.map((request) => [request.limiterKey, limitOf(request.route)]));
        for await (const page of paginateScan({ client: doc }, { TableName: physicalTableName(settings.prefix, rateLimitsTable), ConsistentRead: true })) {
            for (const item of page.Items ?? []) {
                stored.set(item.limiter_key, (stored.get(item.limiter_key) ?? 0) + Number(item.request_count));
                if (Number(item.request_count) > (limitByKey.get(item.limiter_key) ?? Infinity)) overLimit.push(`${item.limiter_key}@${item.window_start}=${item.request_count}`);
            }
        }
        assert.deepEqual([...stored.keys()].sort(), [...limitByKey.keys()].sort(), "the table holds exactly the keys the load used");
        let lost = 0;
        const rows: string[] = [];
        keyed.forEach((request, index) => {
            const admitted = admittedByHash.get(hashLimiterKey(request.limiterKey, logKey)) ?? 0;
            const clientSaw = seen[index].get(200) ?? 0;
            lost += Math.abs((stored.get(request.limiterKey) ?? 0) - admitted);
            rows.push(`${request.limiterKey}: admitted ${admitted}, stored ${stored.get(request.limiterKey)}, client saw ${clientSaw} x 200`);
            // Every 200 the client saw was admitted (a few admitted ones may have been cut off by the generator's stop).
            assert.ok(clientSaw <= admitted && admitted - clientSaw <= connections, rows[rows.length - 1]);
        });
        assert.equal(lost, 0, rows.join("\n"));
        assert.deepEqual(overLimit, [], "windows over their limit");
        const admittedTotal = [...admittedByHash.values()].reduce((sum, n) => sum + n, 0);
        console.log(
            `      load: ${result.requests.total} requests (${logged} logged by the gateway), ${connections} connections, ${durationSeconds} s, ${keyed.length} keys, ` +
                `${statuses.get(200) ?? 0} x 200 / ${statuses.get(429) ?? 0} x 429, 5xx = ${fiveXx}, admitted ${admittedTotal}, lost = ${lost}, over limit = ${overLimit.length}`,
        );
    });
});
