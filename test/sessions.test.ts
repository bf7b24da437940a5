import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { GetCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { dynamoKinds, startDynamo, type TestDynamo } from "./support/dynamo";
import { Clock, freshTables } from "./support/runtime";
import { createSessions, SessionInputError, sessionIdOf, type Sessions } from "../runtime/sessions";

for (const kind of dynamoKinds) {
    describe(`session store library (${kind})`, function () {
        let dynamo: TestDynamo;
        let tables: { sessions: string };
        let clock: Clock;
        let sessions: Sessions;

        before(async () => {
            dynamo = await startDynamo(kind);
        });
        after(async () => dynamo?.close());
        beforeEach(async () => {
            tables = await freshTables(dynamo);
            clock = new Clock();
            sessions = createSessions({ dynamo: dynamo.client, tableName: tables.sessions, now: clock.now });
        });

        it("creates a 32-byte base64url token and stores only its SHA-256 as session_id", async () => {
            // when
            const { token, session } = await sessions.create({ userId: "u-1", username: "ada", roles: ["admin"], permissions: ["orders:read"], ttlSeconds: 600 });
            // then
            assert.match(token, /^[A-Za-z0-9_-]{43}$/);
            assert.equal(Buffer.from(token, "base64url").length, 32);
            const expectedId = createHash("sha256").update(token).digest("hex");
            assert.equal(session.sessionId, expectedId);
            const { Items } = await dynamo.doc.send(new ScanCommand({ TableName: tables.sessions }));
            assert.equal(Items!.length, 1);
            assert.deepEqual(Items![0], {
                session_id: expectedId,
                user_id: "u-1",
                username: "ada",
                roles: ["admin"],
                permissions: ["orders:read"],
                created_at: clock.seconds,
                expires_at: clock.seconds + 600,
                ttl_seconds: 600,
            });
            assert.ok(!JSON.stringify(Items).includes(token), "the raw token must not be stored");
        });

        it("issues a different token every time", async () => {
            const tokens = new Set<string>();
            for (let i = 0; i < 20; i++) tokens.add((await sessions.create({ userId: "u-1" })).token);
            assert.equal(tokens.size, 20);
        });

        it("gets the session of a token, and nothing for an unknown or malformed one", async () => {
            // given
            const { token } = await sessions.create({ userId: "u-2", roles: ["r"], ttlSeconds: 60 });
            // then
            assert.equal((await sessions.get(token))?.userId, "u-2");
            assert.equal(await sessions.get("A".repeat(43)), undefined);
            assert.equal(await sessions.get("not a token"), undefined);
        });

        it("treats a session whose expires_at has passed as absent while it is still stored", async () => {
            // given
            const { token } = await sessions.create({ userId: "u-3", ttlSeconds: 30 });
            // when
            clock.advance(30_000);
            // then
            assert.equal(await sessions.get(token), undefined);
            const stored = await dynamo.doc.send(new GetCommand({ TableName: tables.sessions, Key: { session_id: sessionIdOf(token) } }));
            assert.ok(stored.Item, "the item is still in the table (TTL has not run)");
        });

        it("revokes a session by token, once", async () => {
            const { token } = await sessions.create({ userId: "u-4" });
            assert.equal(await sessions.revoke(token), true);
            assert.equal(await sessions.get(token), undefined);
            assert.equal(await sessions.revoke(token), false);
        });

        it("lists a user's active sessions through UserIdIndex and revokes them all", async () => {
            // given two active and one expired session of u-5, one of someone else
            const first = await sessions.create({ userId: "u-5", ttlSeconds: 100 });
            const second = await sessions.create({ userId: "u-5", ttlSeconds: 200 });
            await sessions.create({ userId: "u-5", ttlSeconds: 10 });
            const other = await sessions.create({ userId: "u-6" });
            clock.advance(20_000);
            // when
            const active = await sessions.listForUser("u-5");
            const all = await sessions.listForUser("u-5", { includeExpired: true });
            // then
            assert.deepEqual(active.map((s) => s.sessionId), [first.session.sessionId, second.session.sessionId]);
            assert.equal(all.length, 3);
            assert.equal(await sessions.revokeAllForUser("u-5"), 3);
            assert.deepEqual(await sessions.listForUser("u-5", { includeExpired: true }), []);
            assert.equal((await sessions.get(other.token))?.userId, "u-6");
        });

        it("revokes more sessions than one batch write holds", async () => {
            for (let i = 0; i < 30; i++) await sessions.create({ userId: "u-many" });
            assert.equal(await sessions.revokeAllForUser("u-many"), 30);
            assert.equal((await sessions.listForUser("u-many", { includeExpired: true })).length, 0);
        });

        it("reads string sets written by hand as plain lists", async () => {
            // given an item an operator wrote with string sets
            const token = "B".repeat(43);
            await dynamo.doc.send(
                new PutCommand({
                    TableName: tables.sessions,
                    Item: { session_id: sessionIdOf(token), user_id: "ops", roles: new Set(["a"]), permissions: new Set(["p"]), created_at: clock.seconds, expires_at: clock.seconds + 60 },
                }),
            );
            // then
            const session = await sessions.get(token);
            assert.deepEqual([session?.roles, session?.permissions], [["a"], ["p"]]);
        });

        it("refuses bad input, naming the field", async () => {
            await assert.rejects(sessions.create({ userId: "" }), (error: unknown) => error instanceof SessionInputError && error.field === "userId");
            await assert.rejects(sessions.create({ userId: "u", ttlSeconds: 0 }), (error: unknown) => error instanceof SessionInputError && error.field === "ttlSeconds");
            await assert.rejects(sessions.create({ userId: "u", roles: [""] }), (error: unknown) => error instanceof SessionInputError && error.field === "roles");
        });

        it("refuses a role or permission with a comma, double quote, semicolon or backslash, control characters or a lone surrogate anywhere, and a TTL above the maximum given, storing nothing", async () => {
            const refusedOn = (field: string) => (error: unknown) => error instanceof SessionInputError && error.field === field;
            await assert.rejects(sessions.create({ userId: "u", roles: ["admin,ops"] }), refusedOn("roles"));
            await assert.rejects(sessions.create({ userId: "u", permissions: ["orders:read,orders:write"] }), refusedOn("permissions"));
            await assert.rejects(sessions.create({ userId: "u\r\nx-gateway-user-id: admin" }), refusedOn("userId"));
            await assert.rejects(sessions.create({ userId: "u", username: "ada\n" }), refusedOn("username"));
            await assert.rejects(sessions.create({ userId: "u", roles: Array.from({ length: 65 }, (_, i) => `r${i}`) }), refusedOn("roles"));
            await assert.rejects(sessions.create({ userId: "u", ttlSeconds: 10 * 365 * 86_400 }, { maxTtlSeconds: 30 * 86_400 }), refusedOn("ttlSeconds"));
            await assert.rejects(sessions.create({ userId: "u", ttlSeconds: 1.5 }), refusedOn("ttlSeconds"));
            await assert.rejects(sessions.create({ userId: "\ud800x" }), refusedOn("userId"));
            await assert.rejects(sessions.create({ userId: "u", username: "x\udc00" }), refusedOn("username"));
            await assert.rejects(sessions.create({ userId: "u", roles: ['a"b'] }), refusedOn("roles"));
            await assert.rejects(sessions.create({ userId: "u", roles: ["a;b"] }), refusedOn("roles"));
            await assert.rejects(sessions.create({ userId: "u", permissions: ["a\\b"] }), refusedOn("permissions"));
            await assert.rejects(sessions.create({ userId: "u", permissions: ["\ud83dx"] }), refusedOn("permissions"));
            const { Items } = await dynamo.doc.send(new ScanCommand({ TableName: tables.sessions }));
            assert.deepEqual(Items, []);
        });

        it("gives a session without ttlSeconds the default TTL it is handed", async () => {
            const { session } = await sessions.create({ userId: "u-ttl" }, { defaultTtlSeconds: 3600, maxTtlSeconds: 7200 });
            assert.equal(session.expiresAt - session.createdAt, 3600);
            assert.equal(session.ttlSeconds, 3600);
        });

        it("revokes a session by id only for the user it belongs to", async () => {
            // given a session of u-7 and one of u-8
            const mine = await sessions.create({ userId: "u-7" });
            const theirs = await sessions.create({ userId: "u-8" });
            // when u-7 asks to revoke u-8's, an unknown id, then its own
            const stolen = await sessions.revokeOwned("u-7", theirs.session.sessionId);
            const unknown = await sessions.revokeOwned("u-7", "0".repeat(64));
            const own = await sessions.revokeOwned("u-7", mine.session.sessionId);
            // then
            assert.deepEqual([stolen, unknown, own], [false, false, true]);
            assert.equal((await sessions.get(theirs.token))?.userId, "u-8");
            assert.equal(await sessions.get(mine.token), undefined);
        });
    });
}
