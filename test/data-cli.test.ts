import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { createProgress } from "../data/progress";
import { projectDir } from "../specs/stackFile";
import { against, dataFixture, runData, temporaryDir, writeLines } from "./support/dataCli";
import { startDynamo, type TestDynamo } from "./support/dynamo";
import { startDynamoProxy, type DynamoProxy } from "./support/dynamoProxy";
import { nodeVersionLines, withoutSdkWarningSwitch } from "./support/nodeNotice";

const event = (n: number, extra: Record<string, unknown> = {}) => JSON.stringify({ event_id: `e${String(n).padStart(5, "0")}`, n, ...extra });
/** `npm run --silent data -- ARGS` in a child process, as a user runs it; `env` over this process's environment, with no AWS access key (the local store's default credentials). */
function npmRunData(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile("npm", ["run", "--silent", "data", "--", ...args], { cwd: projectDir, env: { ...process.env, AWS_ACCESS_KEY_ID: undefined, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
            resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
    });
}

const events = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => event(from + i));

describe("data commands: usage errors", () => {
    const cases: [string, string[], RegExp][] = [
        ["an unknown flag", ["import", "--tabel", "events", "--file", "x"], /^data import: --tabel: not a flag of 'data import'; did you mean --table\?$/m],
        ["an unknown flag like none", ["export", "--zzzzzz", "--table", "users"], /^data export: --zzzzzz: not a flag of 'data export' \(flags: --table, --out, .*--help\)$/m],
        ["a missing --table", ["export", "--config", dataFixture("Pulumi.data-test.yaml")], /^data export: --table: required/],
        ["a bad --on-error", ["verify", "--table", "events", "--file", dataFixture("forum-db.json"), "--on-error", "ignore"], /^data verify: --on-error: must be skip, stop; got 'ignore'/],
        ["a missing file", ["import", "--table", "events", "--file", "nope.jsonl"], /^data import: --file: no such file .*nope\.jsonl/],
        ["a table the stack lacks", ["export", "--table", "comments", "--config", dataFixture("Pulumi.data-test.yaml")], /^data export: --table: stack data-test has no table 'comments' \(tables: rate-limits, sessions, users, threads, posts, items, events\)/],
        ["--local with --endpoint", ["export", "--table", "users", "--local", "--endpoint", "http://127.0.0.1:1"], /^data export: --endpoint: cannot be combined with --local/],
        ["a flag without its value", ["export", "--table"], /^data export: --table: needs a value/],
        ["a bad number", ["import", "--table", "events", "--file", dataFixture("forum-db.json"), "--concurrency", "lots"], /^data import: --concurrency: must be a whole number from 1 to 64, got 'lots'/],
        ["an unknown command", ["copy", "--table", "users"], /^data: unknown command 'copy' \(commands: seed, import, export, verify, migrate\)/],
        ["no command", [], /^data: a command is required \(one of: seed, import, export, verify, migrate\)/],
        ["--create-table against AWS", ["seed", "--table", "events", "--file", dataFixture("forum-db.json"), "--config", dataFixture("Pulumi.data-test.yaml"), "--create-table"], /^data seed: --create-table: only with --local or --endpoint/],
    ];
    for (const [what, args, message] of cases) {
        it(`exits 2 naming the flag for ${what}`, async () => {
            const run = await runData(args);
            assert.equal(run.code, 2, run.stderr);
            assert.match(run.stderr, message);
        });
    }

    it("names the mapping key of a table the stack lacks and of an unknown coercion", async () => {
        const files = temporaryDir("mapping");
        try {
            fs.writeFileSync(files.file("bad.yaml"), "users: { table: members, coerce: { id: text } }\nposts: comments\n");
            const run = await runData(["migrate", "--from", dataFixture("forum-db.json"), "--mapping", files.file("bad.yaml"), ...against("http://127.0.0.1:1")]);
            assert.equal(run.code, 1);
            assert.match(run.stderr, /bad\.yaml: users\.coerce\.id: Invalid option: expected one of "string"\|"number"\|"boolean"\|"epochSeconds"/);
            fs.writeFileSync(files.file("bad.yaml"), "users: { table: members }\n");
            const unknownTable = await runData(["migrate", "--from", dataFixture("forum-db.json"), "--mapping", files.file("bad.yaml"), ...against("http://127.0.0.1:1")]);
            assert.match(unknownTable.stderr, /bad\.yaml: users\.table: stack data-test has no table 'members'/);
        } finally {
            files.remove();
        }
    });
});

describe("data commands: bad input, interruption and throttling (dynalite)", function () {
    let dynamo: TestDynamo;
    let proxy: DynamoProxy | undefined;
    const files = temporaryDir("cli");
    let tableCount = 0;

    before(async () => {
        dynamo = await startDynamo("dynalite", { inMemory: true });
    });
    after(async () => {
        await dynamo?.close();
        files.remove();
    });
    afterEach(async () => {
        await proxy?.close();
        proxy = undefined;
    });

    /** A fresh `events` table: each test gets its own stack prefix through a copy of the test stack. */
    function freshStack(): { config: string; table: string } {
        const prefix = `cli${++tableCount}`;
        const config = files.file(`Pulumi.cli${tableCount}.yaml`);
        fs.writeFileSync(config, fs.readFileSync(dataFixture("Pulumi.data-test.yaml"), "utf8").replace("tollgate:prefix: datatest", `tollgate:prefix: ${prefix}`));
        return { config, table: `${prefix}-events` };
    }

    async function storedIds(table: string): Promise<string[]> {
        const ids: string[] = [];
        let start: Record<string, any> | undefined;
        do {
            const page = await dynamo.client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
            ids.push(...(page.Items ?? []).map((item) => item.event_id.S!));
            start = page.LastEvaluatedKey;
        } while (start);
        return ids.sort();
    }

    const where = (config: string, endpoint = dynamo.endpoint) => ["--config", config, "--endpoint", endpoint, "--create-table"];
    /** `data import` of a file, one write at a time, as a child process whose signals a test sends. */
    const importOneByOne = (file: string, config: string, endpoint: string) => {
        const env = { ...process.env };
        delete env.AWS_ACCESS_KEY_ID;
        return spawn(
            process.execPath,
            ["--import", "tsx", path.join("cli", "data.ts"), "import", "--table", "events", "--file", file, "--concurrency", "1", "--progress", "none", ...where(config, endpoint)],
            { cwd: projectDir, env, stdio: ["ignore", "pipe", "pipe"] },
        );
    };

    it("reaches the npm start store with --local, on DYNAMODB_PORT", async () => {
        const { config, table } = freshStack();
        const file = files.file("local.jsonl");
        writeLines(file, events(1, 3));

        const run = await runData(["seed", "--table", "events", "--file", file, "--config", config, "--local", "--create-table"], { env: { DYNAMODB_PORT: String(dynamo.port) } });

        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(await storedIds(table), ["e00001", "e00002", "e00003"]);
    });

    it("says nothing of the AWS SDK's Node.js version as npm run data, even started without the SDK's switch for it", async () => {
        // given the SDK's own switch unset in the command's environment, whatever this process has
        const { config, table } = freshStack();
        const file = files.file("notice.jsonl");
        writeLines(file, events(1, 2));
        // when npm runs the command, which loads the SDK and writes through it
        const ran = await npmRunData(["seed", "--table", "events", "--file", file, ...where(config)], withoutSdkWarningSwitch);
        // then neither the SDK's nine-line warning nor a notice of its own is printed
        assert.equal(ran.code, 0, ran.stderr);
        assert.deepEqual(await storedIds(table), ["e00001", "e00002"]);
        assert.deepEqual(nodeVersionLines(ran.stdout + ran.stderr), []);
    });

    it("skips bad lines with --on-error skip, reporting each by line number, and loads the rest", async () => {
        // Given a file with a malformed line, an item without its key, an item over 400 KB, a list and a blank line
        const { config, table } = freshStack();
        const file = files.file("mixed.jsonl");
        writeLines(file, [event(1), "{not json", event(3), JSON.stringify({ n: 4 }), "", event(6, { body: "x".repeat(401 * 1024) }), "[1, 2]", event(8)]);

        // When it is imported skipping bad input
        const run = await runData(["import", "--table", "events", "--file", file, "--on-error", "skip", ...where(config)]);

        // Then the good items are in, and each bad line is named
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /line 2: malformed JSON/);
        assert.match(run.stderr, /line 4: cli\d+-events: item has no key attribute 'event_id' \(hash key, S\)/);
        assert.match(run.stderr, /line 6: item is 402 KB; DynamoDB takes at most 400 KB/);
        assert.match(run.stderr, /line 7: an item must be a JSON object, got a list/);
        assert.match(run.stdout, /imported 3 items into cli\d+-events .*; 4 bad lines skipped/);
        assert.deepEqual(await storedIds(table), ["e00001", "e00003", "e00008"]);
        assert.equal(fs.existsSync(`${file}.checkpoint.json`), false);
    });

    it("stops at the first bad line with --on-error stop, keeping every line before it, and continues from there with --from-line", async () => {
        // Given 100 items with a malformed line 77
        const { config, table } = freshStack();
        const file = files.file("stop.jsonl");
        const lines = events(1, 100);
        lines[76] = '{"event_id": "e00077", "n": }';
        writeLines(file, lines);

        // When it is imported (stop is the default)
        const stopped = await runData(["import", "--table", "events", "--file", file, ...where(config)]);

        // Then it exits 1 naming line 77, with lines 1-76 written and nothing after
        assert.equal(stopped.code, 1);
        assert.match(stopped.stderr, /line 77: malformed JSON/);
        assert.match(stopped.stderr, /import stopped at line 77 \(--on-error stop\): every line from 1 to 76 is written or skipped .*Fix the line and re-run with --from-line 77/);
        assert.deepEqual(await storedIds(table), events(1, 76).map((line) => JSON.parse(line).event_id));
        assert.equal(JSON.parse(fs.readFileSync(`${file}.checkpoint.json`, "utf8")).lastCommittedLine, 76);

        // When the line is fixed and the import continued from it
        lines[76] = event(77);
        writeLines(file, lines);
        const continued = await runData(["import", "--table", "events", "--file", file, "--from-line", "77", "--json", ...where(config)]);

        // Then the table holds the whole file
        assert.equal(continued.code, 0, continued.stderr);
        assert.equal(JSON.parse(continued.stdout).written, 24);
        const verified = await runData(["verify", "--table", "events", "--file", file, "--config", config, "--endpoint", dynamo.endpoint]);
        assert.equal(verified.code, 0, verified.stdout);
    });

    it("reports a bad element of a JSON array seed file by the line it starts on", async () => {
        const { config, table } = freshStack();
        const file = files.file("seed.json");
        fs.writeFileSync(file, `[\n  ${event(1)},\n  {\n    "n": 2\n  },\n  ${event(3)}\n]\n`);

        const run = await runData(["seed", "--table", "events", "--file", file, "--on-error", "skip", ...where(config)]);

        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /line 3: cli\d+-events: item has no key attribute 'event_id'/);
        assert.match(run.stdout, /seeded 2 items .*; 1 bad line skipped/);
        assert.deepEqual(await storedIds(table), ["e00001", "e00003"]);
    });

    it("finds the item DynamoDB refuses inside a batch and reports it by line", async () => {
        // Given DynamoDB JSON whose line 30 holds a number beyond DynamoDB's range (it refuses the whole batch for it)
        const { config, table } = freshStack();
        const file = files.file("refused.jsonl");
        const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ Item: { event_id: { S: `e${String(i + 1).padStart(5, "0")}` }, n: { N: i === 29 ? "1e200" : String(i) } } }));
        writeLines(file, lines);

        const run = await runData(["import", "--table", "events", "--file", file, "--on-error", "skip", ...where(config)]);

        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /line 30: DynamoDB refused the item: .*[Nn]umber overflow/);
        assert.equal((await storedIds(table)).length, 39);
    });

    it("stops at an item DynamoDB refuses with --on-error stop, committing only the lines before it", async () => {
        const { config, table } = freshStack();
        const file = files.file("refused-stop.jsonl");
        writeLines(file, Array.from({ length: 40 }, (_, i) => JSON.stringify({ Item: { event_id: { S: `e${String(i + 1).padStart(5, "0")}` }, n: { N: i === 29 ? "1e200" : String(i) } } })));

        const run = await runData(["import", "--table", "events", "--file", file, "--concurrency", "1", ...where(config)]);

        assert.equal(run.code, 1);
        assert.match(run.stderr, /import stopped at line 30 \(--on-error stop\): every line from 1 to 29 is written or skipped/);
        assert.equal(JSON.parse(fs.readFileSync(`${file}.checkpoint.json`, "utf8")).lastCommittedLine, 29);
        assert.deepEqual(await storedIds(table), Array.from({ length: 29 }, (_, i) => `e${String(i + 1).padStart(5, "0")}`));
    });

    it("reports db.json records that cannot be mapped by collection and index, and migrates the rest", async () => {
        // Given posts with an uncoercible date and a missing key, and a mapping using the short form for users
        const { config } = freshStack();
        const database = files.file("db.json");
        fs.writeFileSync(
            database,
            JSON.stringify({
                users: [{ id: "u1", name: "Ana" }],
                posts: [
                    { id: 1, threadId: 1, createdAt: "2024-05-01T00:00:00Z" },
                    { id: 2, threadId: 1, createdAt: "soon" },
                    { id: 3, createdAt: "2024-05-02T00:00:00Z" },
                ],
            }),
        );
        const mapping = files.file("mapping.yaml");
        fs.writeFileSync(mapping, "users: users\nposts:\n  table: posts\n  rename: { threadId: thread_id, createdAt: created_at }\n  coerce: { created_at: epochSeconds }\n");

        // When it is migrated, first stopping on errors, then skipping them
        const stopped = await runData(["migrate", "--from", database, "--mapping", mapping, ...where(config)]);
        const skipped = await runData(["migrate", "--from", database, "--mapping", mapping, "--on-error", "skip", ...where(config)]);

        // Then each bad record is named, and the good ones are in
        assert.equal(stopped.code, 1);
        assert.match(stopped.stderr, /db\.json posts\[1\]: attribute 'created_at' cannot be coerced to epochSeconds: "soon"/);
        assert.match(stopped.stderr, /migrate stopped at posts\[1\] \(--on-error stop\): 1 of 3 posts records are written or skipped/);
        assert.equal(skipped.code, 0, skipped.stderr);
        assert.match(skipped.stderr, /db\.json posts\[2\]: cli\d+-posts: item has no key attribute 'thread_id' \(hash key, N\)/);
        assert.match(skipped.stdout, /users -> cli\d+-users: 1 items\nposts -> cli\d+-posts: 1 items \(2 bad records skipped\)/);
    });

    it("says where an interrupted import stopped and resumes from its checkpoint without duplicates", async () => {
        // Given 5,000 items and an endpoint that answers batch writes slowly, interrupted after the 20th
        const { config, table } = freshStack();
        const file = files.file("resume.jsonl");
        writeLines(file, events(1, 5000));
        const interrupt = new AbortController();
        proxy = await startDynamoProxy(dynamo.endpoint, (call) => {
            if (call.operation !== "BatchWriteItem") return undefined;
            if (call.count === 20) interrupt.abort();
            return { kind: "forward", delayMs: 20 };
        });

        // When the import is interrupted
        const interrupted = await runData(["import", "--table", "events", "--file", file, "--concurrency", "2", ...where(config, proxy.endpoint)], { signal: interrupt.signal });

        // Then it exits 130, saying up to which line everything is written, and the checkpoint agrees
        assert.equal(interrupted.code, 130);
        const said = /import interrupted: every line from 1 to (\d+) is written or skipped \(checkpoint .*resume\.jsonl\.checkpoint\.json\); re-run with --resume \(or --from-line (\d+)\)/.exec(interrupted.stderr);
        assert.ok(said, interrupted.stderr);
        const committed = Number(said[1]);
        assert.equal(Number(said[2]), committed + 1);
        assert.ok(committed >= 450 && committed < 5000, `committed ${committed}`);
        const checkpoint = JSON.parse(fs.readFileSync(`${file}.checkpoint.json`, "utf8"));
        assert.equal(checkpoint.lastCommittedLine, committed);
        assert.deepEqual(await storedIds(table), events(1, committed).map((line) => JSON.parse(line).event_id));

        // When it is resumed
        const resumed = await runData(["import", "--table", "events", "--file", file, "--resume", "--json", ...where(config)]);

        // Then it writes only the rest, and the table holds each item once
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.match(resumed.stderr, new RegExp(`resuming import into cli\\d+-events at line ${committed + 1}`));
        assert.equal(JSON.parse(resumed.stdout).written, 5000 - committed);
        assert.equal(fs.existsSync(`${file}.checkpoint.json`), false);
        const verified = await runData(["verify", "--table", "events", "--file", file, "--json", "--config", config, "--endpoint", dynamo.endpoint]);
        assert.equal(verified.code, 0);
        assert.equal(JSON.parse(verified.stdout).tableItems, 5000);
    });

    it("refuses --resume without a checkpoint of that file", async () => {
        const { config } = freshStack();
        const file = files.file("never.jsonl");
        writeLines(file, events(1, 3));

        const run = await runData(["import", "--table", "events", "--file", file, "--resume", ...where(config)]);

        assert.equal(run.code, 2);
        assert.match(run.stderr, /--resume: checkpoint .*never\.jsonl\.checkpoint\.json does not exist/);
    });

    it("imports through an endpoint that throttles and leaves items unprocessed", async () => {
        const { config, table } = freshStack();
        const file = files.file("throttled.jsonl");
        writeLines(file, events(1, 500));
        proxy = await startDynamoProxy(dynamo.endpoint, (call) => {
            if (call.operation !== "BatchWriteItem") return undefined;
            if (call.count % 7 === 0) return { kind: "throttle" };
            return call.count % 2 ? { kind: "partial", forward: 15 } : undefined;
        });

        const run = await runData(["import", "--table", "events", "--file", file, ...where(config, proxy.endpoint)]);

        assert.equal(run.code, 0, run.stderr);
        assert.ok(proxy.log.some((call) => call.action === "throttle") && proxy.log.some((call) => call.unprocessed > 0));
        assert.equal((await storedIds(table)).length, 500);
    });

    it("fails with the count of items not written once the retries run out, keeping the checkpoint", async () => {
        const { config, table } = freshStack();
        const file = files.file("refusing.jsonl");
        writeLines(file, events(1, 60));
        proxy = await startDynamoProxy(dynamo.endpoint, (call) => (call.operation === "BatchWriteItem" ? { kind: "partial", forward: call.count <= 2 ? 25 : 0 } : undefined));

        const run = await runData(["import", "--table", "events", "--file", file, "--concurrency", "1", "--max-attempts", "2", ...where(config, proxy.endpoint)]);

        assert.equal(run.code, 1);
        assert.match(run.stderr, /import failed: cli\d+-events: 10 of 10 items were not written after 2 attempts \(DynamoDB kept returning them as unprocessed/);
        assert.match(run.stderr, /every line from 1 to 50 is written or skipped/);
        assert.equal(JSON.parse(fs.readFileSync(`${file}.checkpoint.json`, "utf8")).lastCommittedLine, 50);
        assert.equal((await storedIds(table)).length, 50);
    });

    it("stops on Ctrl-C in the real command and prints where to resume", async function () {
        // Given the command running as `npm run data` runs it, against a slow endpoint
        const { config } = freshStack();
        const file = files.file("sigint.jsonl");
        writeLines(file, events(1, 5000));
        let child: ReturnType<typeof spawn> | undefined;
        proxy = await startDynamoProxy(dynamo.endpoint, (call) => {
            if (call.operation !== "BatchWriteItem") return undefined;
            if (call.count === 10) child?.kill("SIGINT");
            return { kind: "forward", delayMs: 20 };
        });
        child = importOneByOne(file, config, proxy.endpoint);
        let stderr = "";
        child.stderr!.on("data", (chunk) => (stderr += chunk));

        // When it gets SIGINT mid-run
        const code = await new Promise<number | null>((resolve) => child!.once("exit", resolve));

        // Then it finishes the writes in flight, exits 130 and says how to resume
        assert.equal(code, 130, stderr);
        assert.match(stderr, /stopping: finishing the writes in flight/);
        const said = /import interrupted: every line from 1 to (\d+) is written or skipped .*re-run with --resume/.exec(stderr);
        assert.ok(said, stderr);
        assert.equal(JSON.parse(fs.readFileSync(`${file}.checkpoint.json`, "utf8")).lastCommittedLine, Number(said[1]));
    });

    it("takes a second SIGINT right after the first for the same Ctrl-C, as a terminal and npm deliver it, and still says where to resume", async function () {
        // Given the command running against a slow endpoint
        const { config } = freshStack();
        const file = files.file("sigint-twice.jsonl");
        writeLines(file, events(1, 5000));
        let child: ReturnType<typeof spawn> | undefined;
        let stderr = "";
        let secondDelivered = false;
        proxy = await startDynamoProxy(dynamo.endpoint, (call) => {
            if (call.operation !== "BatchWriteItem") return undefined;
            if (call.count !== 10) return { kind: "forward", delayMs: 20 };
            // The terminal's SIGINT while this write is in flight; it is held long enough for npm's copy to arrive during it.
            child?.kill("SIGINT");
            return { kind: "forward", delayMs: 1000 };
        });
        child = importOneByOne(file, config, proxy.endpoint);
        child.stderr!.on("data", (chunk) => {
            stderr += chunk;
            // npm's copy of the terminal's SIGINT, once the command has taken the first
            if (!secondDelivered && /stopping:/.test(stderr) && child!.exitCode === null) secondDelivered = child!.kill("SIGINT");
        });

        const code = await new Promise<number | null>((resolve) => child!.once("exit", resolve));

        // Then it did not quit at once: the writes in flight finished and the checkpoint says where
        assert.ok(secondDelivered, `no second SIGINT was sent while the import ran:\n${stderr}`);
        assert.equal(code, 130, stderr);
        assert.doesNotMatch(stderr, /^quit;/m);
        const said = /import interrupted: every line from 1 to (\d+) is written or skipped .*re-run with --resume/.exec(stderr);
        assert.ok(said, stderr);
        assert.equal(JSON.parse(fs.readFileSync(`${file}.checkpoint.json`, "utf8")).lastCommittedLine, Number(said[1]));
    });
});

describe("progress without a terminal", () => {
    it("prints one line per interval with items per second, and a last line only after long runs", () => {
        let now = 0;
        const lines: string[] = [];
        const stream = { write: (text: string) => lines.push(text), isTTY: false } as unknown as NodeJS.WritableStream;
        const progress = createProgress({ label: "import t", stream, intervalMs: 5000, now: () => now });

        now = 1000;
        progress.update({ items: 2000, done: 10, total: 100, detail: "line 2000" });
        now = 5000;
        progress.update({ items: 9000, done: 50, total: 100, detail: "line 9000" });
        now = 8000;
        progress.update({ items: 12000, done: 60, total: 100 });
        progress.stop();

        assert.deepEqual(lines, ["import t: 9000 items (50%), 1800 items/s, line 9000\n", "import t: 12000 items (60%), 1500 items/s\n"]);
        const quiet: string[] = [];
        const short = createProgress({ label: "seed t", stream: { write: (text: string) => quiet.push(text) } as unknown as NodeJS.WritableStream, now: () => 0 });
        short.update({ items: 3 });
        short.stop();
        assert.deepEqual(quiet, []);
    });
});
