/**
 * Login and logout through the running local gateway, driven over HTTP by a
 * real client (fetch): the gateway's own handler behind the API Gateway
 * emulation, the embedded store, and the built-in login upstream of the
 * routes that issue or end sessions, with the session test stack
 * (test/fixtures/stacks/Pulumi.sessions-test.yaml). What a browser or an API
 * client does, and what an attacker tries: another user's sessions, a
 * planted session, instructions from the wrong route, malformed
 * instructions, fifty parallel requests on a session due for renewal.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createHandler } from "../runtime/handler";
import { createSessions, sessionIdOf, type Sessions } from "../runtime/sessions";
import { parseOptions } from "../local/options";
import { startLoginUpstream, type LoginUpstream } from "../local/login";
import { startLocal, type LocalGateway } from "../local/start";
import type { EchoReport } from "../local/echo";
import { loadStackConfig } from "../specs/stackFile";
import { clientFor } from "./support/dynamo";
import { freePort } from "./support/loopback";
import { answerWith, countingClient, startUpstream, type CountingClient, type Upstream } from "./support/runtime";

const projectDir = path.resolve(__dirname, "..");
const stackFile = path.join(projectDir, "test", "fixtures", "stacks", "Pulumi.sessions-test.yaml");
const stack = loadStackConfig("sessions-test", { file: stackFile });

const cookieOf = (response: Response) => response.headers.getSetCookie().find((cookie) => cookie.startsWith("session="));
const tokenOf = (response: Response) => /^session=([^;]*);/.exec(cookieOf(response) ?? "")?.[1];

describe("sessions through the running local gateway, with its login upstream", function () {
    let gateway: LocalGateway;
    let raw: Upstream;
    let foreignLogin: LoginUpstream;
    let counting: CountingClient;
    let library: Sessions;
    let store: DynamoDBDocumentClient;
    let storeClient: ReturnType<typeof clientFor>;
    const logLines: string[] = [];

    before(async function () {
        this.timeout(60_000);
        raw = await startUpstream();
        // A login service wrongly placed behind a route that does not issue sessions.
        foreignLogin = await startLoginUpstream("foreign");
        const options = parseOptions(
            ["--config", stackFile, "--memory", "--port", "0", "--upstream", `raw=${raw.url}`, "--upstream", `products=${foreignLogin.url}`],
            { DYNAMODB_PORT: String(await freePort()) },
            projectDir,
        );
        gateway = await startLocal(options, stack, (settings) => {
            // The embedded store shares this process (and a loaded machine) with 50 parallel requests: patience, not retries, so each operation counts once.
            counting = countingClient({ endpoint: settings.dynamoEndpoint! }, { timeoutMs: 15_000 });
            return createHandler(settings, { dynamo: counting.client, log: (line) => logLines.push(line) });
        });
        storeClient = clientFor(gateway.store.endpoint);
        store = DynamoDBDocumentClient.from(storeClient);
        library = createSessions({ dynamo: storeClient, tableName: gateway.tables.sessions });
    });
    after(async () => {
        storeClient?.destroy();
        counting?.destroy();
        await gateway?.close();
        await Promise.all([raw?.close(), foreignLogin?.close()]);
    });
    beforeEach(() => {
        logLines.length = 0;
    });

    const login = (username: string, extra: Record<string, unknown> = {}, init: RequestInit = {}, prefix = "/auth") =>
        fetch(`${gateway.url}${prefix}/login`, { method: "POST", ...init, headers: { "content-type": "application/json", ...init.headers }, body: JSON.stringify({ username, ...extra }) });
    const me = (credential: { cookie?: string; bearer?: string }) =>
        fetch(`${gateway.url}/users/me`, {
            headers: { ...(credential.cookie ? { cookie: `session=${credential.cookie}` } : {}), ...(credential.bearer ? { authorization: `Bearer ${credential.bearer}` } : {}) },
        });
    const storedFor = async (userId: string) =>
        ((await store.send(new ScanCommand({ TableName: gateway.tables.sessions, ConsistentRead: true }))).Items ?? []).filter((item) => item.user_id === userId);
    const warnings = () => logLines.map((line) => JSON.parse(line)).filter((entry) => entry.level === "WARN" && entry.message !== undefined);

    it("logs in: the cookie is HttpOnly, SameSite=Lax, Path=/ with the TTL as Max-Age (no Secure on plain-HTTP loopback), and only its hash is stored", async () => {
        const response = await login("alice");
        assert.equal(response.status, 200);
        assert.deepEqual(await response.json(), { loggedIn: "alice" });
        const token = tokenOf(response)!;
        assert.equal(cookieOf(response), `session=${token}; HttpOnly; SameSite=Lax; Path=/; Max-Age=86400`);
        assert.equal(response.headers.get("x-gateway-session"), null);
        assert.equal(response.headers.get("x-gateway-session-token"), null, "the /auth route does not return the token");
        const stored = await storedFor("alice");
        assert.ok(stored.some((item) => item.session_id === sessionIdOf(token)));
        assert.ok(!JSON.stringify(stored).includes(token), "the token itself is stored nowhere");
    });

    it("authenticates the next request by the cookie, and the upstream learns the user, not the token", async () => {
        const token = tokenOf(await login("amy"))!;
        const response = await me({ cookie: token });
        assert.equal(response.status, 200);
        const echo = (await response.json()) as EchoReport;
        assert.equal(echo.headers["x-gateway-user-id"], "amy");
        assert.ok(!JSON.stringify(echo).includes(token));
    });

    it("returns a bearer token on a returnToken route that works in Authorization", async () => {
        const response = await login("bob", {}, {}, "/token");
        const token = response.headers.get("x-gateway-session-token")!;
        assert.match(token, /^[A-Za-z0-9_-]{43}$/);
        assert.equal(tokenOf(response), token);
        assert.equal((await me({ bearer: token })).status, 200);
    });

    it("revokes the session a client arrives with when it logs in again, whoever it belonged to (no fixation)", async () => {
        const planted = await library.create({ userId: "mallory" });
        const response = await login("carol", {}, { headers: { cookie: `session=${planted.token}` } });
        assert.equal(response.status, 200);
        assert.equal((await me({ cookie: planted.token })).status, 401);
        assert.equal((await me({ cookie: tokenOf(response)! })).status, 200);
    });

    it("logs out: the cookie is cleared and the next request with the old one is 401", async () => {
        const token = tokenOf(await login("dan"))!;
        const response = await fetch(`${gateway.url}/auth/logout`, { method: "POST", headers: { cookie: `session=${token}` } });
        assert.equal(response.status, 200);
        assert.equal(cookieOf(response), "session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
        assert.equal((await me({ cookie: token })).status, 401);
    });

    it("logs out everywhere: every session of the user ends, and no other user's", async () => {
        const phones = [tokenOf(await login("eve"))!, tokenOf(await login("eve"))!, tokenOf(await login("eve"))!];
        const bystander = tokenOf(await login("frank"))!;
        const response = await fetch(`${gateway.url}/auth/logout/all`, { method: "POST", headers: { cookie: `session=${phones[0]}` } });
        assert.equal(response.status, 200);
        for (const token of phones) assert.equal((await me({ cookie: token })).status, 401);
        assert.deepEqual(await storedFor("eve"), []);
        assert.equal((await me({ cookie: bystander })).status, 200);
    });

    it("strips, ignores and logs an instruction from a route that does not issue sessions", async () => {
        const response = await login("root", { permissions: ["admin"] }, {}, "/products");
        assert.equal(response.status, 200);
        assert.equal(cookieOf(response), undefined);
        assert.equal(response.headers.get("x-gateway-session"), null);
        assert.deepEqual(await storedFor("root"), []);
        assert.deepEqual(
            warnings().map((entry) => [entry.route, entry.message]),
            [["products", "x-gateway-session ignored: the route does not issue sessions"]],
        );
    });

    for (const [title, instruction] of [
        ["is not JSON", '{"userId": "gus"'],
        ["has no userId", JSON.stringify({ username: "gus" })],
        ["asks for ten years, above tollgate:sessions.maxTtlSeconds", JSON.stringify({ userId: "gus", ttlSeconds: 10 * 365 * 86_400 })],
        ["has a role with a comma", JSON.stringify({ userId: "gus", roles: ["staff,admin"] })],
    ]) {
        it(`answers 502 problem+json and creates nothing when the instruction ${title}`, async () => {
            const response = await fetch(`${gateway.url}/raw/answer`, { method: "POST", headers: answerWith({ "x-gateway-session": instruction }) });
            assert.equal(response.status, 502);
            assert.equal(response.headers.get("content-type"), "application/problem+json");
            assert.equal(cookieOf(response), undefined);
            assert.deepEqual(await storedFor("gus"), []);
            assert.equal(warnings().length, 1);
        });
    }

    it("passes the login upstream's roles on, and refuses one with a comma it passes on", async () => {
        const good = await login("hana", { roles: ["staff"], permissions: ["orders:read"], ttlSeconds: 600 });
        assert.match(cookieOf(good) ?? "", /Max-Age=600$/);
        const echo = (await (await me({ cookie: tokenOf(good)! })).json()) as EchoReport;
        assert.deepEqual([echo.headers["x-gateway-roles"], echo.headers["x-gateway-permissions"]], ["staff", "orders:read"]);
        assert.equal((await login("hana", { roles: ["staff,admin"] })).status, 502);
    });

    it("lists the caller's own sessions and no one else's, and cannot revoke another user's (404)", async () => {
        const mine = [tokenOf(await login("ivan"))!, tokenOf(await login("ivan"))!];
        const theirs = tokenOf(await login("judy"))!;
        const list = await fetch(`${gateway.url}/.well-known/sessions`, { headers: { cookie: `session=${mine[0]}` } });
        assert.equal(list.status, 200);
        const body = (await list.json()) as { sessions: { id: string; current: boolean }[] };
        assert.deepEqual(body.sessions.map((entry) => entry.id).sort(), mine.map(sessionIdOf).sort());
        assert.deepEqual(body.sessions.filter((entry) => entry.current).map((entry) => entry.id), [sessionIdOf(mine[0])]);
        const stolen = await fetch(`${gateway.url}/.well-known/sessions/${sessionIdOf(theirs)}`, { method: "DELETE", headers: { cookie: `session=${mine[0]}` } });
        assert.equal(stolen.status, 404);
        assert.equal((await me({ cookie: theirs })).status, 200);
        const otherDevice = await fetch(`${gateway.url}/.well-known/sessions/${sessionIdOf(mine[1])}`, { method: "DELETE", headers: { cookie: `session=${mine[0]}` } });
        assert.equal(otherDevice.status, 204);
        assert.equal((await me({ cookie: mine[1] })).status, 401);
    });

    it("renews a session due for renewal with one write under 50 parallel requests, and refreshes the cookie", async () => {
        // given a session issued 50 minutes ago with an hour to live: inside the 15-minute window
        const issuedAt = Date.now() - 50 * 60_000;
        const { token, session } = await createSessions({ dynamo: storeClient, tableName: gateway.tables.sessions, now: () => issuedAt }).create({
            userId: "kate",
            ttlSeconds: 3600,
        });
        counting.reset();
        // when
        const sentAt = Date.now() / 1000;
        const responses = await Promise.all(Array.from({ length: 50 }, () => me({ cookie: token })));
        const answeredAt = Date.now() / 1000;
        // then
        assert.ok(responses.every((response) => response.status === 200));
        assert.equal(counting.on(gateway.tables.sessions).UpdateItem, 1);
        assert.equal((await library.get(token))?.expiresAt, session.expiresAt + 3600);
        const refreshed = responses.map(cookieOf).filter((cookie) => cookie !== undefined);
        assert.ok(refreshed.length >= 1);
        const renewedTo = session.expiresAt + 3600;
        for (const cookie of refreshed) {
            const maxAge = Number(/Max-Age=(\d+)$/.exec(cookie!)![1]);
            assert.ok(maxAge >= Math.floor(renewedTo - answeredAt) - 1 && maxAge <= Math.ceil(renewedTo - sentAt), `${cookie}: Max-Age should be what is left of the renewed session`);
        }
    });
});
