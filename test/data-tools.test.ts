import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { NumberValue } from "@aws-sdk/lib-dynamodb";
import { TableClient } from "../data/client";
import { itemToLine } from "../data/itemFormat";
import type { Item } from "../data/keys";
import { loadStackConfig } from "../specs/stackFile";
import type { TableSpec } from "../specs/tables";
import { against, dataFixture, dataTestConfig, runData, temporaryDir } from "./support/dataCli";
import { dynamoKinds, startDynamo, testCredentials, type TestDynamo } from "./support/dynamo";

const stack = loadStackConfig("data-test", { file: dataTestConfig });
const spec = (name: string): TableSpec => stack.settings.appTables.find((table) => table.name === name)!;

/** A small deterministic PRNG (mulberry32), so every run generates the same items. */
function prng(seed: number): () => number {
    return () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** Items of every DynamoDB type, including what plain JSON cannot hold: sets, binary, numbers beyond 2^53. */
function generateItems(count: number): Item[] {
    const random = prng(6);
    return Array.from({ length: count }, (_, i) => {
        const item: Item = {
            pk: `customer-${String(i % 250).padStart(3, "0")}`,
            sk: i,
            name: `Item ${i} ${"ä€😀".slice(0, 1 + (i % 3))}`,
            price: NumberValue.from((random() * 1000).toFixed(2)),
            active: i % 3 === 0,
            tags: new Set([`t${i % 7}`, `t${(i + 1) % 7}`]),
        };
        // Every tenth item carries the rarer types; all of them would only slow the test down.
        if (i % 10 === 0) {
            item.nothing = null;
            item.scores = new Set([NumberValue.from(String(i)), NumberValue.from("12345678901234567890.123")]);
            item.address = { city: ["Lyon", "Oslo", "Quito"][i % 3], lines: [`${i} Main St`, i % 20 ? "Unit 4" : ""] };
            item.history = [{ at: 1_700_000_000 + i, event: "created" }, "note", 42, false];
            item.thumbnail = Buffer.from([i % 256, 1, 2, 3, 255]);
            item.blobs = new Set([Buffer.from("blob"), Buffer.from([i % 256, 7])]);
        }
        return item;
    });
}

for (const kind of dynamoKinds) {
    describe(`data commands on ${kind}`, function () {
        let dynamo: TestDynamo;
        const files = temporaryDir(kind);

        before(async () => {
            // In memory: DynamoDB Local on disk takes about 100 writes/s here, too slow for 10,000 items.
            dynamo = await startDynamo(kind, { inMemory: true });
        });
        after(async () => {
            await dynamo?.close();
            files.remove();
        });

        it("round-trips 10,000 items from one table to another through export, import and verify with zero differences, then finds a changed, a missing and an extra item", async function () {
            // Given a table holding 10,000 items of every type, loaded from a DynamoDB JSON lines file
            const source = files.file("items.jsonl");
            fs.writeFileSync(source, generateItems(10_000).map((item) => itemToLine(item, "dynamodb")).join(""));
            const seeded = await runData(["import", "--table", "items", "--file", source, "--create-table", "--json", ...against(dynamo.endpoint)]);
            assert.equal(seeded.code, 0, seeded.stderr);
            assert.equal(JSON.parse(seeded.stdout).written, 10_000);

            // When the table is exported and the export imported into a second stack's table
            const exportFile = files.file("export.jsonl");
            const exported = await runData(["export", "--table", "items", "--out", exportFile, "--segments", "4", "--json", ...against(dynamo.endpoint)]);
            assert.equal(exported.code, 0, exported.stderr);
            assert.equal(JSON.parse(exported.stdout).items, 10_000);
            assert.equal(fs.readFileSync(exportFile, "utf8").trimEnd().split("\n").length, 10_000);
            const copyStack = files.file("Pulumi.copy.yaml");
            fs.writeFileSync(copyStack, fs.readFileSync(dataTestConfig, "utf8").replace("tollgate:prefix: datatest", "tollgate:prefix: copy"));
            const toCopy = ["--config", copyStack, "--endpoint", dynamo.endpoint];
            const imported = await runData(["import", "--table", "items", "--file", exportFile, "--create-table", "--json", ...toCopy]);
            assert.equal(imported.code, 0, imported.stderr);
            assert.equal(JSON.parse(imported.stdout).written, 10_000);

            // Then the copy matches the export and the original file item by item, and so does the first table
            for (const [file, target] of [
                [exportFile, toCopy],
                [source, toCopy],
                [exportFile, against(dynamo.endpoint)],
            ] as const) {
                const verified = await runData(["verify", "--table", "items", "--file", file, ...target]);
                assert.equal(verified.code, 0, verified.stdout + verified.stderr);
                assert.match(verified.stdout, /matching: {2}10000\n/);
                assert.match(verified.stdout, /verified: the table holds exactly the 10000 items of the file/);
            }

            // When one item of the copy is changed, one deleted and one added
            const copy = new TableClient(spec("items"), { prefix: "copy", endpoint: dynamo.endpoint, region: "eu-west-1", credentials: testCredentials, exactNumbers: true });
            await copy.update({ pk: "customer-042", sk: 42 }, { set: { price: 0.5 } }, { ifExists: true });
            await copy.delete({ pk: "customer-007", sk: 5007 }, { ifExists: true });
            await copy.put({ pk: "customer-999", sk: 99_999, name: "not in the file" });
            copy.close();

            // Then verify names exactly those three, and exits 3
            const verified = await runData(["verify", "--table", "items", "--file", exportFile, "--json", ...toCopy]);
            assert.equal(verified.code, 3);
            const report = JSON.parse(verified.stdout);
            assert.equal(report.fileItems, 10_000);
            assert.equal(report.tableItems, 10_000);
            assert.equal(report.matching, 9_998);
            assert.deepEqual(report.different.map((entry: { key: unknown }) => entry.key), [{ pk: "customer-042", sk: 42 }]);
            assert.deepEqual(report.missing.map((entry: { key: unknown }) => entry.key), [{ pk: "customer-007", sk: 5007 }]);
            assert.deepEqual(report.extra, [{ key: { pk: "customer-999", sk: 99_999 } }]);
            assert.notEqual(report.fileDigest, report.tableDigest);
            const text = await runData(["verify", "--table", "items", "--file", source, ...toCopy]);
            assert.match(text.stdout, /missing {3}\{"pk":"customer-007","sk":5007\} \(line 5008\)/);
            assert.match(text.stdout, /different {1}\{"pk":"customer-042","sk":42\} \(line 43\)/);
            assert.match(text.stdout, /extra {5}\{"pk":"customer-999","sk":99999\}/);
            assert.match(text.stdout, /3 differences/);
        });

        it("migrates a forum's db.json into the users, threads and posts tables of the stack, as the mapping says", async () => {
            // Given the forum db.json and its mapping
            const args = ["migrate", "--from", dataFixture("forum-db.json"), "--mapping", dataFixture("forum-mapping.yaml"), "--create-table", ...against(dynamo.endpoint)];

            // When it is migrated, twice
            const first = await runData(args);
            const second = await runData(args);

            // Then each collection landed in its table once, renamed, coerced and without omitted attributes
            assert.equal(first.code, 0, first.stderr);
            assert.equal(second.code, 0, second.stderr);
            assert.match(first.stdout, /users -> datatest-users: 3 items\nthreads -> datatest-threads: 2 items\nposts -> datatest-posts: 5 items\n/);
            assert.match(first.stderr, /collection 'profile' is not in .*forum-mapping\.yaml; left out/);
            const options = { prefix: "datatest", endpoint: dynamo.endpoint, region: "eu-west-1", credentials: testCredentials };
            const users = new TableClient(spec("users"), options);
            const posts = new TableClient(spec("posts"), options);
            const threads = new TableClient(spec("threads"), options);
            try {
                assert.deepEqual(await users.get({ id: "1" }, { consistent: true }), {
                    id: "1",
                    name: "Ana",
                    email: "ana@example.com",
                    created_at: Date.parse("2024-01-02T03:04:05Z") / 1000,
                });
                const bo: Item[] = [];
                for await (const post of posts.query({ index: "UserPostsIndex", hashKey: "2" })) bo.push(post);
                assert.deepEqual(bo.map((post) => [post.thread_id, post.id]), [
                    [10, 2],
                    [11, 3],
                    [11, 5],
                ]);
                assert.deepEqual((await threads.get({ id: 10 }, { consistent: true }))?.tags, ["meta", "intro"]);
                let count = 0;
                for await (const page of posts.scanPages({ consistent: true })) count += page.length;
                assert.equal(count, 5);
            } finally {
                users.close();
                posts.close();
                threads.close();
            }
        });
    });
}
