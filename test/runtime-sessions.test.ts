/**
 * Sessions the gateway issues and ends for its upstreams, through the
 * handler with a real upstream and a real DynamoDB: the `x-gateway-session`
 * instruction on routes that issue or revoke, and everywhere else; the
 * cookie and the token header; the caller's own sessions at
 * `/.well-known/sessions`; rolling renewal under parallel requests. Tried as
 * an attacker would: forged instructions, fixation, another user's
 * sessions, malformed JSON, huge TTLs, commas in roles.
 */
import { strict as assert } from "node:assert";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createHandler } from "../runtime/handler";
import { createSessions, sessionIdOf, type Sessions } from "../runtime/sessions";
import type { RuntimeSettings } from "../runtime/settings";
import { defaultSessionSettings, type SessionSettings } from "../specs/sessions";
import type { DynamoInput } from "../runtime/stores/dynamo";
import { clientFor, dynamoKinds } from "./support/dynamo";
import { answerWith, bodyOf, countingClient, event, route, runtimeSettings, useHandlerSuite, type EventOptions } from "./support/runtime";

type Result = APIGatewayProxyStructuredResultV2;

/** The Set-Cookie of the session cookie, under whichever of its names. */
const sessionCookieOf = (result: Result) => result.cookies?.find((cookie) => /^(__Host-|__Secure-)?session=/i.test(cookie));
const tokenOf = (result: Result) => /^[^=]+=([^;]*);/.exec(sessionCookieOf(result) ?? "")?.[1];

for (const kind of dynamoKinds) {
    describe(`handler: sessions issued and ended by upstreams (${kind})`, function () {
        const suite = useHandlerSuite(kind);
        let lines: string[];
        let library: Sessions;
        beforeEach(() => {
            lines = [];
            library = createSessions({ dynamo: suite.dynamo.client, tableName: suite.tables.sessions, now: suite.clock.now });
        });

        const gateway = (overrides: Partial<RuntimeSettings> = {}, sessions: Partial<SessionSettings> = {}, dynamo: DynamoInput = suite.counting.client) => {
            const upstream = suite.upstream.url;
            return createHandler(
                runtimeSettings(suite.tables, suite.dynamo, {
                    routes: [
                        route({ name: "login", pathPrefix: "/login", upstream, sessions: { issue: true, returnToken: false, revoke: false } }),
                        route({ name: "token", pathPrefix: "/token", upstream, sessions: { issue: true, returnToken: true, revoke: false } }),
                        route({ name: "account", pathPrefix: "/account", upstream, auth: "session", sessions: { issue: false, returnToken: false, revoke: true } }),
                        route({ name: "users", pathPrefix: "/users", upstream, auth: "session" }),
                        route({ name: "open", pathPrefix: "/open", upstream }),
                    ],
                    sessions: { ...defaultSessionSettings(), ...sessions },
                    ...overrides,
                }),
                { now: suite.clock.now, dynamo, log: (line) => lines.push(line) },
            );
        };
        const warnings = () =>
            lines
                .map((line) => JSON.parse(line))
                // A warning line has a message; a request line at WARN (a 4xx answer) has none.
                .filter((entry) => entry.level === "WARN" && entry.message !== undefined)
                .map((entry) => ({ route: entry.route, message: entry.message as string }));
        const storedSessions = async () => (await suite.dynamo.doc.send(new ScanCommand({ TableName: suite.tables.sessions, ConsistentRead: true }))).Items ?? [];
        /** A request to `<prefix>/answer`, whose upstream answers with `x-gateway-session: instruction`. */
        const answering = (prefix: string, instruction: unknown, options: EventOptions & { status?: number } = {}) =>
            event({
                method: "POST",
                ...options,
                path: `${prefix}/answer`,
                headers: { ...answerWith({ "x-gateway-session": typeof instruction === "string" ? instruction : JSON.stringify(instruction) }, options.status), ...options.headers },
            });

        describe("issuing", () => {
            it("creates the session an issuing route's upstream names, sets the cookie, and stores only the token's hash", async () => {
                // when the login upstream answers 200 with an instruction
                const result = await gateway()(answering("/login", { userId: "alice", username: "Alice", roles: ["staff"], permissions: ["orders:read"] }));
                // then the client gets the cookie, and neither the instruction nor a token header
                assert.equal(result.statusCode, 200);
                const token = tokenOf(result)!;
                assert.match(token, /^[A-Za-z0-9_-]{43}$/);
                assert.equal(sessionCookieOf(result), `__Host-session=${token}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=86400`);
                assert.equal(result.headers!["x-gateway-session"], undefined);
                assert.equal(result.headers!["x-gateway-session-token"], undefined);
                assert.equal(result.headers!["cache-control"], "no-store");
                assert.deepEqual(bodyOf(result), { answered: true }, "the upstream's body goes through");
                // and the table holds the session under the token's SHA-256, never the token
                const stored = await storedSessions();
                assert.equal(stored.length, 1);
                assert.deepEqual(
                    [stored[0].session_id, stored[0].user_id, stored[0].username, stored[0].roles, stored[0].permissions, stored[0].expires_at - stored[0].created_at],
                    [sessionIdOf(token), "alice", "Alice", ["staff"], ["orders:read"], 86_400],
                );
                assert.ok(!JSON.stringify(stored).includes(token));
                // and the cookie authenticates on a session route
                const me = await gateway()(event({ path: "/users/me", cookies: [`__Host-session=${token}`] }));
                assert.equal(me.statusCode, 200);
                assert.equal(bodyOf(me).headers["x-gateway-user-id"], "alice");
            });

            it("refuses a login posted from another site (login CSRF) with 403, before the upstream and without a session, and admits one from the gateway's own or an allowed origin", async () => {
                // given a browser on another site posting the attacker's credentials to the login route
                const handler = gateway({ allowedOrigins: ["https://app.example.com"] });
                const before = suite.upstream.requests.length;
                const forged = await handler(answering("/login", { userId: "mallory" }, { headers: { origin: "https://evil.example" } }));
                // then it is refused before the upstream sees it, and nothing is issued
                assert.equal(forged.statusCode, 403);
                assert.equal(forged.headers!["content-type"], "application/problem+json");
                assert.equal(sessionCookieOf(forged), undefined);
                assert.equal(suite.upstream.requests.length, before, "the login upstream was not called");
                assert.equal((await storedSessions()).length, 0);
                // and Origin: null (a sandboxed frame) is refused too, as is a logout posted from another site
                assert.equal((await handler(answering("/login", { userId: "mallory" }, { headers: { origin: "null" } }))).statusCode, 403);
                const { token } = await library.create({ userId: "victim" });
                const logout = await handler(answering("/account", { revoke: "current" }, { headers: { origin: "https://evil.example", authorization: `Bearer ${token}` } }));
                assert.equal(logout.statusCode, 403);
                assert.ok(await library.get(token), "the victim's session is still there");
                // while the gateway's own origin, an allowed one, and a client that sends none (curl, a server) log in
                const own = await handler(answering("/login", { userId: "alice" }, { headers: { origin: "https://gateway.example.com", host: "gateway.example.com" } }));
                const allowed = await handler(answering("/login", { userId: "alice" }, { headers: { origin: "https://app.example.com" } }));
                const none = await handler(answering("/login", { userId: "alice" }));
                assert.deepEqual([own, allowed, none].map((result) => [result.statusCode, sessionCookieOf(result) !== undefined]), [[200, true], [200, true], [200, true]]);
            });

            it("counts a * among the allowed origins as no origin at all: a cross-site login, logout and cookie write are refused (403)", async () => {
                // given settings whose allowed origins hold the CORS wildcard
                const handler = gateway({ allowedOrigins: ["*"] });
                const { token } = await library.create({ userId: "victim" });
                const crossSite = { origin: "https://evil.example" };
                // when another site posts a login, a logout and a write with the victim's cookie, and a tool sends Origin: *
                const answers = [
                    await handler(answering("/login", { userId: "mallory" }, { headers: crossSite })),
                    await handler(answering("/account", { revoke: "current" }, { headers: crossSite, cookies: [`__Host-session=${token}`] })),
                    await handler(event({ method: "POST", path: "/users/transfer", headers: crossSite, cookies: [`__Host-session=${token}`] })),
                    await handler(event({ method: "POST", path: "/users/transfer", headers: { origin: "*" }, cookies: [`__Host-session=${token}`] })),
                ];
                // then each is refused, nothing is issued and the session stays
                assert.deepEqual(answers.map((result) => result.statusCode), [403, 403, 403, 403]);
                assert.deepEqual((await storedSessions()).map((item) => item.user_id), ["victim"]);
            });

            it("applies the cookie attributes of tollgate:sessions.cookie and the TTL the upstream asks for", async () => {
                const handler = gateway({}, { cookie: { sameSite: "Strict", path: "/app", domain: "example.com", secure: true } });
                const result = await handler(answering("/login", { userId: "alice", ttlSeconds: 600 }));
                // a Domain (or a narrower Path) is what __Host- forbids: the cookie is __Secure-session
                assert.equal(sessionCookieOf(result), `__Secure-session=${tokenOf(result)}; HttpOnly; Secure; SameSite=Strict; Path=/app; Domain=example.com; Max-Age=600`);
            });

            it("reads a user id outside ASCII whether the upstream escapes it (\\u) or writes it as raw UTF-8 bytes", async () => {
                const escaped = JSON.stringify({ userId: "用户" }).replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
                // Header bytes travel as Latin-1: this string puts the UTF-8 bytes of the JSON on the wire.
                const rawUtf8 = Buffer.from(JSON.stringify({ userId: "josé" }), "utf8").toString("latin1");
                assert.equal((await gateway()(answering("/login", escaped))).statusCode, 200);
                assert.equal((await gateway()(answering("/login", rawUtf8))).statusCode, 200);
                assert.deepEqual((await storedSessions()).map((item) => item.user_id).sort(), ["josé", "用户"]);
            });

            it("returns the token in x-gateway-session-token on a returnToken route, and it works as a bearer token", async () => {
                const result = await gateway()(answering("/token", { userId: "bob" }));
                const token = result.headers!["x-gateway-session-token"] as string;
                assert.equal(token, tokenOf(result));
                const me = await gateway()(event({ path: "/users/me", headers: { authorization: `Bearer ${token}` } }));
                assert.equal(me.statusCode, 200);
                assert.equal(bodyOf(me).headers["x-gateway-user-id"], "bob");
            });

            it("revokes every session the request arrived with when it logs in again (no fixation)", async () => {
                // given a session in the cookie and another as a bearer token, both of the victim
                const planted = await library.create({ userId: "victim" });
                const other = await library.create({ userId: "victim" });
                // when the request logs in
                const result = await gateway()(answering("/login", { userId: "victim" }, { cookies: [`__Host-session=${planted.token}`], headers: { authorization: `Bearer ${other.token}` } }));
                // then both are gone and only the new one is stored
                assert.equal(result.statusCode, 200);
                assert.equal(await library.get(planted.token), undefined);
                assert.equal(await library.get(other.token), undefined);
                assert.deepEqual(
                    (await storedSessions()).map((item) => item.session_id),
                    [sessionIdOf(tokenOf(result)!)],
                );
            });

            for (const [title, instruction] of [
                ["not JSON", "{userId: alice"],
                ["a JSON array", '["alice"]'],
                ["no userId", { username: "alice" }],
                ["an empty userId", { userId: "" }],
                ["a 10-year TTL, above the maximum", { userId: "alice", ttlSeconds: 10 * 365 * 86_400 }],
                ["a fractional TTL", { userId: "alice", ttlSeconds: 1.5 }],
                ["a role with a comma", { userId: "alice", roles: ["staff,admin"] }],
                ["a permission that is not a string", { userId: "alice", permissions: [7] }],
                ["an unknown key", { userId: "alice", role: "admin" }],
                ["a null field", { userId: "alice", roles: null }],
                ["a revoke beside a userId", { userId: "alice", revoke: "all" }],
                ["a body over 8 KB", { userId: "alice", username: "a".repeat(9000) }],
                ["a userId with a lone surrogate (one that could never authenticate)", '{"userId":"\\ud800x"}'],
                ["a username with a lone surrogate", { userId: "alice", username: "ada\udc00" }],
                ["a role with a double quote", { userId: "alice", roles: ['staff",admin'] }],
                ["a role with a semicolon", { userId: "alice", roles: ["staff;q=admin"] }],
                ["a permission with a backslash", { userId: "alice", permissions: ["a\\b"] }],
                ["a permission with a lone surrogate", { userId: "alice", permissions: ["\udbffx"] }],
            ] as const) {
                it(`answers 502 and creates nothing when an issuing route's instruction has ${title}`, async () => {
                    const result = await gateway()(answering("/login", instruction));
                    assert.equal(result.statusCode, 502);
                    assert.equal(result.headers!["content-type"], "application/problem+json");
                    assert.equal(sessionCookieOf(result), undefined);
                    assert.ok(!JSON.stringify(result).includes("answered"), "the upstream's body does not reach the client");
                    assert.deepEqual(await storedSessions(), []);
                    assert.equal(warnings().length, 1);
                    assert.equal(warnings()[0].route, "login");
                    assert.match(warnings()[0].message, /^x-gateway-session refused \(502\): /);
                });
            }

            it("ignores an instruction on a non-2xx answer, strips it and logs it", async () => {
                const result = await gateway()(answering("/login", { userId: "alice" }, { status: 401 }));
                assert.equal(result.statusCode, 401);
                assert.equal(sessionCookieOf(result), undefined);
                assert.equal(result.headers!["x-gateway-session"], undefined);
                assert.deepEqual(await storedSessions(), []);
                assert.deepEqual(warnings(), [{ route: "login", message: "x-gateway-session on a 401 answer ignored: only a 2xx answer issues or ends a session" }]);
            });

            it("answers 503 and sets no cookie when the sessions table cannot be written", async () => {
                // given a sessions table that does not exist
                const handler = gateway({ tables: { rateLimits: suite.tables.rateLimits, sessions: `${suite.tables.sessions}-gone` } });
                const result = await handler(answering("/login", { userId: "alice" }));
                assert.equal(result.statusCode, 503);
                assert.equal(sessionCookieOf(result), undefined);
                assert.ok(!result.body!.includes("gone"), "no internal detail");
            });
        });

        describe("everywhere else", () => {
            for (const prefix of ["/open", "/users"]) {
                it(`strips, ignores and logs an instruction from a route that does not issue (${prefix})`, async () => {
                    const { token } = await library.create({ userId: "carol" });
                    const result = await gateway()(answering(prefix, { userId: "admin", permissions: ["admin"] }, { cookies: [`__Host-session=${token}`] }));
                    assert.equal(result.statusCode, 200);
                    assert.equal(result.headers!["x-gateway-session"], undefined);
                    assert.equal(sessionCookieOf(result), undefined);
                    assert.deepEqual(
                        (await storedSessions()).map((item) => item.user_id),
                        ["carol"],
                    );
                    assert.deepEqual(warnings(), [{ route: prefix.slice(1), message: "x-gateway-session ignored: the route does not issue sessions" }]);
                });
            }

            for (const spelling of ["x-gateway-session", "X-Gateway-Session", "x_gateway_session"]) {
                it(`never lets a client's own ${spelling} reach an upstream that reflects headers`, async () => {
                    // given an issuing route whose upstream answers every x-* request header back
                    const result = await gateway()(event({ method: "POST", path: "/login/reflect", headers: { [spelling]: JSON.stringify({ userId: "admin" }) } }));
                    // then nothing was issued
                    assert.equal(result.statusCode, 200);
                    assert.equal(sessionCookieOf(result), undefined);
                    assert.deepEqual(await storedSessions(), []);
                    const received = Object.keys(suite.upstream.requests[0].headers).filter((name) => name.replace(/_/g, "-").toLowerCase().startsWith("x-gateway-session"));
                    assert.deepEqual(received, []);
                });
            }

            it("drops an upstream's own session cookie under any of its names and spellings, and x-gateway-session-token", async () => {
                for (const name of ["__Host-session", "__Secure-session", "session", "__HOST-SESSION", "Session"]) {
                    const result = await gateway()(event({ path: "/open/answer", headers: answerWith({ "set-cookie": `${name}=forged; Path=/`, "x-gateway-session-token": "forged" }) }));
                    assert.equal(result.statusCode, 200);
                    assert.equal(result.cookies, undefined, name);
                    assert.equal(result.headers!["x-gateway-session-token"], undefined);
                }
                assert.equal(warnings().length, 10);
            });
        });

        describe("the session cookie as browsers protect it", () => {
            it("names the cookie __Host-session deployed (Secure, Path=/, no Domain), __Secure-session with a Domain or a narrower Path, and session over plain HTTP", async () => {
                const set = async (cookie: Partial<SessionSettings["cookie"]>) =>
                    sessionCookieOf(await gateway({}, { cookie: { ...defaultSessionSettings().cookie, ...cookie } })(answering("/login", { userId: "nina" })))!.replace(/=[^;]+;/, "=<token>;");
                assert.equal(await set({}), "__Host-session=<token>; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=86400");
                assert.equal(await set({ domain: "example.com" }), "__Secure-session=<token>; HttpOnly; Secure; SameSite=Lax; Path=/; Domain=example.com; Max-Age=86400");
                assert.equal(await set({ path: "/app" }), "__Secure-session=<token>; HttpOnly; Secure; SameSite=Lax; Path=/app; Max-Age=86400");
                assert.equal(await set({ secure: false }), "session=<token>; HttpOnly; SameSite=Lax; Path=/; Max-Age=86400");
            });

            it("authenticates only the cookie of the current name: a session or __Secure-session cookie deployed, or __host-session in another case, is no credential", async () => {
                const { token } = await library.create({ userId: "oleg" });
                const handler = gateway();
                const answers = await Promise.all(["session", "__Secure-session", "__host-session", "__Host-Session", " __Host-session"].map((name) => handler(event({ path: "/users/me", cookies: [`${name}=${token}`] }))));
                assert.deepEqual(answers.map((result) => result.statusCode), [401, 401, 401, 401, 200]);
                assert.equal(suite.upstream.requests.length, 1);
            });

            it("authenticates a request carrying the session cookie twice as neither: 400, whichever is valid, and nothing reaches the upstream", async () => {
                // given the victim's session and one an attacker planted beside it (from a sibling subdomain, or over plain HTTP)
                const victim = await library.create({ userId: "victim", permissions: ["admin"] });
                const attacker = await library.create({ userId: "attacker" });
                const handler = gateway();
                suite.counting.reset();
                const twice = (first: string, second: string, options: EventOptions = {}) => handler(event({ path: "/users/me", ...options, cookies: [`__Host-session=${first}`, `__Host-session=${second}`] }));
                // when the cookie comes twice: both valid, the same token twice, a valid one beside garbage, with a bearer too, in one Cookie header
                const answers = [
                    await twice(attacker.token, victim.token),
                    await twice(victim.token, victim.token),
                    await twice(victim.token, "x"),
                    await twice("", victim.token),
                    await twice(attacker.token, victim.token, { headers: { authorization: `Bearer ${victim.token}` } }),
                    await handler({ ...event({ path: "/users/me", headers: { cookie: `__Host-session=${attacker.token}; theme=dark; __Host-session=${victim.token}` } }) }),
                ];
                // then each is a 400 problem, no session is read and no upstream called
                assert.deepEqual(answers.map((result) => result.statusCode), [400, 400, 400, 400, 400, 400]);
                assert.equal(answers[0].headers!["content-type"], "application/problem+json");
                assert.equal(JSON.parse(answers[0].body!).detail, "Send the session cookie once.");
                assert.equal(suite.counting.total(), 0);
                assert.equal(suite.upstream.requests.length, 0);
            });

            it("on a login, revokes every session token the request carried: the cookie each time it came, under every name, and the bearer token; and clears the cookies of other names", async () => {
                // given sessions in two copies of the current cookie, in an older session cookie, and in the Authorization header
                const [first, second, legacy, bearer] = await Promise.all(["victim", "victim", "victim", "victim"].map((userId) => library.create({ userId })));
                // when the request logs in
                const result = await gateway()(
                    answering("/login", { userId: "victim" }, { cookies: [`__Host-session=${first.token}`, `__Host-session=${second.token}`, `session=${legacy.token}`], headers: { authorization: `Bearer ${bearer.token}` } }),
                );
                // then every one of them is gone, only the new one is stored, and the older cookie is cleared beside the new one
                assert.equal(result.statusCode, 200);
                for (const old of [first, second, legacy, bearer]) assert.equal(await library.get(old.token), undefined);
                assert.deepEqual((await storedSessions()).map((item) => item.session_id), [sessionIdOf(tokenOf(result)!)]);
                assert.deepEqual(result.cookies!.slice(1), ["session=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0"]);
            });

            it("never sends the upstream a session cookie under any name or spelling, keeping the other cookies", async () => {
                const { token } = await library.create({ userId: "pia" });
                await gateway()(event({ path: "/users/me", headers: { authorization: `Bearer ${token}` }, cookies: ["theme=dark", `session=${token}`, `__Secure-session=${token}`, `__HOST-SESSION=${token}`, `Session=${token}`, "lang=en"] }));
                assert.equal(suite.upstream.requests[0].headers.cookie, "theme=dark; lang=en");
            });
        });

        describe("no token in a cacheable answer", () => {
            const cacheable = { "cache-control": "public, max-age=600", "cdn-cache-control": "max-age=600", "surrogate-control": "max-age=600" };
            const cachingOf = (result: Result) => Object.fromEntries(Object.entries(result.headers ?? {}).filter(([name]) => /cache-control|surrogate-control/i.test(name)));

            it("makes every answer that sets, renews or clears the session cookie, or returns a token, no-store, whatever the upstream said", async () => {
                const handler = gateway({}, { renewWithinSeconds: 15 * 60 });
                // a renewal, on an upstream answer marked public for ten minutes
                const due = await library.create({ userId: "rita", ttlSeconds: 3600 });
                suite.clock.advance(50 * 60_000);
                const renewed = await handler(event({ path: "/users/answer", headers: answerWith(cacheable), cookies: [`__Host-session=${due.token}`] }));
                // a login, with and without returnToken, and a logout, on answers marked the same way
                const login = await handler(answering("/login", { userId: "rita" }, { headers: answerWith({ "x-gateway-session": JSON.stringify({ userId: "rita" }), ...cacheable }) }));
                const token = await handler(answering("/token", { userId: "rita" }, { headers: answerWith({ "x-gateway-session": JSON.stringify({ userId: "rita" }), ...cacheable }) }));
                const logout = await handler(answering("/account", { revoke: "current" }, { headers: answerWith({ "x-gateway-session": JSON.stringify({ revoke: "current" }), ...cacheable }), cookies: [`__Host-session=${tokenOf(login)}`] }));
                // then each carries its cookie or token, and caches are told to store none of it
                assert.ok(sessionCookieOf(renewed) && sessionCookieOf(login) && token.headers!["x-gateway-session-token"] && sessionCookieOf(logout));
                for (const [name, result] of Object.entries({ renewed, login, token, logout })) {
                    assert.equal(result.statusCode, 200, name);
                    assert.deepEqual(cachingOf(result), { "cache-control": "no-store" }, name);
                }
            });

            it("makes the self-service answer that clears the cookie no-store, and leaves an answer carrying no session as its upstream marked it", async () => {
                const mine = await library.create({ userId: "sam" });
                const handler = gateway();
                const revoked = await handler(event({ method: "DELETE", path: `/.well-known/sessions/${mine.session.sessionId}`, cookies: [`__Host-session=${mine.token}`] }));
                const other = await library.create({ userId: "sam" });
                const plain = await handler(event({ path: "/users/answer", headers: { authorization: `Bearer ${other.token}`, ...answerWith(cacheable) } }));
                assert.deepEqual(cachingOf(revoked), { "cache-control": "no-store" });
                assert.deepEqual(cachingOf(plain), cacheable);
            });
        });

        describe("ending sessions", () => {
            it("revokes the caller's session on {revoke: current}, clears the cookie, and the next request is 401", async () => {
                const { token } = await library.create({ userId: "dave" });
                const kept = await library.create({ userId: "dave" });
                const result = await gateway()(answering("/account", { revoke: "current" }, { cookies: [`__Host-session=${token}`] }));
                assert.equal(result.statusCode, 200);
                assert.equal(sessionCookieOf(result), "__Host-session=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0");
                assert.equal(result.headers!["cache-control"], "no-store");
                const after = await gateway()(event({ path: "/users/me", cookies: [`__Host-session=${token}`] }));
                assert.equal(after.statusCode, 401);
                assert.equal((await library.get(kept.token))?.userId, "dave", "the user's other sessions stay");
            });

            it("revokes every session of the user on {revoke: all}, and no other user's", async () => {
                const mine = await Promise.all([1, 2, 3].map(() => library.create({ userId: "erin" })));
                const theirs = await library.create({ userId: "frank" });
                const result = await gateway()(answering("/account", { revoke: "all" }, { headers: { authorization: `Bearer ${mine[0].token}` } }));
                assert.equal(result.statusCode, 200);
                for (const { token } of mine) assert.equal(await library.get(token), undefined);
                assert.equal((await library.get(theirs.token))?.userId, "frank");
            });

            it("ignores a revoke from a route that does not end sessions", async () => {
                const { token } = await library.create({ userId: "gina" });
                const result = await gateway()(answering("/users", { revoke: "all" }, { cookies: [`__Host-session=${token}`] }));
                assert.equal(result.statusCode, 200);
                assert.equal((await library.get(token))?.userId, "gina");
                assert.deepEqual(warnings(), [{ route: "users", message: "x-gateway-session ignored: the route does not end sessions" }]);
            });

            it("forgets the user's sessions in the container's cache even when revoking them all fails part way (503)", async () => {
                // given three sessions of a user, each served from the container's cache, and a DynamoDB that refuses the second delete
                const failing = clientFor(suite.dynamo.endpoint, { cacheMiddleware: true, maxAttempts: 1 });
                let deletes = 0;
                failing.middlewareStack.add(
                    (next, context) => async (args) => {
                        if (context.commandName === "DeleteItemCommand" && ++deletes === 2) throw Object.assign(new Error("refused"), { name: "InternalServerError" });
                        return next(args);
                    },
                    { step: "initialize", name: "refuseTheSecondDelete" },
                );
                try {
                    const handler = gateway({ sessionCacheSeconds: 60 }, {}, failing);
                    const mine = await Promise.all([1, 2, 3].map(() => library.create({ userId: "hana" })));
                    for (const { token } of mine) assert.equal((await handler(event({ path: "/users/me", headers: { authorization: `Bearer ${token}` } }))).statusCode, 200);
                    // when the user logs out everywhere and one delete fails
                    const result = await handler(answering("/account", { revoke: "all" }, { headers: { authorization: `Bearer ${mine[0].token}` } }));
                    assert.equal(result.statusCode, 503);
                    // then every session that was deleted is refused at once, not served from the cache; the one left stays valid
                    const left = await Promise.all(mine.map(async ({ token }) => (await library.get(token)) !== undefined));
                    assert.deepEqual(left.filter(Boolean).length, 1, "one delete failed");
                    const statuses = await Promise.all(mine.map(async ({ token }) => (await handler(event({ path: "/users/me", headers: { authorization: `Bearer ${token}` } }))).statusCode));
                    assert.deepEqual(statuses, left.map((stored) => (stored ? 200 : 401)));
                } finally {
                    failing.destroy();
                }
            });

            it("forgets a revoked session in the container's cache at once", async () => {
                const handler = gateway({ sessionCacheSeconds: 60 });
                const { token } = await library.create({ userId: "hal" });
                assert.equal((await handler(event({ path: "/users/me", cookies: [`__Host-session=${token}`] }))).statusCode, 200);
                await handler(answering("/account", { revoke: "current" }, { cookies: [`__Host-session=${token}`] }));
                assert.equal((await handler(event({ path: "/users/me", cookies: [`__Host-session=${token}`] }))).statusCode, 401);
            });
        });

        describe("the caller's own sessions", () => {
            it("lists only the caller's active sessions, with ids and times and never a token, the current one marked", async () => {
                const current = await library.create({ userId: "ivy", ttlSeconds: 600 });
                const other = await library.create({ userId: "ivy", ttlSeconds: 1200 });
                await library.create({ userId: "ivy", ttlSeconds: 10 });
                await library.create({ userId: "jack" });
                suite.clock.advance(60_000);
                const result = await gateway()(event({ path: "/.well-known/sessions", cookies: [`__Host-session=${current.token}`] }));
                assert.equal(result.statusCode, 200);
                assert.equal(result.headers!["cache-control"], "no-store");
                assert.match(String(result.headers!["ratelimit-policy"]), /^"\/\.well-known\/sessions";q=1000;w=60$/);
                assert.deepEqual(bodyOf(result), {
                    sessions: [
                        { id: other.session.sessionId, createdAt: new Date(other.session.createdAt * 1000).toISOString(), expiresAt: new Date(other.session.expiresAt * 1000).toISOString(), current: false },
                        { id: current.session.sessionId, createdAt: new Date(current.session.createdAt * 1000).toISOString(), expiresAt: new Date(current.session.expiresAt * 1000).toISOString(), current: true },
                    ],
                });
                assert.ok(!result.body!.includes(current.token) && !result.body!.includes(other.token));
            });

            it("revokes another of the caller's sessions, and answers 404 for another user's, leaving it valid", async () => {
                const mine = await library.create({ userId: "kim" });
                const myPhone = await library.create({ userId: "kim" });
                const theirs = await library.create({ userId: "lee" });
                const handler = gateway();
                const stolen = await handler(event({ method: "DELETE", path: `/.well-known/sessions/${theirs.session.sessionId}`, cookies: [`__Host-session=${mine.token}`] }));
                assert.equal(stolen.statusCode, 404);
                assert.equal((await library.get(theirs.token))?.userId, "lee");
                const phone = await handler(event({ method: "DELETE", path: `/.well-known/sessions/${myPhone.session.sessionId}`, cookies: [`__Host-session=${mine.token}`] }));
                assert.equal(phone.statusCode, 204);
                assert.equal(sessionCookieOf(phone), undefined, "the caller's own cookie stays");
                assert.equal((await handler(event({ path: "/users/me", headers: { authorization: `Bearer ${myPhone.token}` } }))).statusCode, 401);
                assert.equal((await handler(event({ path: "/users/me", cookies: [`__Host-session=${mine.token}`] }))).statusCode, 200);
            });

            it("refuses a caller over tollgate:defaultRateLimit with 429 and the rate-limit headers, serving no list and revoking nothing", async () => {
                // given a default limit of 2 a minute by ip, which the self-service endpoint shares with routes without a limit of their own
                const handler = gateway({ defaultRateLimit: { by: "ip", limit: 2, windowSeconds: 60, algorithm: "fixed" } });
                const mine = await library.create({ userId: "olga" });
                const myPhone = await library.create({ userId: "olga" });
                suite.clock.toWindowStart("ip:198.51.100.7", 60);
                const asOlga = (options: EventOptions) => handler(event({ ...options, cookies: [`__Host-session=${mine.token}`] }));
                const admitted = [await asOlga({ path: "/.well-known/sessions" }), await asOlga({ path: "/.well-known/sessions" })];
                suite.counting.reset();
                // when the caller goes on within the window
                const list = await asOlga({ path: "/.well-known/sessions" });
                const revoke = await asOlga({ method: "DELETE", path: `/.well-known/sessions/${myPhone.session.sessionId}` });
                const elsewhere = await asOlga({ path: "/open/x" });
                // then each is refused, the list is neither read nor sent, and the other session stays
                assert.deepEqual(
                    admitted.map((result) => result.statusCode),
                    [200, 200],
                );
                assert.deepEqual(
                    [list, revoke, elsewhere].map((result) => result.statusCode),
                    [429, 429, 429],
                );
                for (const refused of [list, revoke]) {
                    assert.equal(refused.headers!["content-type"], "application/problem+json");
                    // The clock stands on the first second of the key's window: it ends in 60 seconds.
                    assert.equal(refused.headers!["ratelimit-policy"], '"/.well-known/sessions";q=2;w=60');
                    assert.equal(refused.headers!["ratelimit"], '"/.well-known/sessions";r=0;t=60');
                    assert.equal(refused.headers!["retry-after"], "60");
                }
                assert.equal(bodyOf(list).sessions, undefined);
                assert.ok(!list.body!.includes(mine.session.sessionId) && !list.body!.includes(myPhone.session.sessionId), "a session id in the refusal");
                assert.equal(suite.counting.on(suite.tables.sessions).Query, undefined, "the caller's sessions were read");
                assert.equal((await library.get(myPhone.token))?.userId, "olga");
            });

            it("clears the cookie when the caller revokes its current session", async () => {
                const mine = await library.create({ userId: "max" });
                const result = await gateway()(event({ method: "DELETE", path: `/.well-known/sessions/${mine.session.sessionId}`, cookies: [`__Host-session=${mine.token}`] }));
                assert.equal(result.statusCode, 204);
                assert.equal(sessionCookieOf(result), "__Host-session=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0");
            });

            it("refuses a caller without a valid session, a malformed id, and other methods", async () => {
                const handler = gateway();
                const mine = await library.create({ userId: "ned" });
                assert.equal((await handler(event({ path: "/.well-known/sessions" }))).statusCode, 401);
                assert.equal((await handler(event({ path: "/.well-known/sessions", headers: { authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x" } }))).statusCode, 401);
                assert.equal((await handler(event({ method: "DELETE", path: "/.well-known/sessions/abc", cookies: [`__Host-session=${mine.token}`] }))).statusCode, 404);
                assert.equal((await handler(event({ method: "DELETE", path: `/.well-known/sessions/${mine.session.sessionId}/x`, cookies: [`__Host-session=${mine.token}`] }))).statusCode, 404);
                const post = await handler(event({ method: "POST", path: "/.well-known/sessions", cookies: [`__Host-session=${mine.token}`] }));
                assert.equal(post.statusCode, 405);
                assert.equal(post.headers!.allow, "GET, HEAD");
                assert.equal((await library.get(mine.token))?.userId, "ned");
            });
        });

        describe("rolling sessions", () => {
            const hour = 3600;
            beforeEach(() => {
                // Fifty parallel requests keep a test DynamoDB busy: patience, not retries, so each operation is sent (and counted) once.
                suite.counting.destroy();
                suite.counting = countingClient(suite.dynamo, { timeoutMs: 15_000 });
            });
            async function dueSession(userId: string) {
                // issued an hour ago... 50 minutes ago, with an hour to live: 10 minutes left
                const created = await library.create({ userId, ttlSeconds: hour });
                suite.clock.advance(50 * 60_000);
                return created;
            }

            it("renews a session with less life left than renewWithinSeconds once under 50 parallel requests, and refreshes the cookie's Max-Age", async () => {
                const { token, session } = await dueSession("olga");
                const handler = gateway({}, { renewWithinSeconds: 15 * 60 });
                suite.counting.reset();
                const results = await Promise.all(Array.from({ length: 50 }, () => handler(event({ path: "/users/me", cookies: [`__Host-session=${token}`] }))));
                assert.deepEqual(results.filter((result) => result.statusCode !== 200).map((result) => `${result.statusCode} ${result.body}`), []);
                assert.deepEqual(suite.counting.on(suite.tables.sessions).UpdateItem, 1);
                assert.equal((await library.get(token))?.expiresAt, session.expiresAt + hour);
                const refreshed = results.map(sessionCookieOf).filter((cookie) => cookie !== undefined);
                assert.ok(refreshed.length >= 1, "the cookie is set again");
                for (const cookie of refreshed) assert.equal(cookie, `__Host-session=${token}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=${10 * 60 + hour}`);
                // and the next wave writes nothing: the session is a TTL away from the window
                suite.counting.reset();
                await Promise.all(Array.from({ length: 50 }, () => handler(event({ path: "/users/me", cookies: [`__Host-session=${token}`] }))));
                assert.equal(suite.counting.on(suite.tables.sessions).UpdateItem, undefined);
            });

            it("renews once with the session cache on, and a bearer caller gets no cookie", async () => {
                const { token, session } = await dueSession("pia");
                const handler = gateway({ sessionCacheSeconds: 10 }, { renewWithinSeconds: 15 * 60 });
                suite.counting.reset();
                const results = await Promise.all(Array.from({ length: 20 }, () => handler(event({ path: "/users/me", headers: { authorization: `Bearer ${token}` } }))));
                assert.ok(results.every((result) => result.statusCode === 200 && sessionCookieOf(result) === undefined));
                assert.equal(suite.counting.on(suite.tables.sessions).UpdateItem, 1);
                assert.equal((await library.get(token))?.expiresAt, session.expiresAt + hour);
            });

            it("never renews a session past its maximum lifetime from login, and then lets it end", async () => {
                // given a session issued with an hour to live, in a stack whose sessions live 90 minutes at most
                const { token, session } = await dueSession("rhea");
                const handler = gateway({}, { renewWithinSeconds: 15 * 60, maxLifetimeSeconds: 90 * 60 });
                // when it is used with 10 minutes left: renewed, but only to 90 minutes after its creation
                const renewed = await handler(event({ path: "/users/me", cookies: [`__Host-session=${token}`] }));
                assert.equal(renewed.statusCode, 200);
                assert.equal((await library.get(token))?.expiresAt, session.createdAt + 90 * 60);
                assert.equal(sessionCookieOf(renewed), `__Host-session=${token}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=${40 * 60}`);
                // and used again in its last 10 minutes: nothing is written, and at 90 minutes it is over
                suite.clock.advance(35 * 60_000);
                suite.counting.reset();
                const last = await handler(event({ path: "/users/me", cookies: [`__Host-session=${token}`] }));
                assert.equal(last.statusCode, 200);
                assert.equal(sessionCookieOf(last), undefined, "no cookie refreshed");
                assert.equal(suite.counting.on(suite.tables.sessions).UpdateItem, undefined);
                suite.clock.advance(5 * 60_000);
                assert.equal((await handler(event({ path: "/users/me", cookies: [`__Host-session=${token}`] }))).statusCode, 401);
            });

            it("writes nothing while a session is outside the window, or when renewal is off", async () => {
                const { token } = await library.create({ userId: "quin", ttlSeconds: hour });
                suite.counting.reset();
                await gateway({}, { renewWithinSeconds: 15 * 60 })(event({ path: "/users/me", cookies: [`__Host-session=${token}`] }));
                suite.clock.advance(50 * 60_000);
                await gateway()(event({ path: "/users/me", cookies: [`__Host-session=${token}`] }));
                assert.equal(suite.counting.on(suite.tables.sessions).UpdateItem, undefined);
            });
        });
    });
}
