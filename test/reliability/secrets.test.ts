/**
 * Secrets at rest: sessions created with the library and with `npm run
 * sessions`, used through the local gateway (`npm start`), then every table
 * of its store read directly (Scan) and its log output searched: no raw
 * token is stored or written anywhere, in any spelling of its bytes; each
 * session item holds the SHA-256 of its token.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { promisify } from "node:util";
import { DynamoDBClient, ListTablesCommand, paginateScan } from "@aws-sdk/client-dynamodb";
import { startEchoProcess, startLocalGateway, type ChildService, type LocalGatewayProcess } from "../../bench/support/processes";
import { createSessions } from "../../runtime/sessions";
import { loadStackConfig, projectDir } from "../../specs/stackFile";
import { physicalTableName, sessionsTable } from "../../specs/tables";

const stackFile = path.join(__dirname, "stacks", "Pulumi.reliability.yaml");

/** The spellings a token's bytes could be stored under. */
function spellings(token: string): string[] {
    const bytes = Buffer.from(token, "base64url");
    return [token, bytes.toString("hex"), bytes.toString("hex").toUpperCase(), bytes.toString("base64"), bytes.toString("base64").replace(/=+$/, ""), Buffer.from(token).toString("base64"), Buffer.from(token).toString("hex")];
}

describe("reliability: secrets at rest", function () {
    this.timeout(120_000);
    const { settings } = loadStackConfig("reliability", { file: stackFile });
    let echo: ChildService;
    let gateway: LocalGatewayProcess;
    let client: DynamoDBClient;

    before(async () => {
        echo = await startEchoProcess();
        gateway = await startLocalGateway({ configFile: stackFile, upstreams: Object.fromEntries(settings.routes.map((route) => [route.name, echo.url])) });
        client = new DynamoDBClient({ endpoint: gateway.dynamoEndpoint, region: "eu-west-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    });
    after(async () => {
        client?.destroy();
        await gateway?.stop();
        await echo?.stop();
    });

    it("stores no raw token in any item of any table, nor in the gateway's log lines", async () => {
        // given 40 sessions made with the library and 5 with `npm run sessions`
        const sessions = createSessions({ dynamo: client, tableName: physicalTableName(settings.prefix, sessionsTable) });
        const tokens: string[] = [];
        for (let i = 0; i < 40; i++) tokens.push((await sessions.create({ userId: `secret-user-${i % 8}`, username: `user ${i}`, roles: ["r"], permissions: ["p"] })).token);
        const port = new URL(gateway.dynamoEndpoint).port;
        for (let i = 0; i < 5; i++) {
            const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "cli/sessions.ts", "create", "--local", "--config", stackFile, "--user", `cli-user-${i}`], {
                cwd: projectDir,
                env: { ...process.env, DYNAMODB_PORT: port, TS_NODE_TRANSPILE_ONLY: "true" },
            });
            tokens.push(stdout.trim());
        }
        assert.ok(tokens.every((token) => /^[A-Za-z0-9_-]{43}$/.test(token)), "every create printed a token");

        // when each is used through the gateway, by header and by cookie
        for (const [i, token] of tokens.entries()) {
            const response = await fetch(`${gateway.url}/account/me`, { headers: i % 2 ? { authorization: `Bearer ${token}` } : { cookie: `session=${token}` } });
            assert.equal(response.status, 200, `token ${i} was not accepted`);
            await response.arrayBuffer();
        }

        // then no table holds a token, and each session item is keyed by its token's SHA-256
        const { TableNames = [] } = await client.send(new ListTablesCommand({}));
        let items = 0;
        const found: string[] = [];
        const sessionIds = new Set<string>();
        for (const tableName of TableNames) {
            for await (const page of paginateScan({ client }, { TableName: tableName, ConsistentRead: true })) {
                for (const item of page.Items ?? []) {
                    items++;
                    const text = JSON.stringify(item);
                    if (tableName === physicalTableName(settings.prefix, sessionsTable)) sessionIds.add(item.session_id.S!);
                    for (const token of tokens) if (spellings(token).some((spelling) => text.includes(spelling))) found.push(`${tableName}: ${text.slice(0, 120)}`);
                }
            }
        }
        assert.deepEqual(found, [], "items holding a token");
        for (const token of tokens) assert.ok(sessionIds.has(createHash("sha256").update(token).digest("hex")), "a session keyed by its token's SHA-256");
        // and the gateway's output (banner, log lines, EMF) names none either
        const output = gateway.output();
        const inLogs = tokens.filter((token) => spellings(token).some((spelling) => output.includes(spelling)));
        assert.deepEqual(inLogs, [], "tokens in the gateway's output");
        console.log(`      secrets: ${tokens.length} sessions (40 library, 5 CLI) used through npm start, ${TableNames.length} tables and ${items} items scanned, ${output.split("\n").length} log lines read; raw tokens found = ${found.length + inLogs.length}`);
    });
});
