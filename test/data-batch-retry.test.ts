import { strict as assert } from "node:assert";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { BatchWriteError, TableClient } from "../data/client";
import { ensureTables } from "../data/createTables";
import type { TableSpec } from "../specs/tables";
import { startDynamo, testCredentials, type TestDynamo } from "./support/dynamo";
import { startDynamoProxy, type DynamoProxy, type ProxyRule } from "./support/dynamoProxy";

const eventsSpec: TableSpec = { name: "events", hashKey: { name: "event_id", type: "S" } };
const events = (count: number) => Array.from({ length: count }, (_, i) => ({ event_id: `e${String(i + 1).padStart(4, "0")}`, seq: i + 1 }));

describe("batch retries against a throttled endpoint", function () {
    let dynamo: TestDynamo;
    let proxy: DynamoProxy | undefined;
    let prefixCount = 0;
    let prefix: string;

    before(async () => {
        dynamo = await startDynamo("dynalite");
    });
    after(async () => {
        await dynamo?.close();
    });
    beforeEach(async () => {
        prefix = `retry${++prefixCount}`;
        await ensureTables(dynamo.client, prefix, [eventsSpec]);
    });
    afterEach(async () => {
        await proxy?.close();
        proxy = undefined;
    });

    async function clientThrough(rule: ProxyRule, options: { maxAttempts: number; sleeps?: number[] }) {
        proxy = await startDynamoProxy(dynamo.endpoint, rule);
        return new TableClient(eventsSpec, {
            prefix,
            endpoint: proxy.endpoint,
            region: "eu-west-1",
            credentials: testCredentials,
            maxAttempts: options.maxAttempts,
            baseDelayMs: 10,
            maxDelayMs: 40,
            random: () => 0.5,
            sleep: async (ms) => {
                options.sleeps?.push(ms);
            },
        });
    }

    async function storedIds(): Promise<string[]> {
        const { Items } = await dynamo.client.send(new ScanCommand({ TableName: `${prefix}-events`, ConsistentRead: true }));
        return (Items ?? []).map((item) => item.event_id.S!).sort();
    }

    it("resends what DynamoDB leaves unprocessed until every item is written, backing off further each time", async () => {
        // Given an endpoint that takes only 10 writes of each batch
        const sleeps: number[] = [];
        const client = await clientThrough(() => ({ kind: "partial", forward: 10 }), { maxAttempts: 5, sleeps });

        // When 100 items are batch-written
        const result = await client.batchWrite(events(100).map((put) => ({ put })));

        // Then all are stored, each chunk of 25 having needed three requests
        assert.equal(result.written, 100);
        assert.deepEqual(await storedIds(), events(100).map((event) => event.event_id));
        const writes = proxy!.log.filter((call) => call.operation === "BatchWriteItem");
        assert.equal(writes.length, 12);
        assert.deepEqual(writes.map((call) => call.requests).sort((a, b) => a - b), [5, 5, 5, 5, 15, 15, 15, 15, 25, 25, 25, 25]);
        // full jitter with random() = 0.5: half of min(40, 10 * 2^retry)
        assert.deepEqual([...new Set(sleeps)].sort((a, b) => a - b), [10, 20]);
        client.close();
    });

    it("says how many items were not written after the last attempt, and keeps the ones that were", async () => {
        // Given an endpoint that takes only 5 writes of each batch, and three attempts
        const client = await clientThrough(() => ({ kind: "partial", forward: 5 }), { maxAttempts: 3 });

        // When 25 items are batch-written
        const failure = await client.batchWrite(events(25).map((put) => ({ put }))).then(
            () => assert.fail("expected a BatchWriteError"),
            (error: unknown) => error,
        );

        // Then 15 are stored and the error names the other 10
        assert.ok(failure instanceof BatchWriteError);
        assert.equal(failure.message, `${prefix}-events: 10 of 25 items were not written after 3 attempts (DynamoDB kept returning them as unprocessed: the table is throttled or over capacity)`);
        assert.deepEqual(
            failure.notWritten.map((request) => ("put" in request ? request.put.event_id : undefined)),
            events(25).slice(15).map((event) => event.event_id),
        );
        assert.deepEqual(await storedIds(), events(15).map((event) => event.event_id));
        client.close();
    });

    it("rides out 400 ProvisionedThroughputExceededException answers", async () => {
        // Given an endpoint whose first three batch writes are refused as throttled
        const client = await clientThrough((call) => (call.operation === "BatchWriteItem" && call.count <= 3 ? { kind: "throttle" } : undefined), {
            maxAttempts: 3,
        });

        // When 50 items are batch-written one request at a time
        await client.batchWrite(events(50).map((put) => ({ put })), { concurrency: 1 });

        // Then all are stored after the throttled calls
        assert.equal(proxy!.log.filter((call) => call.action === "throttle").length, 3);
        assert.equal((await storedIds()).length, 50);
        client.close();
    });

    it("gives up on a table that stays throttled with the count of items not written", async () => {
        const client = await clientThrough((call) => (call.operation === "BatchWriteItem" ? { kind: "throttle" } : undefined), { maxAttempts: 2 });

        await assert.rejects(client.batchWrite(events(30).map((put) => ({ put })), { concurrency: 2 }), /: 30 of 30 items were not written after 2 attempts/);
        assert.deepEqual(await storedIds(), []);
        client.close();
    });

    it("resends unprocessed keys of a batch get", async () => {
        const client = await clientThrough((call) => (call.operation === "BatchGetItem" ? { kind: "partial", forward: 30 } : undefined), { maxAttempts: 5 });
        await client.batchWrite(events(150).map((put) => ({ put })));

        const items = await client.batchGet(events(150).map(({ event_id }) => ({ event_id })));

        assert.deepEqual(items.map((item) => item.event_id), events(150).map((event) => event.event_id));
        assert.ok(proxy!.log.filter((call) => call.operation === "BatchGetItem").length >= 5);
        client.close();
    });
});
