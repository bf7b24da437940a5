/**
 * A reason for every refusal: each code of specs/reasons.ts is what the
 * handler logs for a request that meets it, with the code's status, and a
 * refused credential carries the code's RFC 6750 challenge and nothing of the
 * request. docs/request-handling.md's table of reasons is the same table.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { createHandler, type Handler, type HandlerDeps } from "../runtime/handler";
import { createSessions, newSessionToken, sessionIdOf, type Sessions } from "../runtime/sessions";
import type { RuntimeSettings } from "../runtime/settings";
import { bearerChallenge, reasons, type Reason, type ReasonSpec } from "../specs/reasons";
import { defaultSessionSettings, sessionCookieName } from "../specs/sessions";
import { listenOnLoopback, freePort } from "./support/loopback";
import { answerWith, event, jwtPolicy, route, runtimeSettings, useHandlerSuite, type EventOptions } from "./support/runtime";

const projectDir = path.resolve(__dirname, "..");
const hsSecret = "a-test-secret-of-at-least-thirty-two-characters";
const issuer = "https://issuer.example.com";
const audience = "tollgate-tests";
const cookieName = sessionCookieName(defaultSessionSettings().cookie);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("the table of reasons", function () {
    it("is the table docs/request-handling.md lists: every code, its status, its meaning, in order", () => {
        // given the docs' table, row by row
        const docs = fs.readFileSync(path.join(projectDir, "docs", "request-handling.md"), "utf8");
        const section = docs.slice(docs.indexOf("## Why the gateway answered itself"));
        const rows = [...section.matchAll(/^\| `([a-z_.]+)` \| (\d{3}) \| (.+) \|$/gm)].map(([, code, status, meaning]) => [code, Number(status), meaning]);
        // then it is the const table, with `npm start`'s own answers marked as such
        const expected = (Object.entries(reasons) as [Reason, ReasonSpec][]).map(([code, spec]) => [code, spec.status, spec.where ? `${spec.meaning} (\`npm start\` only)` : spec.meaning]);
        assert.deepEqual(rows, expected);
    });

    it("gives every refused credential a challenge of fixed printable ASCII, which RFC 6750 allows in error_description", () => {
        for (const code of Object.keys(reasons) as Reason[]) {
            const challenge = bearerChallenge(code);
            if (challenge === undefined) continue;
            assert.match(challenge, /^Bearer( error="(invalid_request|invalid_token|insufficient_scope)", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]+")?$/, code);
        }
        assert.equal(bearerChallenge("credential.missing"), "Bearer", "no error code when the client sent no credential");
        assert.equal(bearerChallenge("route.none"), undefined);
    });

    it("tells a session token's holder nothing of why it failed: one description for every session refusal", () => {
        const descriptions = new Set(["session.malformed", "session.unknown", "session.expired", "session.identity"].map((code) => bearerChallenge(code as Reason)));
        assert.equal(descriptions.size, 1);
    });
});

describe("a reason for every refusal, through the handler", function () {
    const suite = useHandlerSuite("dynalite");
    const lines: Record<string, any>[] = [];
    const seen = new Map<Reason, { status: number; challenge?: string }>();
    let sessions: Sessions;
    let documents: DynamoDBDocumentClient;
    let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
    let extra: { url: string; close(): Promise<void> }[] = [];
    let requestCounter = 0;

    before(async () => {
        rsa = await generateKeyPair("RS256", { extractable: true });
    });
    beforeEach(() => {
        sessions = createSessions({ dynamo: suite.dynamo.client, tableName: suite.tables.sessions, now: suite.clock.now });
        documents = DynamoDBDocumentClient.from(suite.dynamo.client);
    });
    afterEach(async () => {
        for (const server of extra) await server.close();
        extra = [];
    });
    after(() => {
        // every code the handler can give was met by one of the tests below
        const handlerCodes = (Object.entries(reasons) as [Reason, ReasonSpec][]).filter(([, spec]) => !spec.where).map(([code]) => code);
        assert.deepEqual(handlerCodes.filter((code) => !seen.has(code)), [], "reasons no test met");
    });

    /** An upstream whose answer says it is over the 4.5 MB limit. */
    async function hugeUpstream() {
        const server = http.createServer((_request, response) => {
            response.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(6_000_000) });
            response.end();
        });
        const listening = await listenOnLoopback(server);
        extra.push(listening);
        return listening.url;
    }

    async function jwksServer() {
        const jwk = { ...(await exportJWK(rsa.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
        const server = http.createServer((_request, response) => {
            response.writeHead(200, { "content-type": "application/json" });
            response.end(JSON.stringify({ keys: [jwk] }));
        });
        const listening = await listenOnLoopback(server);
        extra.push(listening);
        return `${listening.url}/jwks.json`;
    }

    const limit = (limit: number, extra: object = {}) => ({ by: "ip" as const, limit, windowSeconds: 60, algorithm: "fixed" as const, ...extra });

    async function gateway(overrides: Partial<RuntimeSettings> = {}, deps: Partial<HandlerDeps> = {}): Promise<Handler> {
        const upstream = suite.upstream.url;
        const routes = [
            route({ name: "open", pathPrefix: "/open", upstream }),
            route({ name: "once", pathPrefix: "/once", upstream, rateLimit: limit(1) }),
            route({ name: "shared", pathPrefix: "/shared", upstream, rateLimit: limit(1, { bucket: "forms" }) }),
            route({ name: "defaulted", pathPrefix: "/defaulted", upstream }),
            route({ name: "users", pathPrefix: "/users", upstream, auth: "session", rateLimit: limit(50) }),
            route({ name: "guarded", pathPrefix: "/guarded", upstream, auth: "session", rateLimit: limit(1) }),
            route({ name: "orders", pathPrefix: "/orders", upstream, auth: "session", permissions: ["orders:read"], rateLimit: limit(50) }),
            route({ name: "admin", pathPrefix: "/admin", upstream, auth: "jwt", rateLimit: limit(50) }),
            route({ name: "auth", pathPrefix: "/auth", upstream, sessions: { issue: true, revoke: false, returnToken: false }, rateLimit: limit(50) }),
            route({ name: "logout", pathPrefix: "/auth/logout", upstream, auth: "session", sessions: { issue: false, revoke: true, returnToken: false }, rateLimit: limit(50) }),
            route({ name: "down", pathPrefix: "/down", upstream: `http://127.0.0.1:${await freePort()}`, rateLimit: limit(50) }),
            route({ name: "huge", pathPrefix: "/huge", upstream: await hugeUpstream(), rateLimit: limit(50) }),
        ];
        const settings = runtimeSettings(suite.tables, suite.dynamo, {
            routes,
            defaultRateLimit: limit(1),
            jwtSecret: { value: hsSecret },
            jwt: { ...jwtPolicy, issuer, audience, jwksUrl: await jwksServer() },
            upstreamTimeoutMs: 300,
            ...overrides,
        });
        return createHandler(settings, { now: suite.clock.now, dynamo: suite.counting.client, log: (line) => lines.push(JSON.parse(line)), ...deps });
    }

    /** Sends one request from an address of its own (so no counter is shared by accident); its answer and its log line. */
    async function send(handler: Handler, options: EventOptions) {
        const requestId = `reason-${++requestCounter}`;
        const result = (await handler(event({ sourceIp: `198.51.100.${requestCounter % 250}`, requestId, ...options }))) as APIGatewayProxyStructuredResultV2;
        const line = lines.find((entry) => entry.correlation_id === requestId && entry.status !== undefined);
        assert.ok(line, `a log line for ${requestId}`);
        return { result, line };
    }

    /** Sends the request and checks that it was refused for `reason`: the status of the code, the code in the line, the challenge, no upstream call. */
    async function expectReason(reason: Reason, handler: Handler, options: EventOptions, repeat = 1) {
        let answer!: Awaited<ReturnType<typeof send>>;
        for (let i = 0; i < repeat; i++) answer = await send(handler, options);
        const { result, line } = answer;
        assert.equal(line.reason, reason, `reason of ${options.method ?? "GET"} ${options.path}`);
        assert.equal(result.statusCode, reasons[reason].status, reason);
        assert.equal(line.status, reasons[reason].status);
        assert.equal(result.headers?.["www-authenticate"], bearerChallenge(reason), `WWW-Authenticate for ${reason}`);
        if (reasons[reason].status !== 500) assert.match(String(result.headers?.["content-type"]), /^application\/problem\+json/);
        seen.set(reason, { status: result.statusCode!, challenge: result.headers?.["www-authenticate"] as string | undefined });
        return result;
    }

    const hs256 = (claims: Record<string, unknown>, options: { secret?: string; header?: Record<string, unknown>; issuedAt?: number; expiresIn?: number } = {}) => {
        const issuedAt = options.issuedAt ?? suite.clock.seconds;
        let token = new SignJWT({ sub: "carol", iss: issuer, aud: audience, iat: issuedAt, exp: issuedAt + (options.expiresIn ?? 300), ...claims }).setProtectedHeader({ alg: "HS256", ...options.header });
        return token.sign(new TextEncoder().encode(options.secret ?? hsSecret));
    };
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    it("says why a request or its path is refused (400), and that no route matches (404)", async () => {
        const handler = await gateway();
        const malformed = { ...event({ path: "/open/x" }), requestContext: { requestId: "reason-malformed" } } as never;
        const result = await handler(malformed);
        assert.equal(result.statusCode, 400);
        // an event that cannot be read has no request id of its own: the line has the one the answer carries
        assert.equal(lines.find((line) => line.correlation_id === result.headers!["x-request-id"])?.reason, "request.malformed");
        seen.set("request.malformed", { status: 400 });

        await expectReason("path.invalid", handler, { path: "/open/a\nb" });
        await expectReason("path.dot_segment", handler, { path: "/open/%2e%2e;/admin" });
        await expectReason("path.hidden_separator", handler, { path: "/open/a%2Fb" });
        await expectReason("path.empty_once_read", handler, { path: "/open/;x/y" });
        await expectReason("path.ambiguous_route", handler, { path: "/auth/logout;x", method: "POST" });
        await expectReason("path.unsendable", handler, { path: "/open/x", query: "q=\udc00" });
        await expectReason("header.unsendable", handler, { path: "/open/x", headers: { "x-bad name": "1" } });
        await expectReason("route.none", handler, { path: "/nowhere" });
        await expectReason("method.not_allowed", handler, { path: "/health/live", method: "POST" });
        await expectReason("method.not_allowed", handler, { path: "/.well-known/sessions", method: "PUT" });
        assert.equal(suite.upstream.requests.length, 0, "no upstream was called");
    });

    it("says which credential check failed: missing, repeated, too long, and each way a session token fails, with one description for all of those", async () => {
        const handler = await gateway();
        await expectReason("credential.missing", handler, { path: "/users/me" });
        await expectReason("credential.multiple", handler, { path: "/users/me", headers: { authorization: "Bearer a,Bearer b" } });
        await expectReason("credential.too_long", handler, { path: "/users/me", headers: bearer("a".repeat(9000)) });
        await expectReason("session.cookie_repeated", handler, { path: "/users/me", cookies: [`${cookieName}=a`, `${cookieName}=b`] });
        await expectReason("session.malformed", handler, { path: "/users/me", headers: bearer("not-a-token") });
        await expectReason("session.unknown", handler, { path: "/users/me", headers: bearer(newSessionToken()) });

        const revoked = await sessions.create({ userId: "u-revoked" });
        await sessions.revoke(revoked.token);
        await expectReason("session.unknown", handler, { path: "/users/me", headers: bearer(revoked.token) });

        const expiring = await sessions.create({ userId: "u-expiring", ttlSeconds: 60 });
        suite.clock.advance(61_000);
        await expectReason("session.expired", handler, { path: "/users/me", headers: bearer(expiring.token) });

        // written by hand, not by the session library: a role a CSV parser would split
        const odd = newSessionToken();
        await documents.send(
            new PutCommand({
                TableName: suite.tables.sessions,
                Item: { session_id: sessionIdOf(odd), user_id: "u-odd", roles: ["a,b"], permissions: [], created_at: suite.clock.seconds, expires_at: suite.clock.seconds + 600 },
            }),
        );
        await expectReason("session.identity", handler, { path: "/users/me", headers: bearer(odd) });

        const { token } = await sessions.create({ userId: "u-plain" });
        await expectReason("permission.missing", handler, { path: "/orders/1", headers: bearer(token) });
        await expectReason("csrf.origin", handler, { path: "/users/me", method: "POST", cookies: [`${cookieName}=${token}`], headers: { origin: "https://evil.example" } });
        await expectReason("self_service.unknown_session", handler, { path: `/.well-known/sessions/${"0".repeat(64)}`, method: "DELETE", headers: bearer(token) });
        assert.equal(suite.upstream.requests.length, 0);
    });

    it("names the JWT check that failed, never a value of the token", async () => {
        const handler = await gateway();
        const now = suite.clock.seconds;
        const cases: [Reason, string][] = [
            ["jwt.malformed", "a.b.c"],
            ["jwt.algorithm", `${b64({ alg: "none" })}.${b64({ sub: "carol" })}.`],
            ["jwt.signature", await hs256({}, { secret: "another-secret-of-at-least-thirty-two-characters" })],
            ["jwt.expired", await hs256({}, { issuedAt: now - 600, expiresIn: 300 })],
            ["jwt.not_yet_valid", await hs256({ nbf: now + 60 })],
            ["jwt.issuer", await hs256({ iss: "https://elsewhere.example" })],
            ["jwt.audience", await hs256({ aud: "someone-else" })],
            ["jwt.claim_missing", await hs256({ sub: undefined })],
            ["jwt.claim_invalid", await hs256({ iat: "yesterday" })],
            ["jwt.type", await hs256({}, { header: { typ: "refresh+jwt" } })],
            ["jwt.lifetime", await hs256({}, { expiresIn: 2 * 86_400 })],
            ["jwt.iat_future", await hs256({}, { issuedAt: now + 3600, expiresIn: 60 })],
            ["jwt.identity", await hs256({ roles: ["a,b"] })],
            ["jwt.key_unknown", await new SignJWT({ sub: "carol", iss: issuer, aud: audience, iat: now, exp: now + 60 }).setProtectedHeader({ alg: "RS256", kid: "k2" }).sign(rsa.privateKey)],
        ];
        for (const [reason, token] of cases) {
            const result = await expectReason(reason, handler, { path: "/admin/x", headers: bearer(token) });
            const challenge = String(result.headers!["www-authenticate"]);
            for (const value of ["carol", issuer, audience, "elsewhere", "someone-else", "refresh", "k2", "yesterday"]) assert.ok(!challenge.includes(value), `${reason}: ${challenge}`);
        }
        const noSecret = await gateway({ jwtSecret: undefined });
        await expectReason("jwt.no_key", noSecret, { path: "/admin/x", headers: bearer(await hs256({})) });
        assert.equal(suite.upstream.requests.length, 0);
    });

    it("says which counter refused a request: the route's, a bucket's, the default's, or the failed credentials'", async () => {
        const handler = await gateway();
        await expectReason("ratelimit.route", handler, { path: "/once/x", sourceIp: "203.0.113.1" }, 2);
        await expectReason("ratelimit.bucket", handler, { path: "/shared/x", sourceIp: "203.0.113.2" }, 2);
        await expectReason("ratelimit.default", handler, { path: "/defaulted/x", sourceIp: "203.0.113.3" }, 2);
        const result = await expectReason("ratelimit.auth_failed", handler, { path: "/guarded/x", sourceIp: "203.0.113.4", headers: bearer(newSessionToken()) }, 2);
        assert.equal(result.headers!["www-authenticate"], undefined, "a 429 is not about the credential");
    });

    it("says what failed behind the gateway: the upstream, its session instruction, the tables, the secrets, the keys", async () => {
        const handler = await gateway();
        await expectReason("upstream.refused", handler, { path: "/down/x" });
        await expectReason("upstream.too_large", handler, { path: "/huge/x" });
        await expectReason("upstream.timeout", handler, { path: "/open/slow" });
        await expectReason("session.instruction", handler, { path: "/auth/answer", method: "POST", headers: answerWith({ "x-gateway-session": "not json" }) });

        // a DynamoDB nobody answers on, failing closed
        const storeDown = { dynamoEndpoint: `http://127.0.0.1:${await freePort()}`, rateLimitFailureMode: "closed" as const, storeRequestTimeoutMs: 200 };
        const broken = await gateway(storeDown, { dynamo: undefined });
        await expectReason("ratelimit.unavailable", broken, { path: "/open/x" });
        await expectReason("session.unavailable", broken, { path: "/users/me", headers: bearer(newSessionToken()) });
        await expectReason("health.not_ready", broken, { path: "/health/ready" });

        const secretDown = await gateway({ jwtSecret: { secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt" } }, { loadSecret: () => Promise.reject(new Error("unreachable")) });
        await expectReason("jwt.unavailable", secretDown, { path: "/admin/x", headers: bearer(await hs256({})) });

        const keysDown = await gateway({ gatewayKeys: { secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keys" } }, { loadSecret: () => Promise.reject(new Error("unreachable")) });
        await expectReason("keys.unavailable", keysDown, { path: "/.well-known/jwks.json" });

        const throwing = await gateway({}, { upstream: { send: () => Promise.reject(new Error("a bug")) } });
        await expectReason("internal.error", throwing, { path: "/open/x" });
    });
});
