/**
 * Timeouts that hold: a DynamoDB or Secrets Manager that accepts the
 * connection and then never answers, or answers too late, costs a request at
 * most the stores' give-up time (runtime/stores/dynamo.ts), after which the
 * limiter fails open or closed as configured, and authentication (a JWT's
 * HS256 secret, a session) or the identity assertion (the gateway's keys)
 * answers 503.
 * Without `throwOnRequestTimeout` the SDK would only log a warning and wait.
 */
import { strict as assert } from "node:assert";
import { GetItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { SignJWT } from "jose";
import { createHandler, type Handler } from "../runtime/handler";
import { createSessions } from "../runtime/sessions";
import type { RuntimeSettings } from "../runtime/settings";
import { secretsManagerLoader } from "../runtime/auth/secret";
import { storeGiveUpMs, storeTimeouts, storeUserAgent } from "../runtime/stores/dynamo";
import { createDynamoClient } from "../runtime/stores/sdkClient";
import { startEmptyDynamo, startSilentServer, type SilentServer } from "./support/loopback";
import { startDynamoProxy, type DynamoProxy } from "./support/dynamoProxy";
import { answerWith, bodyOf, Clock, event, freshTables, jwtPolicy, route, runtimeSettings, useDynamoAndUpstream } from "./support/runtime";

/** Room for this machine's scheduling on top of the give-up time. */
const marginMs = 750;

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; elapsedMs: number }> {
    const started = Date.now();
    const result = await work();
    return { result, elapsedMs: Date.now() - started };
}

/** The answer, or a failure naming the wait once `deadlineMs` passes: a hang fails the test in seconds, not at mocha's timeout. */
async function answeredWithin<T>(answer: Promise<T>, deadlineMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
    });
    try {
        return await Promise.race([answer, hung]);
    } finally {
        clearTimeout(timer);
    }
}

describe("timeouts that hold", function () {
    this.timeout(60_000);
    const servers = useDynamoAndUpstream("dynalite");
    let tables: { rateLimits: string; sessions: string };
    let token: string;
    /** The DynamoDB proxy a test put in front of the store, if any; closed after each test. */
    let proxy: DynamoProxy | undefined;
    afterEach(async () => {
        await proxy?.close();
        proxy = undefined;
    });
    const clock = new Clock();

    before(async () => {
        tables = await freshTables(servers.dynamo);
        ({ token } = await createSessions({ dynamo: servers.dynamo.client, tableName: tables.sessions, now: clock.now }).create({ userId: "u-timeout" }));
    });

    const gatewayAt = (dynamoEndpoint: string, overrides: Partial<RuntimeSettings> = {}): Handler =>
        createHandler(
            runtimeSettings(tables, servers.dynamo, {
                routes: [
                    route({ name: "open", pathPrefix: "/open", upstream: servers.upstream.url, rateLimit: { by: "ip", limit: 100, windowSeconds: 60, algorithm: "fixed" } }),
                    route({ name: "users", pathPrefix: "/users", upstream: servers.upstream.url, auth: "session" }),
                ],
                dynamoEndpoint,
                ...overrides,
            }),
            { now: clock.now, log: () => undefined },
        );

    describe("given a DynamoDB that accepts connections and never answers", () => {
        let silent: SilentServer;
        before(async () => {
            silent = await startSilentServer();
        });
        after(async () => silent?.close());

        it("fails the limiter open within the give-up time, and answers 503 for authentication and readiness", async () => {
            // given a handler whose DynamoDB endpoint is the silent server
            const handler = gatewayAt(silent.url);
            // when an anonymous request, a session request and a readiness check arrive together
            const [open, session, ready] = await Promise.all([
                timed(() => handler(event({ path: "/open/items" }))),
                timed(() => handler(event({ path: "/users/me", headers: { authorization: `Bearer ${token}` } }))),
                timed(() => handler(event({ path: "/health/ready" }))),
            ]);
            // then each gets its configured answer, none later than the give-up time (plus the margin)
            assert.equal(open.result.statusCode, 200, "fail open");
            assert.equal(session.result.statusCode, 503);
            assert.equal(ready.result.statusCode, 503);
            for (const answer of [open, session, ready]) assert.ok(answer.elapsedMs <= storeGiveUpMs + marginMs, `answered after ${answer.elapsedMs} ms (give-up ${storeGiveUpMs} ms)`);
            // and it waited for the timeouts rather than failing at once
            assert.ok(open.elapsedMs >= storeTimeouts.requestMs, `failed open after ${open.elapsedMs} ms, before one request timeout`);
            assert.ok(silent.connections() > 0, "the store was reached");
        });

        it("refuses with 503 within the give-up time when the limiter fails closed", async () => {
            const handler = gatewayAt(silent.url, { rateLimitFailureMode: "closed" });
            const refused = await timed(() => handler(event({ path: "/open/items" })));
            assert.equal(refused.result.statusCode, 503);
            assert.ok(refused.elapsedMs <= storeGiveUpMs + marginMs, `answered after ${refused.elapsedMs} ms`);
        });
    });

    describe("given a DynamoDB that answers late", () => {
        it("gives up on answers slower than the request timeout", async () => {
            // given every answer held back 3 s, three times the request timeout
            proxy = await startDynamoProxy(servers.dynamo.endpoint, () => ({ kind: "forward", delayMs: 3 * storeTimeouts.requestMs }));
            const handler = gatewayAt(proxy.endpoint);
            // when
            const [open, session] = await Promise.all([
                timed(() => handler(event({ path: "/open/items" }))),
                timed(() => handler(event({ path: "/users/me", headers: { authorization: `Bearer ${token}` } }))),
            ]);
            // then
            assert.equal(open.result.statusCode, 200, "fail open");
            assert.equal(session.result.statusCode, 503);
            for (const answer of [open, session]) assert.ok(answer.elapsedMs <= storeGiveUpMs + marginMs, `answered after ${answer.elapsedMs} ms`);
        });

        it("waits for answers that come within the request timeout", async () => {
            // given every answer held back a quarter of the request timeout
            proxy = await startDynamoProxy(servers.dynamo.endpoint, () => ({ kind: "forward", delayMs: storeTimeouts.requestMs / 4 }));
            const handler = gatewayAt(proxy.endpoint, { rateLimitFailureMode: "closed" });
            // when
            const [open, session] = await Promise.all([handler(event({ path: "/open/items" })), handler(event({ path: "/users/me", headers: { authorization: `Bearer ${token}` } }))]);
            // then both were decided by DynamoDB
            assert.equal(open.statusCode, 200);
            assert.match(String(open.headers!.ratelimit), /^"open";r=\d+;t=\d+$/);
            assert.equal(session.statusCode, 200);
        });
    });

    describe("given a limiter write that lands but whose answer comes after the request timeout", () => {
        /** `request_count` of every counter of the rate-limits table whose key holds `ip`. */
        const countsFor = async (ip: string): Promise<Record<string, number>> => {
            const { Items = [] } = await servers.dynamo.client.send(new ScanCommand({ TableName: tables.rateLimits, ConsistentRead: true }));
            const mine = Items.filter((item) => item.limiter_key.S!.includes(ip));
            return Object.fromEntries(mine.map((item) => [item.limiter_key.S!.split(":route:")[1], Number(item.request_count.N)]));
        };

        it("retries it once, so the request is counted twice, or refused when its first write took the last place", async () => {
            // given a DynamoDB that applies each key's first UpdateItem at once and answers it only after the request timeout
            const seen = new Set<string>();
            proxy = await startDynamoProxy(servers.dynamo.endpoint, ({ operation, body }) => {
                if (operation !== "UpdateItem") return undefined;
                const key = String(body.Key.limiter_key.S);
                if (seen.has(key)) return undefined;
                seen.add(key);
                return { kind: "forward", answerDelayMs: 1.5 * storeTimeouts.requestMs };
            });
            const limited = (name: string, limit: number) => route({ name, pathPrefix: `/${name}`, upstream: servers.upstream.url, rateLimit: { by: "ip", limit, windowSeconds: 60, algorithm: "fixed" } });
            const handler = gatewayAt(proxy.endpoint, { routes: [limited("roomy", 10), limited("last", 1)] });
            const ip = "203.0.113.77";
            // when one request arrives on a route with room, and one on a route with a single place
            const [roomy, last] = await Promise.all([handler(event({ path: "/roomy/x", sourceIp: ip })), handler(event({ path: "/last/x", sourceIp: ip }))]);
            // then the SDK's retry (maxAttempts 2) wrote again: the first is admitted and counted twice, the second refused by its own first write
            assert.equal(storeTimeouts.maxAttempts, 2);
            assert.equal(roomy.statusCode, 200);
            assert.equal(last.statusCode, 429);
            assert.deepEqual(await countsFor(ip), { roomy: 2, last: 1 });
        });
    });

    describe("given a session write that lands but whose answer comes after the request timeout", () => {
        it("issues the session once: the SDK's retry meets the item its first attempt wrote, and the login succeeds", async () => {
            // given a DynamoDB that applies the first PutItem at once and answers it only after the request timeout
            let puts = 0;
            proxy = await startDynamoProxy(servers.dynamo.endpoint, ({ operation }) =>
                operation === "PutItem" && ++puts === 1 ? { kind: "forward", answerDelayMs: 1.5 * storeTimeouts.requestMs } : undefined,
            );
            const login = route({ name: "login", pathPrefix: "/login", upstream: servers.upstream.url, sessions: { issue: true, returnToken: true, revoke: false } });
            const handler = gatewayAt(proxy.endpoint, { routes: [login, route({ name: "users", pathPrefix: "/users", upstream: servers.upstream.url, auth: "session" })] });
            // when a user logs in
            const result = await handler(event({ method: "POST", path: "/login/answer", headers: answerWith({ "x-gateway-session": JSON.stringify({ userId: "late-put" }) }) }));
            // then the login is answered with its token after two PutItem attempts, and the token works
            assert.equal(puts, 2, "the SDK sent the put again");
            assert.equal(result.statusCode, 200, String(result.body));
            const token = result.headers!["x-gateway-session-token"] as string;
            assert.equal((await handler(event({ path: "/users/me", headers: { authorization: `Bearer ${token}` } }))).statusCode, 200);
        });
    });

    it("sends the same short User-Agent on every call instead of one the SDK builds per call", async () => {
        // given a DynamoDB stand-in that records the headers it is sent
        const agents: (string | undefined)[] = [];
        const { url, close } = await startEmptyDynamo((headers) => agents.push(headers["user-agent"]));
        const client = createDynamoClient({ region: "eu-west-1", endpoint: url });
        try {
            // when the store's client sends two calls
            for (let i = 0; i < 2; i++) await client.send(new GetItemCommand({ TableName: "t", Key: { k: { S: String(i) } } }));
            // then both carry the fixed User-Agent
            assert.deepEqual(agents, [storeUserAgent, storeUserAgent]);
        } finally {
            client.destroy();
            await close();
        }
    });

    describe("given a Secrets Manager that accepts connections and never answers", () => {
        const variables = ["AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] as const;
        let saved: Record<string, string | undefined>;
        let silent: SilentServer;
        before(async () => {
            silent = await startSilentServer();
            saved = Object.fromEntries(variables.map((name) => [name, process.env[name]]));
            Object.assign(process.env, { AWS_ENDPOINT_URL_SECRETS_MANAGER: silent.url, AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
        });
        after(async () => {
            for (const name of variables) {
                if (saved[name] === undefined) delete process.env[name];
                else process.env[name] = saved[name];
            }
            await silent?.close();
        });

        it("gives up on the secret within the give-up time", async () => {
            // given the loader the Lambda uses
            const load = secretsManagerLoader("eu-west-1");
            // when the secret is read
            const started = Date.now();
            const failure = await load("arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt").then(
                () => assert.fail("the read succeeded"),
                (error: Error) => error,
            );
            const elapsedMs = Date.now() - started;
            // then it fails with a timeout, in time
            assert.equal(failure.name, "TimeoutError", String(failure));
            assert.ok(elapsedMs <= storeGiveUpMs + marginMs, `gave up after ${elapsedMs} ms`);
            assert.ok(silent.connections() > 0, "Secrets Manager was reached");
        });

        /** Twice the give-up time: an answer not back by then is a hang. */
        const hangAfterMs = 2 * storeGiveUpMs;

        /** Each answer is the 503 problem a client can retry, and none came later than the give-up time. */
        const assertUnavailableInTime = (answers: { result: Awaited<ReturnType<Handler>>; elapsedMs: number }[], detail: string) => {
            for (const { result, elapsedMs } of answers) {
                assert.equal(result.statusCode, 503, String(result.body));
                assert.equal(result.headers!["content-type"], "application/problem+json");
                assert.equal(result.headers!["retry-after"], "1");
                assert.deepEqual(bodyOf(result), { type: "about:blank", title: "Service Unavailable", status: 503, detail });
                assert.ok(elapsedMs <= storeGiveUpMs + marginMs, `answered after ${elapsedMs} ms (give-up ${storeGiveUpMs} ms)`);
            }
        };

        it("answers a JWT request 503 within the give-up time while the HS256 secret cannot be read", async () => {
            // given a JWT route whose HS256 secret is in the silent Secrets Manager, read by the loader the Lambda uses
            const issuer = "https://issuer.example.com";
            const audience = "tollgate-timeouts";
            const handler = gatewayAt(servers.dynamo.endpoint, {
                routes: [route({ name: "admin", pathPrefix: "/admin", upstream: servers.upstream.url, auth: "jwt" })],
                jwtSecret: { secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tollgate-jwt" },
                jwt: { ...jwtPolicy, issuer, audience },
            });
            const token = await new SignJWT({})
                .setProtectedHeader({ alg: "HS256", typ: "JWT" })
                .setSubject("u-jwt")
                .setIssuer(issuer)
                .setAudience(audience)
                .setIssuedAt(clock.seconds)
                .setExpirationTime(clock.seconds + 300)
                .sign(new TextEncoder().encode("a secret the gateway cannot read right now"));
            const reachedBefore = silent.connections();
            // when a request carrying an HS256 JWT arrives
            const answer = await timed(() => answeredWithin(handler(event({ path: "/admin/x", headers: { authorization: `Bearer ${token}` } })), hangAfterMs));
            // then authentication is unavailable (not a 500, not a wait for the Lambda's timeout), and nothing went upstream
            assertUnavailableInTime([answer], "Authentication is temporarily unavailable.");
            assert.ok(silent.connections() > reachedBefore, "the secret was asked of Secrets Manager");
            assert.equal(servers.upstream.requests.length, 0);
        });

        it("answers 503 within the give-up time, to a request and to the JWKS, while the gateway's keys cannot be read", async () => {
            // given a handler whose signing keys are in the silent Secrets Manager (it starts reading them as it is made)
            const reachedBefore = silent.connections();
            const handler = gatewayAt(servers.dynamo.endpoint, { gatewayKeys: { secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tollgate-gateway-keys" } });
            // when an admitted request that needs an assertion, and a JWKS request, arrive
            const [forwarded, jwks] = await Promise.all([
                timed(() => answeredWithin(handler(event({ path: "/open/items" })), hangAfterMs)),
                timed(() => answeredWithin(handler(event({ path: "/.well-known/jwks.json" })), hangAfterMs)),
            ]);
            // then neither waits past the give-up time, and the request is refused rather than forwarded unvouched
            assertUnavailableInTime([forwarded], "The gateway cannot vouch for the caller right now.");
            assertUnavailableInTime([jwks], "The gateway's keys are temporarily unavailable.");
            assert.ok(silent.connections() > reachedBefore, "the keys were asked of Secrets Manager");
            assert.equal(servers.upstream.requests.length, 0);
        });
    });
});
