import { strict as assert } from "node:assert";
import * as http from "node:http";
import { GetCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { dynamoKinds } from "./support/dynamo";
import { listenOnLoopback } from "./support/loopback";
import { bodyOf, event, jwtPolicy, route, runtimeSettings, useHandlerSuite } from "./support/runtime";
import { createHandler, type HandlerDeps } from "../runtime/handler";
import { createSessions, newSessionToken, sessionIdOf, type Sessions } from "../runtime/sessions";
import type { RuntimeSettings } from "../runtime/settings";

const hsSecret = "a-test-secret-of-at-least-thirty-two-characters";
const issuer = "https://issuer.example.com";
const audience = "tollgate-tests";

async function startJwks(jwk: JWK): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
    let hits = 0;
    const server = http.createServer((_request, response) => {
        hits++;
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ keys: [jwk] }));
    });
    const { url, close } = await listenOnLoopback(server);
    return { url: `${url}/.well-known/jwks.json`, hits: () => hits, close };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

for (const kind of dynamoKinds) {
    describe(`authentication (${kind})`, function () {
        const suite = useHandlerSuite(kind);
        let jwks: Awaited<ReturnType<typeof startJwks>>;
        let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
        let sessions: Sessions;

        before(async () => {
            rsa = await generateKeyPair("RS256", { extractable: true });
            jwks = await startJwks({ ...(await exportJWK(rsa.publicKey)), kid: "k1", alg: "RS256", use: "sig" });
        });
        after(async () => {
            await jwks?.close();
        });
        beforeEach(() => {
            sessions = createSessions({ dynamo: suite.dynamo.client, tableName: suite.tables.sessions, now: suite.clock.now });
        });

        const routes = () => [
            route({ name: "users", pathPrefix: "/users", upstream: suite.upstream.url, auth: "session" }),
            route({ name: "mine", pathPrefix: "/mine", upstream: suite.upstream.url, auth: "session", rateLimit: { by: "user", limit: 100, windowSeconds: 60, algorithm: "fixed" } }),
            route({ name: "orders", pathPrefix: "/orders", upstream: suite.upstream.url, auth: "any", permissions: ["orders:read"], rateLimit: { by: "route", limit: 100, windowSeconds: 60, algorithm: "fixed" } }),
            route({ name: "admin", pathPrefix: "/admin", upstream: suite.upstream.url, auth: "jwt", permissions: ["admin"] }),
        ];
        const gateway = (overrides: Partial<RuntimeSettings> = {}, deps: Partial<HandlerDeps> = {}) =>
            createHandler(
                runtimeSettings(suite.tables, suite.dynamo, { routes: routes(), jwtSecret: { value: hsSecret }, jwt: { ...jwtPolicy, issuer, audience, jwksUrl: jwks.url }, ...overrides }),
                { now: suite.clock.now, dynamo: suite.counting.client, log: () => undefined, ...deps },
            );
        /** An HS256 token issued now (or at `issuedAt`, epoch seconds), expiring `expiresIn` seconds after its issue. */
        const hs256 = (claims: Record<string, unknown>, options: { secret?: string; expiresIn?: number; issuedAt?: number } = {}) => {
            const issuedAt = options.issuedAt ?? suite.clock.seconds;
            return new SignJWT({ permissions: ["admin"], ...claims })
                .setProtectedHeader({ alg: "HS256", typ: "JWT" })
                .setSubject("user-jwt")
                .setIssuer(issuer)
                .setAudience(audience)
                .setIssuedAt(issuedAt)
                .setExpirationTime(issuedAt + (options.expiresIn ?? 300))
                .sign(new TextEncoder().encode(options.secret ?? hsSecret));
        };
        const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

        describe("sessions", function () {
            it("admits a valid session and tells the upstream who the caller is, without the token", async () => {
                // given
                const { token } = await sessions.create({ userId: "u-1", roles: ["admin", "ops"], permissions: ["orders:read", "x"], ttlSeconds: 600 });
                // when
                const result = await gateway()(event({ path: "/users/me", headers: bearer(token), cookies: ["theme=dark", `__Host-session=${token}`] }));
                // then
                assert.equal(result.statusCode, 200);
                const seen = suite.upstream.requests[0];
                assert.equal(seen.headers["x-gateway-user-id"], "u-1");
                assert.equal(seen.headers["x-gateway-roles"], "admin,ops");
                assert.equal(seen.headers["x-gateway-permissions"], "orders:read,x");
                assert.equal(seen.headers.authorization, undefined);
                assert.equal(seen.headers.cookie, "theme=dark");
                assert.ok(!JSON.stringify(seen.headers).includes(token), "the token never reaches the upstream");
            });

            it("reads the token from the session cookie", async () => {
                const { token } = await sessions.create({ userId: "u-cookie" });
                const result = await gateway()(event({ path: "/users", cookies: [`__Host-session=${token}`] }));
                assert.equal(result.statusCode, 200);
                assert.equal(suite.upstream.requests[0].headers["x-gateway-user-id"], "u-cookie");
                assert.equal(suite.upstream.requests[0].headers.cookie, undefined);
            });

            it("refuses a request without a credential with 401 and no DynamoDB call", async () => {
                const result = await gateway()(event({ path: "/users" }));
                assert.equal(result.statusCode, 401);
                assert.equal(result.headers!["content-type"], "application/problem+json");
                assert.equal(result.headers!["www-authenticate"], "Bearer");
                assert.deepEqual(bodyOf(result), { type: "about:blank", title: "Unauthorized", status: 401, detail: "A valid credential is required." });
                assert.equal(suite.counting.total(), 0);
                assert.equal(suite.upstream.requests.length, 0);
            });

            it("refuses an unknown, a revoked and a malformed token with 401", async () => {
                const handler = gateway();
                const { token } = await sessions.create({ userId: "u-2" });
                assert.equal((await handler(event({ path: "/users", headers: bearer(token) }))).statusCode, 200);
                await sessions.revoke(token);
                assert.equal((await handler(event({ path: "/users", headers: bearer(token) }))).statusCode, 401);
                assert.equal((await handler(event({ path: "/users", headers: bearer("Z".repeat(43)) }))).statusCode, 401);
                suite.counting.reset();
                assert.equal((await handler(event({ path: "/users", headers: bearer("short") }))).statusCode, 401);
                assert.equal(suite.counting.counts.get("GetItemCommand"), undefined, "a token of the wrong shape is not looked up");
                assert.equal((await handler(event({ path: "/users", headers: bearer("x".repeat(1_000_000)) }))).statusCode, 401);
            });

            it("refuses a session whose expires_at has passed though the item is still stored", async () => {
                // given a session that expired one second ago, its item still in the table (no TTL here)
                const { token } = await sessions.create({ userId: "u-3", ttlSeconds: 60 });
                suite.clock.advance(61_000);
                // when
                const result = await gateway()(event({ path: "/users", headers: bearer(token) }));
                // then
                assert.equal(result.statusCode, 401);
                assert.ok(await createSessions({ dynamo: suite.dynamo.client, tableName: suite.tables.sessions, now: () => 0 }).get(token), "still stored");
            });

            it("refuses a stored session whose identity no header could carry (written by hand) with 401, and forwards nothing", async () => {
                // given sessions written straight into the table, past the session library's checks
                const stored = async (identity: { user_id: string; roles: string[]; permissions: string[] }) => {
                    const token = newSessionToken();
                    const item = { session_id: sessionIdOf(token), ...identity, created_at: suite.clock.seconds, expires_at: suite.clock.seconds + 600, ttl_seconds: 600 };
                    await suite.dynamo.doc.send(new PutCommand({ TableName: suite.tables.sessions, Item: item }));
                    return token;
                };
                const comma = await stored({ user_id: "u-comma", roles: ["member,admin"], permissions: [] });
                const newline = await stored({ user_id: "u-crlf", roles: [], permissions: ["read\r\nx-gateway-user-id: root"] });
                const controlInUserId = await stored({ user_id: "u-\u0000root", roles: [], permissions: [] });
                const wellFormed = await stored({ user_id: "u-by-hand", roles: ["member"], permissions: ["read"] });
                const handler = gateway();
                // when
                const status = async (token: string) => (await handler(event({ path: "/users", headers: bearer(token) }))).statusCode;
                const statuses = [await status(comma), await status(newline), await status(controlInUserId), await status(wellFormed)];
                // then only the well-formed one is admitted, and the upstream hears of it alone
                assert.deepEqual(statuses, [401, 401, 401, 200]);
                assert.deepEqual(suite.upstream.requests.map((request) => request.headers["x-gateway-user-id"]), ["u-by-hand"]);
            });

            it("refuses a caller lacking the route's permission with 403", async () => {
                const { token } = await sessions.create({ userId: "u-4", permissions: ["orders:write"] });
                const result = await gateway()(event({ path: "/orders", headers: bearer(token) }));
                assert.equal(result.statusCode, 403);
                assert.equal(JSON.parse(result.body!).title, "Forbidden");
                assert.equal(suite.upstream.requests.length, 0);
            });

            it("reads a token's session before counting it the first time a container sees it, then reads and counts in parallel: one round trip", async () => {
                // given an ip-keyed route and a container that has not seen the token
                const handler = gateway();
                const { token } = await sessions.create({ userId: "u-5" });
                suite.counting.reset();
                // when it comes twice
                await handler(event({ path: "/users", headers: bearer(token) }));
                const first = [...suite.counting.trace];
                suite.counting.reset();
                await handler(event({ path: "/users", headers: bearer(token) }));
                // then the first request is read, then counted (on the caller's key, as it proved valid), and the second sends both at once
                assert.deepEqual(first, ["+GetItem", "-GetItem", "+UpdateItem", "-UpdateItem"]);
                assert.deepEqual(suite.counting.trace.slice(0, 2).sort(), ["+GetItem", "+UpdateItem"], `both sent before either answered: ${suite.counting.trace}`);
                assert.equal(suite.counting.total(), 2);
            });

            it("keys a user-keyed limit on the user: sequential for a token's first request in a container, parallel after", async () => {
                // given
                const handler = gateway();
                const { token } = await sessions.create({ userId: "u-6" });
                suite.counting.reset();
                // when the container first sees the token
                const first = await handler(event({ path: "/mine", headers: bearer(token) }));
                // then the session is read, then the user's counter is written
                assert.equal(first.statusCode, 200);
                assert.deepEqual(suite.counting.trace, ["+GetItem", "-GetItem", "+UpdateItem", "-UpdateItem"]);
                suite.counting.reset();
                // when it comes again
                const second = await handler(event({ path: "/mine", headers: bearer(token) }));
                // then both are sent at once
                assert.deepEqual(suite.counting.trace.slice(0, 2).sort(), ["+GetItem", "+UpdateItem"]);
                // and both requests were charged to one counter, the user's on this route: user:u-6:route:mine
                assert.deepEqual([first.headers!.ratelimit, second.headers!.ratelimit].map((value) => String(value).replace(/;t=\d+$/, "")), ['"mine";r=99', '"mine";r=98']);
                const counter = await suite.dynamo.doc.send(new GetCommand({ TableName: suite.tables.rateLimits, Key: { limiter_key: "user:u-6:route:mine", window_start: suite.clock.windowStart("user:u-6:route:mine", 60) } }));
                assert.equal(counter.Item?.request_count, 2);
            });

            it("charges a user-keyed bucket to the user across its routes, stored as user:<id>:bucket:<name>", async () => {
                // given two session routes sharing bucket 'account', 3 a minute per user
                const account = { by: "user", limit: 3, windowSeconds: 60, algorithm: "fixed", bucket: "account" } as const;
                const handler = gateway({
                    routes: [
                        route({ name: "profile", pathPrefix: "/profile", upstream: suite.upstream.url, auth: "session", rateLimit: account }),
                        route({ name: "orders", pathPrefix: "/orders", upstream: suite.upstream.url, auth: "session", rateLimit: account }),
                    ],
                });
                const { token } = await sessions.create({ userId: "u-bucket" });
                const other = await sessions.create({ userId: "u-other" });
                suite.clock.toWindowStart("user:u-bucket:bucket:account", 60);
                const send = (path: string, as = token) => handler(event({ path, headers: bearer(as) }));
                // when the user calls both routes four times, and another user from the same address once
                const answers = [await send("/profile"), await send("/orders"), await send("/profile"), await send("/orders")];
                const otherUser = await send("/orders", other.token);
                // then the fourth is refused, whichever route it is on, and the other user has a budget of its own
                assert.deepEqual(answers.map((r) => r.statusCode), [200, 200, 200, 429]);
                assert.deepEqual(answers.slice(0, 3).map((r) => r.headers!.ratelimit), ['"account";r=2;t=60', '"account";r=1;t=60', '"account";r=0;t=60']);
                assert.equal(otherUser.statusCode, 200);
                const windowStart = suite.clock.windowStart("user:u-bucket:bucket:account", 60);
                const counter = await suite.dynamo.doc.send(new GetCommand({ TableName: suite.tables.rateLimits, Key: { limiter_key: "user:u-bucket:bucket:account", window_start: windowStart }, ConsistentRead: true }));
                assert.equal(counter.Item?.request_count, 3);
            });

            it("serves a session from the container cache when sessionCacheSeconds is set; a revocation shows within that time", async () => {
                // given a 10 s cache
                const handler = gateway({ sessionCacheSeconds: 10 });
                const { token } = await sessions.create({ userId: "u-7" });
                assert.equal((await handler(event({ path: "/users", headers: bearer(token) }))).statusCode, 200);
                suite.counting.reset();
                // when the session is revoked
                await sessions.revoke(token);
                // then the cache still admits it within 10 s, without reading the session
                suite.clock.advance(9_000);
                assert.equal((await handler(event({ path: "/users", headers: bearer(token) }))).statusCode, 200);
                assert.equal(suite.counting.counts.get("GetItemCommand"), undefined);
                // and refuses it after
                suite.clock.advance(1_000);
                assert.equal((await handler(event({ path: "/users", headers: bearer(token) }))).statusCode, 401);
            });

            it("without a cache, a revocation takes effect on the next request", async () => {
                const handler = gateway();
                const { token } = await sessions.create({ userId: "u-8" });
                assert.equal((await handler(event({ path: "/users", headers: bearer(token) }))).statusCode, 200);
                await sessions.revoke(token);
                assert.equal((await handler(event({ path: "/users", headers: bearer(token) }))).statusCode, 401);
            });

            it("counts guessed tokens against the address's auth-failed key, refusing them once it is spent, with a session read and no counter write each", async () => {
                // given a user-keyed route, limit 3
                const handler = gateway({
                    routes: [route({ name: "mine", pathPrefix: "/mine", upstream: suite.upstream.url, auth: "session", rateLimit: { by: "user", limit: 3, windowSeconds: 60, algorithm: "fixed" } })],
                });
                suite.clock.toWindowStart("auth-failed:198.51.100.7:route:mine", 60);
                const guess = (i: number) => handler(event({ path: "/mine", headers: bearer(String(i).padStart(43, "G")) }));
                // when
                const statuses = [];
                for (let i = 0; i < 4; i++) statuses.push((await guess(i)).statusCode);
                suite.counting.reset();
                const later = await guess(99);
                // then the guesses were counted on auth-failed:<address>:route:mine, and the fifth is refused from memory after its session read
                assert.deepEqual(statuses, [401, 401, 401, 429]);
                assert.equal(later.statusCode, 429);
                assert.deepEqual(Object.fromEntries(suite.counting.counts), { GetItemCommand: 1 }, "a guess always costs its session read, and no counter write once refused");
                const { Items = [] } = await suite.dynamo.doc.send(new ScanCommand({ TableName: suite.tables.rateLimits, ConsistentRead: true }));
                assert.deepEqual(Object.fromEntries(Items.map((item) => [item.limiter_key, item.request_count])), { "auth-failed:198.51.100.7:route:mine": 3 });
            });

            it("admits a valid session and a valid JWT from an address that has just sent 200 invalid tokens, each counted on its own key", async () => {
                // given ip-keyed limits of 50 a minute on a session route, a JWT route and an any route, and one address behind a NAT
                const ipLimit = { by: "ip", limit: 50, windowSeconds: 60, algorithm: "fixed" } as const;
                const handler = gateway({
                    routes: [
                        route({ name: "users", pathPrefix: "/users", upstream: suite.upstream.url, auth: "session", rateLimit: ipLimit }),
                        route({ name: "reports", pathPrefix: "/reports", upstream: suite.upstream.url, auth: "jwt", rateLimit: ipLimit }),
                        route({ name: "orders", pathPrefix: "/orders", upstream: suite.upstream.url, auth: "any", rateLimit: { ...ipLimit, by: "user" } }),
                    ],
                });
                const { token } = await sessions.create({ userId: "u-nat" });
                const jwt = await hs256({});
                const forged = await hs256({}, { secret: "another-secret-of-at-least-thirty-two-characters" });
                // when one client there sends 200 invalid tokens to each route: unknown session tokens, a cookie, forged and expired JWTs
                const invalid = [
                    (i: number) => event({ path: "/users", headers: bearer(String(i).padStart(43, "A")) }),
                    (i: number) => event({ path: "/users", cookies: [`__Host-session=${String(i).padStart(43, "B")}`] }),
                    () => event({ path: "/reports", headers: bearer(forged) }),
                    (i: number) => event({ path: "/orders", headers: bearer(i % 2 ? forged : String(i).padStart(43, "C")) }),
                ];
                const refusals = new Set<number>();
                for (let i = 0; i < 200; i++) refusals.add((await handler(invalid[i % invalid.length](i))).statusCode!);
                // then guessing was limited
                assert.deepEqual([...refusals].sort(), [401, 429]);
                // and a valid session, a valid JWT and a valid caller on the any route from the same address each get 200
                const valid = [
                    await handler(event({ path: "/users", headers: bearer(token) })),
                    await handler(event({ path: "/users", cookies: [`__Host-session=${token}`] })),
                    await handler(event({ path: "/reports", headers: bearer(jwt) })),
                    await handler(event({ path: "/orders", headers: bearer(jwt) })),
                    await handler(event({ path: "/orders", headers: bearer(token) })),
                ];
                assert.deepEqual(valid.map((result) => result.statusCode), [200, 200, 200, 200, 200]);
                // each counted on its own key, and every failure on the address's auth-failed keys
                const { Items = [] } = await suite.dynamo.doc.send(new ScanCommand({ TableName: suite.tables.rateLimits, ConsistentRead: true }));
                const counts = Object.fromEntries(Items.map((item) => [item.limiter_key, item.request_count]));
                assert.deepEqual(
                    Object.keys(counts).sort(),
                    [
                        "auth-failed:198.51.100.7:route:orders",
                        "auth-failed:198.51.100.7:route:reports",
                        "auth-failed:198.51.100.7:route:users",
                        "ip:198.51.100.7:route:reports",
                        "ip:198.51.100.7:route:users",
                        "user:u-nat:route:orders",
                        "user:user-jwt:route:orders",
                    ],
                );
                assert.equal(counts["ip:198.51.100.7:route:users"], 2);
                assert.equal(counts["auth-failed:198.51.100.7:route:users"], 50);
            });

            it("still limits a valid caller by its own key", async () => {
                // given an ip-keyed limit of 3 and a valid session
                const handler = gateway({ routes: [route({ name: "users", pathPrefix: "/users", upstream: suite.upstream.url, auth: "session", rateLimit: { by: "ip", limit: 3, windowSeconds: 60, algorithm: "fixed" } })] });
                suite.clock.toWindowStart("ip:198.51.100.7:route:users", 60);
                const { token } = await sessions.create({ userId: "u-own" });
                // when it sends four requests
                const statuses = [];
                for (let i = 0; i < 4; i++) statuses.push((await handler(event({ path: "/users", headers: bearer(token) }))).statusCode);
                // then the fourth is refused, and an invalid token from the address is not: it has a budget of its own
                assert.deepEqual(statuses, [200, 200, 200, 429]);
                assert.equal((await handler(event({ path: "/users", headers: bearer("X".repeat(43)) }))).statusCode, 401);
            });
        });

        describe("JWTs", function () {
            it("admits a valid HS256 token and passes its claims on, scopes as permissions when scopesAsPermissions says so", async () => {
                const token = await hs256({ roles: ["boss"], scope: "orders:read reports" });
                const result = await gateway({ jwt: { ...jwtPolicy, issuer, audience, jwksUrl: jwks.url, scopesAsPermissions: true } })(event({ path: "/admin/x", headers: bearer(token) }));
                assert.equal(result.statusCode, 200);
                const seen = suite.upstream.requests[0].headers;
                assert.equal(seen["x-gateway-user-id"], "user-jwt");
                assert.equal(seen["x-gateway-roles"], "boss");
                assert.deepEqual(String(seen["x-gateway-permissions"]).split(",").sort(), ["admin", "orders:read", "reports"]);
            });

            it("refuses an expired token", async () => {
                const token = await hs256({}, { expiresIn: 60 });
                suite.clock.advance(61_000);
                assert.equal((await gateway()(event({ path: "/admin", headers: bearer(token) }))).statusCode, 401);
            });

            it("refuses a token signed with another key", async () => {
                const token = await hs256({}, { secret: "another-secret-that-is-long-enough-too!!" });
                assert.equal((await gateway()(event({ path: "/admin", headers: bearer(token) }))).statusCode, 401);
            });

            it("refuses alg none", async () => {
                const token = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "root", permissions: ["admin"], iss: issuer, aud: audience, exp: suite.clock.seconds + 60 })}.`;
                assert.equal((await gateway()(event({ path: "/admin", headers: bearer(token) }))).statusCode, 401);
            });

            it("refuses an HS256 token signed with the RSA public key (HS/RS confusion)", async () => {
                const publicPem = await exportSPKI(rsa.publicKey);
                const token = await hs256({}, { secret: publicPem });
                assert.equal((await gateway()(event({ path: "/admin", headers: bearer(token) }))).statusCode, 401);
            });

            it("admits an RS256 token whose key is in the JWKS, fetching the JWKS once", async () => {
                const handler = gateway();
                const before = jwks.hits();
                const sign = () =>
                    new SignJWT({ permissions: ["admin"] })
                        .setProtectedHeader({ alg: "RS256", kid: "k1" })
                        .setSubject("user-rs")
                        .setIssuer(issuer)
                        .setAudience(audience)
                        .setIssuedAt(suite.clock.seconds)
                        .setExpirationTime(suite.clock.seconds + 60)
                        .sign(rsa.privateKey);
                assert.equal((await handler(event({ path: "/admin", headers: bearer(await sign()) }))).statusCode, 200);
                assert.equal((await handler(event({ path: "/admin", headers: bearer(await sign()) }))).statusCode, 200);
                assert.equal(suite.upstream.requests[1].headers["x-gateway-user-id"], "user-rs");
                assert.equal(jwks.hits() - before, 1);
            });

            it("refuses an RS256 token when no JWKS is configured", async () => {
                const token = await new SignJWT({ permissions: ["admin"] }).setProtectedHeader({ alg: "RS256", kid: "k1" }).setSubject("x").setIssuer(issuer).setAudience(audience).setExpirationTime(suite.clock.seconds + 60).sign(rsa.privateKey);
                assert.equal((await gateway({ jwt: { ...jwtPolicy, issuer, audience } })(event({ path: "/admin", headers: bearer(token) }))).statusCode, 401);
            });

            it("refuses a wrong issuer or audience", async () => {
                const handler = gateway();
                const wrongIssuer = await new SignJWT({ permissions: ["admin"] }).setProtectedHeader({ alg: "HS256" }).setSubject("x").setIssuer("https://evil.example.com").setAudience(audience).setExpirationTime(suite.clock.seconds + 60).sign(new TextEncoder().encode(hsSecret));
                const wrongAudience = await new SignJWT({ permissions: ["admin"] }).setProtectedHeader({ alg: "HS256" }).setSubject("x").setIssuer(issuer).setAudience("other").setExpirationTime(suite.clock.seconds + 60).sign(new TextEncoder().encode(hsSecret));
                assert.equal((await handler(event({ path: "/admin", headers: bearer(wrongIssuer) }))).statusCode, 401);
                assert.equal((await handler(event({ path: "/admin", headers: bearer(wrongAudience) }))).statusCode, 401);
            });

            it("fails closed on lifetime, type and scopes: a 100-year token, one without iat, a refresh token and a scope are not grants", async () => {
                const handler = gateway();
                const secret = new TextEncoder().encode(hsSecret);
                const base = () => new SignJWT({ permissions: ["admin"] }).setSubject("x").setIssuer(issuer).setAudience(audience);
                const century = await base().setProtectedHeader({ alg: "HS256" }).setIssuedAt(suite.clock.seconds).setExpirationTime(suite.clock.seconds + 100 * 365 * 86_400).sign(secret);
                const noIat = await base().setProtectedHeader({ alg: "HS256" }).setExpirationTime(suite.clock.seconds + 60).sign(secret);
                const refresh = await base().setProtectedHeader({ alg: "HS256", typ: "refresh+jwt" }).setIssuedAt(suite.clock.seconds).setExpirationTime(suite.clock.seconds + 60).sign(secret);
                const accessToken = await base().setProtectedHeader({ alg: "HS256", typ: "at+jwt" }).setIssuedAt(suite.clock.seconds).setExpirationTime(suite.clock.seconds + 60).sign(secret);
                const scoped = await hs256({ permissions: [], scope: "openid admin" });

                const status = async (token: string) => (await handler(event({ path: "/admin", headers: bearer(token) }))).statusCode;
                assert.deepEqual([await status(century), await status(noIat), await status(refresh), await status(accessToken), await status(scoped)], [401, 401, 401, 200, 403]);
            });

            it("refuses a token issued in the future, however short its exp - iat: 100 years or a minute ahead, and admits one from an issuer whose clock runs a few seconds ahead", async () => {
                // given tokens that live 60 s from an iat after now, one from an issuer 2 s ahead, and one issued this second
                const handler = gateway();
                const century = await hs256({}, { issuedAt: suite.clock.seconds + 100 * 365 * 86_400, expiresIn: 60 });
                const minuteAhead = await hs256({}, { issuedAt: suite.clock.seconds + 60, expiresIn: 60 });
                const clockAhead = await hs256({}, { issuedAt: suite.clock.seconds + 2, expiresIn: 60 });
                const issuedNow = await hs256({}, { expiresIn: 60 });
                // when
                const status = async (token: string) => (await handler(event({ path: "/admin", headers: bearer(token) }))).statusCode;
                const statuses = [await status(century), await status(minuteAhead), await status(clockAhead), await status(issuedNow)];
                // then the two issued well ahead are refused, and only the other two reach the upstream
                assert.deepEqual(statuses, [401, 401, 200, 200]);
                assert.equal(suite.upstream.requests.length, 2);
            });

            it("refuses a token whose role or permission would be ambiguous once joined, and carries a non-ASCII sub encoded", async () => {
                const handler = gateway();
                const refused = [
                    await hs256({ roles: ["a,admin"] }),
                    await hs256({ permissions: ["admin", "x\r\nx-gateway-user-id: root"] }),
                    await hs256({ roles: ['staff",admin'] }),
                    await hs256({ roles: ["staff;q=admin"] }),
                    await hs256({ permissions: ["admin", "a\\b"] }),
                    await hs256({ roles: ["\ud800x"] }),
                    await hs256({ username: "ada\udc00" }),
                    await hs256({ preferred_username: "ada\n" }),
                ];
                for (const token of refused) assert.equal((await handler(event({ path: "/admin", headers: bearer(token) }))).statusCode, 401);
                assert.equal(suite.upstream.requests.length, 0);

                const unicode = await new SignJWT({ permissions: ["admin"], roles: ["管理者"] }).setProtectedHeader({ alg: "HS256" }).setSubject("用户 1%").setIssuer(issuer).setAudience(audience).setIssuedAt(suite.clock.seconds).setExpirationTime(suite.clock.seconds + 60).sign(new TextEncoder().encode(hsSecret));
                assert.equal((await handler(event({ path: "/admin", headers: bearer(unicode) }))).statusCode, 200);
                const seen = suite.upstream.requests[0].headers;
                assert.equal(seen["x-gateway-user-id"], "%E7%94%A8%E6%88%B7%201%25");
                assert.equal(decodeURIComponent(String(seen["x-gateway-user-id"])), "用户 1%");
                assert.equal(decodeURIComponent(String(seen["x-gateway-roles"])), "管理者");
                // a sub with the characters a CSV or structured-field parser reads as syntax arrives encoded
                const quoted = await new SignJWT({ permissions: ["admin"] }).setProtectedHeader({ alg: "HS256" }).setSubject('a"b;c\\d').setIssuer(issuer).setAudience(audience).setIssuedAt(suite.clock.seconds).setExpirationTime(suite.clock.seconds + 60).sign(new TextEncoder().encode(hsSecret));
                assert.equal((await handler(event({ path: "/admin", headers: bearer(quoted) }))).statusCode, 200);
                assert.equal(suite.upstream.requests[1].headers["x-gateway-user-id"], "a%22b%3Bc%5Cd");
            });

            it("needs every permission a route lists: a session or JWT holding one of two gets 403, one holding both is admitted", async () => {
                const handler = gateway({
                    routes: [route({ name: "reports", pathPrefix: "/reports", upstream: suite.upstream.url, auth: "any", permissions: ["reports:read", "reports:export"] })],
                });
                const one = await sessions.create({ userId: "u-one", permissions: ["reports:read"] });
                const both = await sessions.create({ userId: "u-both", permissions: ["reports:export", "reports:read", "other"] });
                const statuses = [
                    await handler(event({ path: "/reports", headers: bearer(one.token) })),
                    await handler(event({ path: "/reports", headers: bearer(await hs256({ permissions: ["reports:export"] })) })),
                    await handler(event({ path: "/reports", headers: bearer(both.token) })),
                    await handler(event({ path: "/reports", headers: bearer(await hs256({ permissions: ["reports:read", "reports:export"] })) })),
                ].map((result) => result.statusCode);
                assert.deepEqual(statuses, [403, 403, 200, 200]);
                assert.equal(suite.upstream.requests.length, 2);
            });

            it("refuses a valid token lacking the route's permission with 403", async () => {
                const token = await hs256({ permissions: ["reports"] });
                assert.equal((await gateway()(event({ path: "/admin", headers: bearer(token) }))).statusCode, 403);
            });

            it("verifies JWTs without any DynamoDB read, and charges a route-keyed limit to user and route", async () => {
                // given an any-route keyed by route
                const token = await hs256({ permissions: ["orders:read"] });
                // when
                const result = await gateway()(event({ path: "/orders/1", headers: bearer(token) }));
                // then
                assert.equal(result.statusCode, 200);
                assert.deepEqual(Object.fromEntries(suite.counting.counts), { UpdateItemCommand: 1 });
                const counter = await suite.dynamo.doc.send(new GetCommand({ TableName: suite.tables.rateLimits, Key: { limiter_key: "user:user-jwt:route:orders", window_start: suite.clock.windowStart("user:user-jwt:route:orders", 60) } }));
                assert.equal(counter.Item?.request_count, 1);
            });

            it("sends a session token on an any-route the session way", async () => {
                const { token } = await sessions.create({ userId: "u-any", permissions: ["orders:read"] });
                const result = await gateway()(event({ path: "/orders", headers: bearer(token) }));
                assert.equal(result.statusCode, 200);
                assert.equal(suite.upstream.requests[0].headers["x-gateway-user-id"], "u-any");
            });

            it("fetches the Secrets Manager secret once per container, and again after a failed fetch (503 meanwhile)", async () => {
                // given a secret loader that fails once
                const calls: string[] = [];
                let fail = true;
                const loadSecret = async (arn: string) => {
                    calls.push(arn);
                    if (fail) {
                        fail = false;
                        throw new Error("Secrets Manager is unavailable");
                    }
                    return hsSecret;
                };
                const handler = gateway({ jwtSecret: { secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt" } }, { loadSecret });
                const token = await hs256({});
                // when
                const failed = await handler(event({ path: "/admin", headers: bearer(token) }));
                const statuses = [];
                for (let i = 0; i < 3; i++) statuses.push((await handler(event({ path: "/admin", headers: bearer(token) }))).statusCode);
                // then
                assert.equal(failed.statusCode, 503);
                assert.ok(!failed.body!.includes("Secrets Manager"), "no internal detail");
                assert.deepEqual(statuses, [200, 200, 200]);
                assert.equal(calls.length, 2);
            });
        });
    });
}
