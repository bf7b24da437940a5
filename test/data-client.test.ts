import { strict as assert } from "node:assert";
import { GetItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { NumberValue } from "@aws-sdk/lib-dynamodb";
import { BatchWriteError, ConditionFailedError, TableClient, TransactionFailedError } from "../data/client";
import { ItemKeyError, canonicalNumber } from "../data/keys";
import { ensureTables } from "../data/createTables";
import type { TableSpec } from "../specs/tables";
import { dynamoKinds, startDynamo, testCredentials, type TestDynamo } from "./support/dynamo";

const postsSpec: TableSpec = {
    name: "posts",
    hashKey: { name: "thread_id", type: "S" },
    rangeKey: { name: "post_id", type: "N" },
    globalSecondaryIndexes: [{ name: "AuthorIndex", hashKey: { name: "author", type: "S" }, rangeKey: { name: "created_at", type: "N" } }],
};

interface Post extends Record<string, unknown> {
    thread_id: string;
    post_id: number;
    author?: string;
    created_at?: number;
    body?: string;
    likes?: number;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const item of items) out.push(item);
    return out;
}

for (const kind of dynamoKinds) {
    describe(`table client on ${kind}`, function () {
        let dynamo: TestDynamo;
        let posts: TableClient<Post>;
        let prefixCount = 0;

        before(async function () {
            dynamo = await startDynamo(kind);
        });
        after(async () => {
            await dynamo?.close();
        });
        beforeEach(async () => {
            const prefix = `client${++prefixCount}`;
            await ensureTables(dynamo.client, prefix, [postsSpec]);
            posts = new TableClient<Post>(postsSpec, {
                prefix,
                endpoint: dynamo.endpoint,
                region: "eu-west-1",
                credentials: testCredentials,
                maxAttempts: 3,
            });
        });
        afterEach(() => posts.close());

        it("writes to {prefix}-{name} and reads the item back", async () => {
            await posts.put({ thread_id: "t1", post_id: 1, author: "ana", created_at: 100, body: "hello" });

            const raw = await dynamo.client.send(new GetItemCommand({ TableName: posts.tableName, Key: { thread_id: { S: "t1" }, post_id: { N: "1" } } }));
            assert.equal(posts.tableName, `client${prefixCount}-posts`);
            assert.equal(raw.Item?.body?.S, "hello");
            assert.deepEqual(await posts.get({ thread_id: "t1", post_id: 1 }, { consistent: true }), {
                thread_id: "t1",
                post_id: 1,
                author: "ana",
                created_at: 100,
                body: "hello",
            });
            assert.equal(await posts.get({ thread_id: "t1", post_id: 2 }), undefined);
        });

        it("refuses a put with ifNotExists when the key is taken, keeping the first item", async () => {
            await posts.put({ thread_id: "t1", post_id: 1, body: "first" }, { ifNotExists: true });

            await assert.rejects(posts.put({ thread_id: "t1", post_id: 1, body: "second" }, { ifNotExists: true }), ConditionFailedError);
            assert.equal((await posts.get({ thread_id: "t1", post_id: 1 }, { consistent: true }))?.body, "first");
        });

        it("updates only existing items with ifExists and returns the item afterwards", async () => {
            await assert.rejects(posts.update({ thread_id: "t1", post_id: 9 }, { add: { likes: 1 } }, { ifExists: true }), ConditionFailedError);
            assert.equal(await posts.get({ thread_id: "t1", post_id: 9 }, { consistent: true }), undefined);

            await posts.put({ thread_id: "t1", post_id: 9, body: "x" });
            await posts.update({ thread_id: "t1", post_id: 9 }, { add: { likes: 1 } }, { ifExists: true });
            const after = await posts.update({ thread_id: "t1", post_id: 9 }, { add: { likes: 2 }, set: { body: "edited" } }, { ifExists: true });
            assert.deepEqual(after, { thread_id: "t1", post_id: 9, body: "edited", likes: 3 });
        });

        it("refuses to change a key attribute in an update, naming it", async () => {
            assert.throws(() => posts.txUpdate({ thread_id: "t1", post_id: 1 }, { set: { post_id: 2 } }), /'post_id' is a key attribute/);
        });

        it("deletes and returns the old item; ifExists refuses a missing one", async () => {
            await posts.put({ thread_id: "t1", post_id: 1, body: "bye" });

            assert.equal((await posts.delete({ thread_id: "t1", post_id: 1 }))?.body, "bye");
            assert.equal(await posts.get({ thread_id: "t1", post_id: 1 }, { consistent: true }), undefined);
            await assert.rejects(posts.delete({ thread_id: "t1", post_id: 1 }, { ifExists: true }), ConditionFailedError);
        });

        it("names the missing or mistyped key attribute before calling DynamoDB", async () => {
            await assert.rejects(posts.put({ thread_id: "t1" } as Post), (error: ItemKeyError) => {
                assert.ok(error instanceof ItemKeyError);
                assert.equal(error.attribute, "post_id");
                assert.match(error.message, /item has no key attribute 'post_id' \(range key, N\)/);
                return true;
            });
            await assert.rejects(posts.put({ thread_id: "t1", post_id: "1" as unknown as number }), /'post_id' \(range key\) must be a number \(N\), got a string/);
            await assert.rejects(posts.put({ thread_id: "t1", post_id: 1, created_at: "yesterday" as unknown as number }), /'created_at' \(range key of AuthorIndex\) must be a number/);
            await assert.rejects(posts.get({ post_id: 1 }), /no key attribute 'thread_id'/);
            const { Count } = await dynamo.client.send(new ScanCommand({ TableName: posts.tableName }));
            assert.equal(Count, 0);
        });

        it("queries a hash key across pages, in range order, with range conditions", async () => {
            await posts.batchWrite(Array.from({ length: 25 }, (_, i) => ({ put: { thread_id: "t1", post_id: i + 1, body: `p${i + 1}` } })));
            await posts.put({ thread_id: "t2", post_id: 1 });

            const all = await collect(posts.query({ hashKey: "t1", pageSize: 4, consistent: true }));
            assert.deepEqual(all.map((post) => post.post_id), Array.from({ length: 25 }, (_, i) => i + 1));
            const later = await collect(posts.query({ hashKey: "t1", rangeKey: { gt: 20 }, descending: true }));
            assert.deepEqual(later.map((post) => post.post_id), [25, 24, 23, 22, 21]);
            const between = await collect(posts.query({ hashKey: "t1", rangeKey: { between: [3, 5] }, pageSize: 1 }));
            assert.deepEqual(between.map((post) => post.post_id), [3, 4, 5]);
            const firstThree = await collect(posts.query({ hashKey: "t1", pageSize: 2, limit: 3 }));
            assert.deepEqual(firstThree.map((post) => post.post_id), [1, 2, 3]);
        });

        it("queries a named index and refuses consistent reads on it", async () => {
            await posts.batchWrite([
                { put: { thread_id: "t1", post_id: 1, author: "ana", created_at: 30 } },
                { put: { thread_id: "t2", post_id: 1, author: "ana", created_at: 10 } },
                { put: { thread_id: "t3", post_id: 1, author: "bo", created_at: 20 } },
                { put: { thread_id: "t4", post_id: 1 } },
            ]);

            const byAna = await collect(posts.query({ index: "AuthorIndex", hashKey: "ana" }));
            assert.deepEqual(byAna.map((post) => post.thread_id), ["t2", "t1"]);
            await assert.rejects(collect(posts.query({ index: "AuthorIndex", hashKey: "ana", consistent: true })), /do not support consistent reads/);
            await assert.rejects(collect(posts.query({ index: "ByTitle", hashKey: "x" })), /no index 'ByTitle' \(indexes: AuthorIndex\)/);
            await assert.rejects(collect(posts.query({ index: "AuthorIndex", hashKey: 5 })), /key attribute 'author' \(hash key of AuthorIndex\) must be a non-empty string \(S\), got a number/);
        });

        it("batch-writes and batch-gets more than one request's worth, later duplicates winning", async () => {
            const written = Array.from({ length: 130 }, (_, i) => ({ put: { thread_id: `t${i % 7}`, post_id: i, body: "v1" } }));
            const result = await posts.batchWrite([...written, { put: { thread_id: "t0", post_id: 0, body: "v2" } }]);

            assert.equal(result.written, 130);
            const keys = [{ thread_id: "none", post_id: 1 }, ...written.map(({ put }) => ({ thread_id: put.thread_id, post_id: put.post_id }))];
            const items = await posts.batchGet(keys, { consistent: true });
            assert.equal(items.length, 130);
            assert.deepEqual(items.slice(0, 2).map((post) => [post.post_id, post.body]), [
                [0, "v2"],
                [1, "v1"],
            ]);
            await posts.batchWrite(keys.slice(1, 61).map((key) => ({ delete: key })));
            assert.equal((await posts.batchGet(keys, { consistent: true })).length, 70);
        });

        it("checks every item of a batch before writing any", async () => {
            await assert.rejects(posts.batchWrite([{ put: { thread_id: "a", post_id: 1 } }, { put: { post_id: 2 } as Post }]), /no key attribute 'thread_id'/);
            const { Count } = await dynamo.client.send(new ScanCommand({ TableName: posts.tableName }));
            assert.equal(Count, 0);
        });

        it("keeps numbers exact with exactNumbers", async () => {
            const exact = new TableClient(postsSpec, {
                tableName: posts.tableName,
                documentClient: posts.documentClient,
            });
            const exactReader = new TableClient(postsSpec, {
                tableName: posts.tableName,
                endpoint: dynamo.endpoint,
                region: "eu-west-1",
                credentials: testCredentials,
                exactNumbers: true,
            });
            await exact.put({ thread_id: "big", post_id: 1, likes: NumberValue.from("12345678901234567890.5") });

            const item = await exactReader.get({ thread_id: "big", post_id: 1 }, { consistent: true });
            assert.ok(item?.likes instanceof NumberValue);
            assert.equal(item.likes.toString(), "12345678901234567890.5");
            exactReader.close();
        });

        it("reports a write DynamoDB refuses as not written, with its cause", async () => {
            const tooBig = "x".repeat(410 * 1024);
            await assert.rejects(posts.batchWrite([{ put: { thread_id: "a", post_id: 1, body: tooBig } }]), (error: BatchWriteError) => {
                assert.ok(error instanceof BatchWriteError);
                assert.equal(error.notWritten.length, 1);
                assert.match(error.message, /1 of 1 items were not written \(ValidationException/);
                return true;
            });
        });

        if (kind === "dynamodb-local") {
            it("writes a transaction's operations all together or not at all", async () => {
                await posts.put({ thread_id: "t1", post_id: 1, likes: 0 });

                await posts.transactWrite([
                    posts.txPut({ thread_id: "t1", post_id: 2, body: "reply" }, { ifNotExists: true }),
                    posts.txUpdate({ thread_id: "t1", post_id: 1 }, { add: { likes: 1 } }, { ifExists: true }),
                ]);
                assert.equal((await posts.get({ thread_id: "t1", post_id: 1 }, { consistent: true }))?.likes, 1);

                await assert.rejects(
                    posts.transactWrite([
                        posts.txPut({ thread_id: "t1", post_id: 3, body: "another" }),
                        posts.txPut({ thread_id: "t1", post_id: 2, body: "duplicate" }, { ifNotExists: true }),
                    ]),
                    (error: TransactionFailedError) => {
                        assert.ok(error instanceof TransactionFailedError);
                        assert.equal(error.reasons[0], undefined);
                        assert.equal(error.reasons[1]?.code, "ConditionalCheckFailed");
                        assert.match(error.message, /#2 put client\d+-posts \{"thread_id":"t1","post_id":2\}: ConditionalCheckFailed/);
                        return true;
                    },
                );
                assert.equal(await posts.get({ thread_id: "t1", post_id: 3 }, { consistent: true }), undefined);
            });
        }
    });
}

describe("canonical numbers", () => {
    it("writes equal DynamoDB numbers as one string", () => {
        assert.equal(canonicalNumber("1.50"), "1.5");
        assert.equal(canonicalNumber("15E-1"), "1.5");
        assert.equal(canonicalNumber("-0.000"), "0");
        assert.equal(canonicalNumber("007"), "7");
        assert.equal(canonicalNumber("1e3"), "1000");
        assert.equal(canonicalNumber("-0.0012"), "-0.0012");
        assert.equal(canonicalNumber("12345678901234567890.5000"), "12345678901234567890.5");
    });
});
