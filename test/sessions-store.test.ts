/**
 * The session store: a new session never overwrites a stored one, a lookup
 * is a strongly consistent read (a revoked session is gone for the very next
 * request), and revoke-all finishes, or says how much it left, when DynamoDB
 * throttles its deletes.
 */
import { strict as assert } from "node:assert";
import { GetCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { Sessions } from "../runtime/sessions";
import { DynamoSessionStore, SessionExistsError, SessionsNotDeletedError } from "../runtime/stores/sessionStore";
import { clientFor, dynamoKinds, startDynamo, type TestDynamo } from "./support/dynamo";
import { startDynamoProxy, type DynamoProxy, type ProxyRule } from "./support/dynamoProxy";
import { Clock, freshTables } from "./support/runtime";

for (const kind of dynamoKinds) {
    describe(`session store (${kind})`, function () {
        let dynamo: TestDynamo;
        let tableName: string;
        let clock: Clock;

        before(async () => {
            dynamo = await startDynamo(kind, { inMemory: true });
        });
        after(async () => dynamo?.close());
        beforeEach(async () => {
            tableName = (await freshTables(dynamo)).sessions;
            clock = new Clock();
        });

        const storedSessionIds = async () => {
            const { Items = [] } = await dynamo.doc.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
            return Items.map((item) => item.session_id as string);
        };

        it("refuses a session whose session_id is already stored, and keeps the stored one", async () => {
            // given a token source that repeats itself
            const sessions = new Sessions({ store: new DynamoSessionStore(dynamo.client, tableName), now: clock.now, randomBytes: () => Buffer.alloc(32, 7) });
            const first = await sessions.create({ userId: "u-first" });
            // when the same token comes out again
            await assert.rejects(sessions.create({ userId: "u-second" }), SessionExistsError);
            // then
            assert.equal((await sessions.get(first.token))?.userId, "u-first");
        });

        it("reads a session with a strongly consistent GetItem and lists a user's through UserIdIndex", async () => {
            // given a client that records what it sends
            const sent: { command: string; input: any }[] = [];
            const client = clientFor(dynamo.endpoint);
            client.middlewareStack.add(
                (next, context) => async (args) => {
                    sent.push({ command: context.commandName!, input: args.input });
                    return next(args);
                },
                { step: "initialize", name: "recordCommands" },
            );
            const store = new DynamoSessionStore(client, tableName);
            const sessions = new Sessions({ store, now: clock.now });
            const { token, session } = await sessions.create({ userId: "u-read" });
            sent.length = 0;
            // when
            await sessions.get(token);
            await sessions.listForUser("u-read");
            await store.ping();
            // then
            const [get, query, ping] = sent;
            assert.equal(get.command, "GetItemCommand");
            assert.equal(JSON.stringify(get.input.Key).includes(session.sessionId), true, "by the SHA-256 of the token");
            assert.equal(get.input.ConsistentRead, true);
            assert.equal(query.command, "QueryCommand");
            assert.equal(query.input.IndexName, "UserIdIndex");
            assert.equal(ping.command, "GetItemCommand");
            assert.ok(ping.input.ProjectionExpression, "the readiness ping reads the key attribute alone");
            client.destroy();
        });

        it("renews a session once when fifty renewals of the same expiry race, and never brings back a revoked one", async () => {
            // given a session, and fifty renewals that all read the same expires_at
            const store = new DynamoSessionStore(dynamo.client, tableName);
            const sessions = new Sessions({ store, now: clock.now });
            const { token, session } = await sessions.create({ userId: "u-renew", ttlSeconds: 600 });
            // when
            const outcomes = await Promise.all(Array.from({ length: 50 }, () => store.renew(session, session.expiresAt + 600)));
            // then exactly one moved it, by one TTL
            assert.equal(outcomes.filter(Boolean).length, 1);
            assert.equal((await sessions.get(token))?.expiresAt, session.expiresAt + 600);
            // and once revoked, a renewal writes nothing
            await sessions.revoke(token);
            assert.equal(await store.renew(session, session.expiresAt + 1200), false);
            assert.deepEqual(await storedSessionIds(), []);
        });

        it("keeps the issued TTL of a session written without ttl_seconds when it is renewed", async () => {
            // given an item as the store wrote it before renewal existed
            const store = new DynamoSessionStore(dynamo.client, tableName);
            const sessionId = "a".repeat(64);
            await dynamo.doc.send(new PutCommand({ TableName: tableName, Item: { session_id: sessionId, user_id: "u-old", roles: [], permissions: [], created_at: 1000, expires_at: 1300 } }));
            const stored = (await store.get(sessionId))!;
            assert.equal(stored.ttlSeconds, 300);
            // when
            assert.equal(await store.renew(stored, 1600), true);
            // then
            const { Item } = await dynamo.doc.send(new GetCommand({ TableName: tableName, Key: { session_id: sessionId }, ConsistentRead: true }));
            assert.deepEqual([Item!.expires_at, Item!.ttl_seconds, Item!.created_at], [1600, 300, 1000]);
        });

        it("lists at most the given number of a user's sessions, latest expiry first", async () => {
            const store = new DynamoSessionStore(dynamo.client, tableName);
            const sessions = new Sessions({ store, now: clock.now });
            for (let ttl = 100; ttl <= 500; ttl += 100) await sessions.create({ userId: "u-list", ttlSeconds: ttl });
            const listed = await store.listByUser("u-list", { activeAt: clock.seconds, limit: 3 });
            assert.deepEqual(
                listed.map((session) => session.expiresAt - clock.seconds),
                [500, 400, 300],
            );
        });

        describe("revoking all of a user's sessions through a DynamoDB that throttles", () => {
            let proxy: DynamoProxy | undefined;
            let proxiedClient: ReturnType<typeof clientFor> | undefined;
            afterEach(async () => {
                proxiedClient?.destroy();
                await proxy?.close();
                proxy = undefined;
            });

            async function sessionsThrough(rule: ProxyRule): Promise<Sessions> {
                proxy = await startDynamoProxy(dynamo.endpoint, rule);
                proxiedClient = clientFor(proxy.endpoint, { maxAttempts: 3 });
                return new Sessions({ store: new DynamoSessionStore(proxiedClient, tableName), now: clock.now });
            }

            it("deletes every session when some deletes are throttled and retried", async () => {
                // given 30 sessions, and an endpoint that throttles the first five deletes it sees
                const sessions = await sessionsThrough((call) => (call.operation === "DeleteItem" && call.count <= 5 ? { kind: "throttle" } : undefined));
                for (let i = 0; i < 30; i++) await sessions.create({ userId: "u-busy" });
                // when
                const revoked = await sessions.revokeAllForUser("u-busy");
                // then
                assert.equal(revoked, 30);
                assert.deepEqual(await storedSessionIds(), []);
                assert.ok(proxy!.log.some((entry) => entry.operation === "DeleteItem" && entry.action === "throttle"), "the endpoint throttled some deletes");
            });

            it("says how many sessions were not deleted after the client's retries, and leaves exactly those", async () => {
                // given an endpoint that takes 4 deletes and throttles every one after
                const sessions = await sessionsThrough((call) => (call.operation === "DeleteItem" && call.count > 4 ? { kind: "throttle" } : undefined));
                for (let i = 0; i < 10; i++) await sessions.create({ userId: "u-stuck" });
                // when
                const failure = await sessions.revokeAllForUser("u-stuck").then(
                    () => assert.fail("revoke-all reported success"),
                    (error: unknown) => error,
                );
                // then
                assert.ok(failure instanceof SessionsNotDeletedError);
                assert.match(failure.message, /^6 of 10 sessions were not deleted/);
                assert.equal((await storedSessionIds()).length, 6);
            });
        });
    });
}
