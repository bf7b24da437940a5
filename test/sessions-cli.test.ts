import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { startDynamo, type TestDynamo } from "./support/dynamo";
import { freePort } from "./support/loopback";
import { nodeVersionLines, withoutSdkWarningSwitch } from "./support/nodeNotice";
import { ensureTables } from "../data/createTables";
import { loadStackConfig } from "../specs/stackFile";
import { physicalTableName, rateLimitsTable, sessionsTable } from "../specs/tables";
import { sessionIdOf } from "../runtime/sessions";

const projectDir = path.resolve(__dirname, "..");

interface Ran {
    code: number;
    stdout: string;
    stderr: string;
}

function runNode(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
    return runProcess(process.execPath, ["--import", "tsx", "cli/sessions.ts", ...args], env);
}

function runProcess(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
    return new Promise((resolve) => {
        execFile(file, args, { cwd: projectDir, env: { ...process.env, AWS_ACCESS_KEY_ID: "", ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
            resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
    });
}

describe("sessions command against dynalite (--endpoint)", function () {
    let dynamo: TestDynamo;
    let table: string;
    let endpointArgs: string[];

    before(async () => {
        dynamo = await startDynamo("dynalite");
        const names = await ensureTables(dynamo.client, "cli", [sessionsTable], { enableTtl: false });
        table = names[sessionsTable.name];
        endpointArgs = ["--endpoint", dynamo.endpoint, "--table", table, "--region", "eu-west-1"];
    });
    after(async () => dynamo?.close());

    it("creates a session with npm run --silent, printing the token alone on stdout", async () => {
        // when
        const ran = await runProcess("npm", ["run", "--silent", "sessions", "--", "create", "--user", "u-cli", "--roles", "admin,ops", "--permissions", "orders:read", "--ttl", "120", ...endpointArgs], {});
        // then
        assert.equal(ran.code, 0, ran.stderr);
        assert.match(ran.stdout, /^[A-Za-z0-9_-]{43}\n$/);
        const token = ran.stdout.trim();
        const { Items } = await dynamo.doc.send(new ScanCommand({ TableName: table }));
        const item = Items!.find((candidate) => candidate.session_id === sessionIdOf(token));
        assert.ok(item, "the session is stored under the token's hash");
        assert.deepEqual([item.user_id, item.roles, item.permissions, item.expires_at - item.created_at], ["u-cli", ["admin", "ops"], ["orders:read"], 120]);
    });

    it("says nothing of the AWS SDK's Node.js version, even started without the SDK's switch for it", async () => {
        // given the SDK's own switch unset in the command's environment, whatever this process has
        const ran = await runProcess("npm", ["run", "--silent", "sessions", "--", "create", "--user", "u-notice", ...endpointArgs], withoutSdkWarningSwitch);
        // then the command reached the store, and neither the SDK's nine-line warning nor a notice of its own is printed
        assert.equal(ran.code, 0, ran.stderr);
        assert.match(ran.stdout, /^[A-Za-z0-9_-]{43}\n$/);
        assert.deepEqual(nodeVersionLines(ran.stdout + ran.stderr), []);
    });

    it("gets, lists, revokes and revokes all, with exit codes", async () => {
        // given two sessions of one user
        const first = (await runNode(["create", "--user", "u-round", "--username", "ada", ...endpointArgs])).stdout.trim();
        const second = (await runNode(["create", "--user", "u-round", ...endpointArgs])).stdout.trim();

        // get
        const got = await runNode(["get", first, ...endpointArgs]);
        assert.equal(got.code, 0, got.stderr);
        const session = JSON.parse(got.stdout);
        assert.deepEqual([session.user_id, session.username, session.session_id], ["u-round", "ada", sessionIdOf(first)]);
        assert.ok(!got.stdout.includes(first), "get never prints the token");

        // list
        const listed = await runNode(["list", "--user", "u-round", ...endpointArgs]);
        assert.equal(listed.code, 0, listed.stderr);
        const ids = listed.stdout.trim().split("\n").map((line) => JSON.parse(line).session_id).sort();
        assert.deepEqual(ids, [sessionIdOf(first), sessionIdOf(second)].sort());

        // revoke, then revoke again: not found
        assert.equal((await runNode(["revoke", first, ...endpointArgs])).code, 0);
        const again = await runNode(["revoke", first, ...endpointArgs]);
        assert.equal(again.code, 1);
        assert.match(again.stderr, /no such session/);
        const gone = await runNode(["get", first, ...endpointArgs]);
        assert.equal(gone.code, 1);
        assert.equal(gone.stdout, "");

        // revoke-all
        const all = await runNode(["revoke-all", "--user", "u-round", ...endpointArgs]);
        assert.equal(all.code, 0, all.stderr);
        assert.equal(all.stdout.trim(), "1");
        assert.equal((await runNode(["get", second, ...endpointArgs])).code, 1);
    });

    it("refuses usage errors with exit code 2 and a message naming the flag", async () => {
        const noUser = await runNode(["create", ...endpointArgs]);
        assert.equal(noUser.code, 2);
        assert.match(noUser.stderr, /^sessions: --user: required \(the user's id \(user_id\)\)$/m);
        const badTtl = await runNode(["create", "--user", "u", "--ttl", "soon", ...endpointArgs]);
        assert.equal(badTtl.code, 2);
        assert.match(badTtl.stderr, /--ttl: expected a positive whole number of seconds/);
        assert.equal(badTtl.stdout, "");
    });

    it("refuses a --ttl longer than the stack's tollgate:sessions.maxTtlSeconds with exit 2, storing nothing", async () => {
        // given the dev stack (30 days at most) and a stack file that allows one day
        const sessionsTestStack = path.join(projectDir, "test", "fixtures", "stacks", "Pulumi.sessions-test.yaml");
        // when sessions about three years and a day and a second long are asked for
        const threeYears = await runNode(["create", "--user", "u-long", "--ttl", "99999999", ...endpointArgs]);
        const dayAndASecond = await runNode(["create", "--user", "u-long", "--ttl", "86401", "--config", sessionsTestStack, ...endpointArgs]);
        // then each is refused, naming the flag, the key and the stack's value
        assert.equal(threeYears.code, 2, threeYears.stderr);
        assert.match(threeYears.stderr, /^sessions: --ttl: 99999999 seconds is longer than tollgate:sessions\.maxTtlSeconds of stack dev \(2592000 seconds, 30 days\)$/m);
        assert.equal(dayAndASecond.code, 2, dayAndASecond.stderr);
        assert.match(dayAndASecond.stderr, /^sessions: --ttl: 86401 seconds is longer than tollgate:sessions\.maxTtlSeconds of stack sessions-test \(86400 seconds, 1 day\)$/m);
        assert.equal(threeYears.stdout + dayAndASecond.stdout, "");
        const { Items } = await dynamo.doc.send(new ScanCommand({ TableName: table }));
        assert.deepEqual(Items!.filter((item) => item.user_id === "u-long"), []);
        // and the longest allowed is created
        const longest = await runNode(["create", "--user", "u-long", "--ttl", "2592000", ...endpointArgs]);
        assert.equal(longest.code, 0, longest.stderr);
    });

    it("gives a session without --ttl the stack's tollgate:sessions.defaultTtlSeconds", async () => {
        const created = await runNode(["create", "--user", "u-default", ...endpointArgs]);
        assert.equal(created.code, 0, created.stderr);
        const { Items } = await dynamo.doc.send(new ScanCommand({ TableName: table }));
        const item = Items!.find((candidate) => candidate.user_id === "u-default")!;
        assert.equal(item.expires_at - item.created_at, loadStackConfig("dev").settings.sessions.defaultTtlSeconds);
    });

    it("refuses with exit code 2, creating nothing, a role or permission a CSV or structured-field parser would read otherwise", async () => {
        for (const flags of [["--roles", 'staff",admin'], ["--roles", "staff;q=admin"], ["--permissions", "a\\b"]]) {
            const refused = await runNode(["create", "--user", "u-quote", ...flags, ...endpointArgs]);
            assert.equal(refused.code, 2, `${flags.join(" ")}: ${refused.stderr}`);
            assert.equal(refused.stdout, "");
        }
        const listed = await runNode(["list", "--user", "u-quote", "--all", ...endpointArgs]);
        assert.equal(listed.stdout.trim(), "");
    });

    it("exits 2 with no command, naming the commands; --help alone exits 0", async () => {
        const bare = await runNode([]);
        assert.equal(bare.code, 2);
        assert.match(bare.stderr, /a command is required \(one of: create, get, list, revoke, revoke-all\)/);
        assert.equal(bare.stdout, "");
        const help = await runNode(["--help"]);
        assert.equal(help.code, 0);
        assert.match(help.stdout, /^Usage: npm run --silent sessions/);
    });

    it("says the store cannot be reached, exit code 3, when nothing listens at the endpoint", async () => {
        const port = await freePort();
        const ran = await runNode(["create", "--user", "u", "--endpoint", `http://127.0.0.1:${port}`, "--table", table, "--region", "eu-west-1"]);
        assert.equal(ran.code, 3);
        assert.match(ran.stderr, /cannot reach DynamoDB at http:\/\/127\.0\.0\.1:\d+/);
        assert.equal(ran.stdout, "");
    });
});

describe("sessions command --local", function () {
    let dynamo: TestDynamo;
    let table: string;

    before(async () => {
        // given a store where `npm start --stack dev` would keep its tables
        dynamo = await startDynamo("dynalite");
        const prefix = loadStackConfig("dev").settings.prefix;
        await ensureTables(dynamo.client, prefix, [rateLimitsTable, sessionsTable], { enableTtl: false });
        table = physicalTableName(prefix, sessionsTable);
    });
    after(async () => dynamo?.close());

    it("targets 127.0.0.1:$DYNAMODB_PORT and the stack's sessions table", async () => {
        // when
        const created = await runNode(["create", "--user", "u-local", "--local", "--stack", "dev"], { DYNAMODB_PORT: String(dynamo.port) });
        // then
        assert.equal(created.code, 0, created.stderr);
        const { Items } = await dynamo.doc.send(new ScanCommand({ TableName: table }));
        assert.deepEqual(Items!.map((item) => item.session_id), [sessionIdOf(created.stdout.trim())]);
    });

    it("names the missing table when the stack's tables are not there", async () => {
        const ran = await runNode(["list", "--user", "u", "--local", "--table", "no-such-table"], { DYNAMODB_PORT: String(dynamo.port) });
        assert.equal(ran.code, 3);
        assert.match(ran.stderr, /table no-such-table does not exist at http:\/\/127\.0\.0\.1:\d+/);
    });

    it("names an unknown stack", async () => {
        const ran = await runNode(["list", "--user", "u", "--local", "--stack", "nope"], { DYNAMODB_PORT: String(dynamo.port) });
        assert.equal(ran.code, 2);
        assert.match(ran.stderr, /no stack 'nope'/);
    });
});
