/**
 * The trust boundary, tried as an attacker would, against the running local
 * gateway (`npm start`'s start-up in this process, with the handler the
 * Lambda runs) and one recording upstream behind every route: what a client
 * can make the upstream believe, which credentials can leave the gateway,
 * whether the upstream receives exactly what the client sent, and what an
 * upstream can do to the gateway.
 */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import * as path from "node:path";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { generateKeyPair, SignJWT } from "jose";
import { parseOptions } from "../local/options";
import { startLocal, type CreateHandler, type LocalGateway } from "../local/start";
import { createSessions, SessionInputError, type Sessions } from "../runtime/sessions";
import { normalisedHeaderName } from "../runtime/steps/proxy";
import { gatewayKeysOf, type KeyMaterial } from "../runtime/auth/gatewayKeys";
import { windowStartOf } from "../runtime/steps/rateLimit";
import { loadStackConfig } from "../specs/stackFile";
import { clientFor } from "./support/dynamo";
import { freePort } from "./support/loopback";
import { gzippedJson, linesNamed, startRecordingUpstream, startVerifyingUpstream, type ArrivedRequest, type RecordingUpstream, type VerifyingUpstream } from "./support/upstreams";

const projectDir = path.resolve(__dirname, "..");
const stackFile = path.join(projectDir, "test", "fixtures", "stacks", "Pulumi.boundary.yaml");
const stack = loadStackConfig("boundary", { file: stackFile });
const jwtSecret = "boundary-test-secret-of-at-least-32-characters";

export interface RawAnswer {
    status: number;
    headers: http.IncomingHttpHeaders;
    rawHeaders: string[];
    body: Buffer;
}

/** A request with exactly these header lines (repeats and spelling kept), as curl or a browser would send them. */
export function rawRequest(url: string, options: { method?: string; path: string; headers?: [string, string][]; body?: Buffer }): Promise<RawAnswer> {
    const { hostname, port, host } = new URL(url);
    // Given as lines, headers go out exactly so; Node then adds no Host of its own.
    const lines = options.headers?.some(([name]) => name.toLowerCase() === "host") ? options.headers : [["Host", host] as [string, string], ...(options.headers ?? [])];
    return new Promise((resolve, reject) => {
        const request = http.request(
            { host: hostname, port, method: options.method ?? "GET", path: options.path, headers: lines.flat(), agent: false },
            (response) => {
                const chunks: Buffer[] = [];
                response.on("data", (chunk: Buffer) => chunks.push(chunk));
                response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, rawHeaders: response.rawHeaders, body: Buffer.concat(chunks) }));
                response.on("error", reject);
            },
        );
        request.on("error", reject);
        request.end(options.body);
    });
}

/** Every header line of an arrived request whose name reads as `name` to a server folding `_` into `-`. */
function linesReadAs(request: ArrivedRequest, name: string): string[] {
    return request.rawHeaders.filter(([line]) => normalisedHeaderName(line) === name).map(([line, value]) => `${line}: ${value}`);
}

describe("the trust boundary, against the local gateway and a recording upstream", function () {
    let upstream: RecordingUpstream;
    let verifier: VerifyingUpstream;
    let gateway: LocalGateway;
    let sessions: Sessions;
    let documents: DynamoDBDocumentClient;
    let storeClient: ReturnType<typeof clientFor>;
    let destroyClient: () => void;

    before(async function () {
        this.timeout(60_000);
        upstream = await startRecordingUpstream();
        // The verifier needs the gateway's JWKS URL before the gateway starts: its port is chosen here.
        const port = await freePort();
        verifier = await startVerifyingUpstream({ jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`, issuer: "urn:tollgate:tollgate-boundary" });
        const upstreamOf = (name: string) => (name.startsWith("vouched-") ? `${verifier.url}/${name}` : `${upstream.url}/${name}`);
        const options = parseOptions(
            ["--config", stackFile, "--memory", "--port", String(port), ...stack.settings.routes.flatMap((route) => ["--upstream", `${route.name}=${upstreamOf(route.name)}`])],
            { DYNAMODB_PORT: String(await freePort()), TOLLGATE_JWT_SECRET: jwtSecret },
            projectDir,
        );
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { createHandler } = require("../runtime/handler") as { createHandler: CreateHandler };
        gateway = await startLocal(options, stack, createHandler);
        const client = clientFor(gateway.store.endpoint);
        storeClient = client;
        destroyClient = () => client.destroy();
        documents = DynamoDBDocumentClient.from(client);
        sessions = createSessions({ dynamo: client, tableName: gateway.settings.tables.sessions });
    });
    after(async () => {
        destroyClient?.();
        await gateway?.close();
        await upstream?.close();
        await verifier?.close();
    });
    beforeEach(() => {
        upstream.requests.length = 0;
        verifier.seen.length = 0;
    });

    const jwt = (claims: Record<string, unknown>, subject = "carol") =>
        new SignJWT(claims)
            .setProtectedHeader({ alg: "HS256", typ: "JWT" })
            .setSubject(subject)
            .setIssuer(stack.settings.jwt.issuer!)
            .setAudience(stack.settings.jwt.audience!)
            .setIssuedAt()
            .setExpirationTime("5m")
            .sign(new TextEncoder().encode(jwtSecret));
    const send = (requestPath: string, headers: [string, string][] = [], options: { method?: string; body?: Buffer } = {}) =>
        rawRequest(gateway.url, { path: requestPath, headers, ...options });

    describe("an identity upstreams can verify", function () {
        it("lets an upstream verify, with jose against the gateway's JWKS, who the caller is on an anonymous and a session route", async () => {
            const { token } = await sessions.create({ userId: "bob", username: "Bob", roles: ["member"], permissions: ["read"] });

            const anonymous = await send("/vouched-open/x", [["x-gateway-user-id", "mallory"]]);
            const authenticated = await send("/vouched-account/me", [["authorization", `Bearer ${token}`]]);

            assert.equal(anonymous.status, 200, anonymous.body.toString());
            assert.equal(authenticated.status, 200, authenticated.body.toString());
            const [open, account] = verifier.seen.map((entry) => ("claims" in entry ? entry.claims : assert.fail(entry.refused)));
            assert.equal(open.sub, undefined, "an anonymous request names no user, whatever headers it sent");
            assert.deepEqual([open.aud, open.auth, open.roles, open.permissions], ["vouched-open", "none", [], []]);
            assert.deepEqual([account.sub, account.username, account.roles, account.permissions, account.auth, account.aud], ["bob", "Bob", ["member"], ["read"], "session", "vouched-account"]);
            assert.equal(account.iss, "urn:tollgate:tollgate-boundary");
            assert.notEqual(account.jti, authenticated.headers["x-request-id"], "jti names the assertion, not the request");
            assert.equal((account.exp as number) - (account.iat as number), 60);
        });

        it("lets the upstream refuse a request sent to it directly with forged headers, a forged, expired or replayed assertion", async () => {
            const { token } = await sessions.create({ userId: "bob" });
            await send("/vouched-account/me", [["authorization", `Bearer ${token}`]]);
            const [genuine] = verifier.seen.map((entry) => ("claims" in entry ? entry.claims : assert.fail(entry.refused)));
            // an assertion the gateway issued for another route, taken from a request to it
            await send("/open/leak");
            const leaked = linesNamed(upstream.to("open")[0], "x-gateway-assertion")[0];
            const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
            const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...genuine, sub: "root", permissions: ["admin"] })}.`;
            const [header, , signature] = leaked.split(".");
            const tampered = `${header}.${b64({ ...genuine, sub: "root" })}.${signature}`;
            const otherKey = await new SignJWT({ ...genuine, sub: "root" }).setProtectedHeader({ alg: "ES256", kid: JSON.parse(Buffer.from(header, "base64url").toString()).kid }).sign((await generateKeyPair("ES256")).privateKey);
            // a genuine assertion, signed with the gateway's own key, replayed after it expired
            const material = (gateway.settings.gatewayKeys as { value: KeyMaterial }).value;
            const expired = gatewayKeysOf(material).sign({ ...genuine, iat: (genuine.iat as number) - 600, exp: (genuine.exp as number) - 600 });

            const direct = (headers: [string, string][]) => rawRequest(verifier.url, { path: "/vouched-account/me", headers });
            const answers = await Promise.all([
                direct([["x-gateway-user-id", "root"], ["x-gateway-permissions", "admin"]]),
                direct([["x-gateway-assertion", unsigned]]),
                direct([["x-gateway-assertion", tampered]]),
                direct([["x-gateway-assertion", otherKey]]),
                direct([["x-gateway-assertion", leaked]]),
                direct([["x-gateway-assertion", expired]]),
            ]);

            assert.deepEqual(answers.map((answer) => answer.status), [401, 401, 401, 401, 401, 401]);
            assert.deepEqual(
                answers.map((answer) => JSON.parse(answer.body.toString()).refused),
                ["no assertion", "ERR_JOSE_ALG_NOT_ALLOWED", "ERR_JWS_SIGNATURE_VERIFICATION_FAILED", "ERR_JWS_SIGNATURE_VERIFICATION_FAILED", "ERR_JWT_CLAIM_VALIDATION_FAILED", "ERR_JWT_EXPIRED"],
            );
        });

        it("serves its JWKS, cacheable and not rate-limited, with the key that signs", async () => {
            const answers = await Promise.all(Array.from({ length: 30 }, () => send("/.well-known/jwks.json")));

            assert.ok(answers.every((answer) => answer.status === 200));
            const [first] = answers;
            assert.equal(first.headers["cache-control"], "public, max-age=300");
            assert.equal(first.headers["content-type"], "application/jwk-set+json");
            assert.equal(first.headers.ratelimit, undefined);
            const { keys } = JSON.parse(first.body.toString());
            assert.equal(keys.length, 1);
            assert.deepEqual(Object.keys(keys[0]).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"], "the public half only");
            await send("/open/x");
            const signedWith = JSON.parse(Buffer.from(linesNamed(upstream.to("open")[0], "x-gateway-assertion")[0].split(".")[0], "base64url").toString()).kid;
            assert.equal(signedWith, keys[0].kid);
            assert.equal((await send("/.well-known/jwks.json", [], { method: "POST" })).status, 405);
        });
    });

    describe("nothing a client sends can look like the gateway", function () {
        const forged: [string, string][] = [
            ["x_gateway_user_id", "alice"],
            ["x_gateway_permissions", "admin"],
            ["X-Gateway-Roles", "admin"],
            ["X-GATEWAY_ASSERTION", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9."],
            ["x-request-id", "forged-id"],
            ["X_Request_Id", "forged-id-2"],
            ["x_forwarded_for", "6.6.6.6"],
            ["X-Forwarded-Host", "evil.example"],
        ];

        it("drops x-gateway-*, x-request-id and their _-spelled twins on a none route, and every twin of a header the gateway passes on", async () => {
            const answer = await send("/open/whoami", forged);

            assert.equal(answer.status, 200);
            const [arrived] = upstream.to("open");
            for (const name of ["x-gateway-user-id", "x-gateway-permissions", "x-gateway-roles"]) assert.deepEqual(linesReadAs(arrived, name), [], name);
            assert.equal(linesReadAs(arrived, "x-gateway-assertion").length, 1, "only the gateway's own assertion");
            assert.notEqual(linesNamed(arrived, "x-gateway-assertion")[0], forged[3][1]);
            assert.deepEqual(linesReadAs(arrived, "x-request-id"), [`x-request-id: ${answer.headers["x-request-id"]}`]);
            assert.deepEqual(linesReadAs(arrived, "x-forwarded-for"), ["x-forwarded-for: 127.0.0.1"]);
            assert.deepEqual(linesReadAs(arrived, "x-forwarded-host"), [`x-forwarded-host: ${new URL(gateway.url).host}`]);
        });

        it("on a session route, the upstream reads one user id, the session's: a spoofed twin is not merged into it", async () => {
            const { token } = await sessions.create({ userId: "bob", roles: ["member"], permissions: ["read"] });

            const answer = await send("/account/me", [["authorization", `Bearer ${token}`], ...forged]);

            assert.equal(answer.status, 200);
            const [arrived] = upstream.to("account");
            assert.deepEqual(linesReadAs(arrived, "x-gateway-user-id"), ["x-gateway-user-id: bob"]);
            assert.deepEqual(linesReadAs(arrived, "x-gateway-roles"), ["x-gateway-roles: member"]);
            assert.deepEqual(linesReadAs(arrived, "x-gateway-permissions"), ["x-gateway-permissions: read"]);
        });
    });

    describe("credentials never leave the gateway", function () {
        it("removes the session cookie and a bearer session token on a none route, keeping the other cookies", async () => {
            const { token } = await sessions.create({ userId: "dana" });

            await send("/open/page", [
                ["authorization", `Bearer ${token}`],
                ["cookie", `theme=dark; session=${token}; lang=en`],
            ]);

            const [arrived] = upstream.to("open");
            assert.deepEqual(linesNamed(arrived, "authorization"), []);
            assert.deepEqual(linesNamed(arrived, "cookie"), ["theme=dark; lang=en"]);
            assert.ok(!JSON.stringify(arrived.rawHeaders).includes(token), "the token reached the upstream");
        });

        it("refuses more than one Authorization header with 400, on every kind of route, and calls no upstream", async () => {
            const token = await jwt({ permissions: ["admin"] });
            const answers = await Promise.all([
                send("/open/x", [["authorization", "Basic YTpi"], ["authorization", "Basic Yzpk"]]),
                send("/admin/x", [["authorization", `Bearer ${token}`], ["authorization", `Bearer ${token}`]]),
                send("/admin/x", [["authorization", `Bearer ${token}, Bearer ${token}`]]),
            ]);

            assert.deepEqual(answers.map((answer) => answer.status), [400, 400, 400]);
            assert.equal(answers[0].headers["content-type"], "application/problem+json");
            assert.equal(upstream.requests.length, 0);
        });

        it("keeps one credential with comma-separated parameters (Digest) as one", async () => {
            const digest = 'Digest username="a, b", realm="x", nonce="y", uri="/open/x", response="z"';
            const answer = await send("/open/x", [["authorization", digest]]);

            assert.equal(answer.status, 200);
            assert.deepEqual(linesNamed(upstream.to("open")[0], "authorization"), [digest]);
        });

        it("forwards a JWT only on a route with forwardAuthorization; Basic on a none route stays the upstream's", async () => {
            const token = await jwt({ permissions: ["admin"] });

            await send("/admin/x", [["authorization", `Bearer ${token}`]]);
            await send("/partner/x", [["authorization", `Bearer ${token}`]]);
            await send("/open/x", [["authorization", `Bearer ${token}`]]);
            await send("/open/basic", [["authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"]]);

            assert.deepEqual(linesNamed(upstream.to("admin")[0], "authorization"), []);
            assert.deepEqual(linesNamed(upstream.to("partner")[0], "authorization"), [`Bearer ${token}`]);
            assert.deepEqual(linesNamed(upstream.to("open/x")[0], "authorization"), []);
            assert.deepEqual(linesNamed(upstream.to("open/basic")[0], "authorization"), ["Basic YWxhZGRpbjpvcGVuc2VzYW1l"]);
        });

        it("drops an upstream's Set-Cookie for the session cookie and passes its others", async () => {
            const answer = await send("/open/set-cookie");

            assert.equal(answer.status, 200);
            assert.deepEqual(answer.headers["set-cookie"], ["theme=dark; Path=/"]);
        });
    });

    describe("cross-site requests with the session cookie", function () {
        it("refuses an unsafe request authenticated by the cookie from an origin that is neither the gateway's nor allowed (403)", async () => {
            const { token } = await sessions.create({ userId: "erin" });
            const cookie: [string, string] = ["cookie", `session=${token}`];
            const post = (headers: [string, string][]) => send("/account/transfer", headers, { method: "POST", body: Buffer.from("{}") });

            const forged = await post([cookie, ["origin", "https://evil.example"]]);
            const sandboxed = await post([cookie, ["origin", "null"]]);
            const deleteForged = await rawRequest(gateway.url, { method: "DELETE", path: "/account/me", headers: [cookie, ["origin", "https://evil.example"]] });
            const allowed = await post([cookie, ["origin", "https://app.example.com"]]);
            const sameOrigin = await post([cookie, ["origin", gateway.url]]);
            const noOrigin = await post([cookie]);
            const read = await send("/account/me", [cookie, ["origin", "https://evil.example"]]);
            const bearer = await post([["authorization", `Bearer ${token}`], ["origin", "https://evil.example"]]);

            assert.deepEqual(
                [forged, sandboxed, deleteForged, allowed, sameOrigin, noOrigin, read, bearer].map((answer) => answer.status),
                [403, 403, 403, 200, 200, 200, 200, 200],
            );
            assert.equal(JSON.parse(forged.body.toString()).detail, "A request carrying the session cookie must come from an allowed origin.");
            assert.equal(upstream.to("account").length, 5, "the refused ones never reached the upstream");
        });
    });

    describe("identity values are never lost or ambiguous", function () {
        it("sends a non-ASCII JWT sub percent-encoded, so the upstream decodes the user it was given", async () => {
            const token = await jwt({ permissions: ["admin"], roles: ["管理者", "ops"] }, "用户,1");

            const answer = await send("/admin/me", [["authorization", `Bearer ${token}`]]);

            assert.equal(answer.status, 200);
            const [arrived] = upstream.to("admin");
            assert.equal(linesNamed(arrived, "x-gateway-user-id")[0], "%E7%94%A8%E6%88%B7%2C1");
            assert.equal(decodeURIComponent(linesNamed(arrived, "x-gateway-user-id")[0]), "用户,1");
            assert.deepEqual(linesNamed(arrived, "x-gateway-roles")[0].split(",").map(decodeURIComponent), ["管理者", "ops"]);
        });

        it("refuses a JWT with a role holding a comma or CR/LF (401), and a session library refuses such a role at creation", async () => {
            const comma = await jwt({ permissions: ["admin"], roles: ["user,admin"] });
            const crlf = await jwt({ permissions: ["admin"], roles: ["user\r\nx-gateway-user-id: root"] });

            assert.equal((await send("/admin/x", [["authorization", `Bearer ${comma}`]])).status, 401);
            assert.equal((await send("/admin/x", [["authorization", `Bearer ${crlf}`]])).status, 401);
            assert.equal(upstream.requests.length, 0);
            await assert.rejects(sessions.create({ userId: "eve", roles: ["user,admin"] }), (error: unknown) => error instanceof SessionInputError && error.field === "roles");
            await assert.rejects(sessions.create({ userId: "eve", permissions: ["read\r\nwrite"] }), (error: unknown) => error instanceof SessionInputError && error.field === "permissions");
        });
    });

    describe("the path the upstream gets", function () {
        it("refuses ..; and its encoded spellings with 400", async () => {
            for (const attempt of ["/open/..;/admin", "/open/%2e%2e;/admin", "/open/%2e%2e%3b/admin", "/open/%252e%252e/admin", "/open/.;x/admin", "/open/..%253b/admin"]) {
                assert.equal((await send(attempt)).status, 400, attempt);
            }
            assert.equal(upstream.requests.length, 0);
        });

        it("decodes the client's path exactly once: %2541 reaches the upstream as %2541 (the text %41)", async () => {
            await send("/open/%2541/a%20b/%E2%82%AC");

            assert.equal(upstream.to("open")[0].target, "/open/%2541/a%20b/%E2%82%AC");
        });
    });

    describe("the route of a path is the one the servers behind it read", function () {
        it("refuses with 400, calling no upstream, a path the public prefix takes as sent and the protected one as read", async () => {
            const attempts = [
                "/portal/admin;x",
                "/portal/admin;jsessionid=0A1B/users",
                "/portal/admin%3b",
                "/portal/ADMIN",
                "/portal/Admin/users",
                "/portal/admin%20",
                "/portal/admin.",
                "/portal/admin.%20.",
                "/portal/admin%2520",
                "/portal/admi%256e",
                "/portal/%3bx/admin",
                "/portal/.../admin",
            ];
            const answers = await Promise.all(attempts.map((attempt) => send(attempt, [], { method: "POST", body: Buffer.from("{}") })));

            assert.deepEqual(Object.fromEntries(attempts.map((attempt, i) => [attempt, answers[i].status])), Object.fromEntries(attempts.map((attempt) => [attempt, 400])));
            assert.equal(answers[0].headers["content-type"], "application/problem+json");
            assert.equal(upstream.requests.length, 0);
        });

        it("sends a path both readings agree on to its route, and one only the servers' reading matches to the protected route", async () => {
            const { token } = await sessions.create({ userId: "pat" });

            const page = await send("/portal/page");
            const anonymous = await send("/PORTAL/ADMIN/users");
            const signedIn = await send("/PORTAL/ADMIN/users", [["authorization", `Bearer ${token}`]]);

            assert.deepEqual([page.status, anonymous.status, signedIn.status], [200, 401, 200]);
            assert.deepEqual(upstream.requests.map((request) => request.target), ["/portal/page", "/portal-admin/users"]);
        });
    });

    describe("no token in a cacheable answer", function () {
        const cachingOf = (answer: RawAnswer) => ({ cacheControl: answer.headers["cache-control"], cdn: answer.headers["cdn-cache-control"] });

        it("answers a login and a renewal with no-store although the upstream marked them public, and leaves other answers as marked", async () => {
            // given a half-hour session issued 20 minutes ago: due for renewal (the stack renews within the last hour, or the session's own TTL)
            const issuedEarlier = createSessions({ dynamo: storeClient, tableName: gateway.settings.tables.sessions, now: () => Date.now() - 20 * 60_000 });
            const due = await issuedEarlier.create({ userId: "ivy", ttlSeconds: 1800 });
            const instruction = encodeURIComponent(JSON.stringify({ userId: "ivy" }));

            const login = await send(`/signin/cacheable?session=${instruction}`, [], { method: "POST" });
            const renewed = await send("/account/cacheable", [["cookie", `session=${due.token}`]]);
            const plain = await send("/open/cacheable");

            assert.equal(login.status, 200);
            assert.match(String(login.headers["set-cookie"]), /^session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Lax; Path=\/; Max-Age=86400$/);
            assert.ok(login.headers["x-gateway-session-token"]);
            assert.equal(renewed.status, 200);
            assert.match(String(renewed.headers["set-cookie"]), new RegExp(`^session=${due.token}; `));
            assert.deepEqual([cachingOf(login), cachingOf(renewed)], [{ cacheControl: "no-store", cdn: undefined }, { cacheControl: "no-store", cdn: undefined }]);
            assert.deepEqual(cachingOf(plain), { cacheControl: "public, max-age=600", cdn: "max-age=600" });
        });
    });

    describe("failed authentications never lock out valid callers", function () {
        it("admits a valid session and a valid JWT from an address that has just sent 200 invalid tokens, while the guessing is refused", async function () {
            this.timeout(60_000);
            const { token } = await sessions.create({ userId: "nat" });
            const valid = await jwt({});
            const forged = await new SignJWT({}).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setSubject("carol").setIssuer(stack.settings.jwt.issuer!).setAudience(stack.settings.jwt.audience!).setIssuedAt().setExpirationTime("5m").sign(new TextEncoder().encode("x".repeat(48)));
            // when one client behind the address sends 200 invalid tokens: unknown session tokens as bearer and cookie, forged JWTs
            const statuses = new Map<number, number>();
            for (let i = 0; i < 200; i++) {
                const guess = String(i).padStart(43, "Q");
                const headers: [string, string][] = i % 3 === 0 ? [["authorization", `Bearer ${guess}`]] : i % 3 === 1 ? [["cookie", `session=${guess}`]] : [["authorization", `Bearer ${forged}`]];
                const answer = await send(i % 3 === 2 ? "/guarded-jwt/x" : "/guarded/x", headers);
                statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            }
            // then guessing was limited, and the valid callers from the same address are admitted
            assert.deepEqual([...statuses.keys()].sort(), [401, 429]);
            const admitted = [await send("/guarded/me", [["authorization", `Bearer ${token}`]]), await send("/guarded/me", [["cookie", `session=${token}`]]), await send("/guarded-jwt/me", [["authorization", `Bearer ${valid}`]])];
            assert.deepEqual(admitted.map((answer) => answer.status), [200, 200, 200]);
            assert.equal(upstream.requests.length, 3, "no invalid token reached an upstream");
        });
    });

    describe("the session cookie", function () {
        it("authenticates a request carrying the session cookie twice as neither (400), in two Cookie headers or in one", async () => {
            const victim = await sessions.create({ userId: "vic" });
            const planted = await sessions.create({ userId: "mal" });

            const twoHeaders = await send("/account/me", [["cookie", `session=${planted.token}`], ["cookie", `session=${victim.token}`]]);
            const oneHeader = await send("/account/me", [["cookie", `session=${victim.token}; theme=dark; session=${planted.token}`]]);
            const sameTwice = await send("/account/me", [["cookie", `session=${victim.token}; session=${victim.token}`]]);

            assert.deepEqual([twoHeaders.status, oneHeader.status, sameTwice.status], [400, 400, 400]);
            assert.equal(JSON.parse(twoHeaders.body.toString()).detail, "Send the session cookie once.");
            assert.equal(upstream.requests.length, 0);
        });

        it("takes no other name of the session cookie as a credential over plain HTTP, and sends none of its names upstream", async () => {
            const { token } = await sessions.create({ userId: "quin" });

            const hostPrefixed = await send("/account/me", [["cookie", `__Host-session=${token}`]]);
            await send("/open/page", [["cookie", `__Host-session=${token}; __Secure-session=${token}; Session=${token}; SESSION=${token}; theme=dark`]]);

            assert.equal(hostPrefixed.status, 401);
            assert.deepEqual(linesNamed(upstream.to("open")[0], "cookie"), ["theme=dark"]);
        });

        it("revokes at a login every session token the request carried: each cookie and the bearer token", async () => {
            const [first, second, bearer] = await Promise.all([sessions.create({ userId: "ron" }), sessions.create({ userId: "ron" }), sessions.create({ userId: "ron" })]);
            const instruction = encodeURIComponent(JSON.stringify({ userId: "ron" }));

            const login = await send(`/signin/cacheable?session=${instruction}`, [["cookie", `session=${first.token}`], ["cookie", `session=${second.token}`], ["authorization", `Bearer ${bearer.token}`]], { method: "POST" });

            assert.equal(login.status, 200);
            for (const old of [first, second, bearer]) assert.equal(await sessions.get(old.token), undefined);
        });
    });

    describe("session instructions that are not well-formed", function () {
        it("answers 502 to a login whose instruction holds a lone surrogate or a role a CSV parser would split, and creates nothing", async () => {
            const bad = ['{"userId":"\\ud800x"}', JSON.stringify({ userId: "sal", roles: ['staff",admin'] }), JSON.stringify({ userId: "sal", permissions: ["a;b"] }), JSON.stringify({ userId: "sal", username: "s\udc00" })];
            const answers = await Promise.all(bad.map((instruction) => send(`/signin/cacheable?session=${encodeURIComponent(instruction)}`, [], { method: "POST" })));

            assert.deepEqual(answers.map((answer) => answer.status), [502, 502, 502, 502]);
            assert.ok(answers.every((answer) => answer.headers["set-cookie"] === undefined));
            const { Items = [] } = await documents.send(new ScanCommand({ TableName: gateway.settings.tables.sessions, ConsistentRead: true }));
            assert.deepEqual(Items.filter((item) => String(item.user_id).startsWith("sal") || String(item.user_id).includes("x")).map((item) => item.user_id), []);
        });
    });

    describe("proxy-control headers are the gateway's", function () {
        it("drops a client's Forwarded, X-Real-IP, X-Forwarded-Prefix, X-Original-URL, method overrides and their twins, and sends the gateway's own Forwarded and X-Forwarded-Port", async () => {
            const spoofed: [string, string][] = [
                ["Forwarded", "for=6.6.6.6;host=evil.example;proto=https"],
                ["X-Real-IP", "6.6.6.6"],
                ["X-Client-IP", "6.6.6.6"],
                ["True-Client-IP", "6.6.6.6"],
                ["X-Forwarded-Host", "evil.example"],
                ["X-Forwarded-Prefix", "/admin"],
                ["X-Forwarded-Port", "8443"],
                ["X-Forwarded-Proto", "https"],
                ["X-Forwarded-Scheme", "https"],
                ["X-Original-URL", "/admin/delete"],
                ["X-Rewrite-URL", "/admin/delete"],
                ["X-HTTP-Method-Override", "DELETE"],
                ["X-HTTP-Method", "DELETE"],
                ["X-Method-Override", "DELETE"],
                ["X_Real_IP", "6.6.6.6"],
                ["X_Original_URL", "/admin/delete"],
                ["Connection", "keep-alive, X-Forwarded-For, Forwarded"],
            ];

            const answer = await send("/open/reset-password", spoofed, { method: "POST" });

            assert.equal(answer.status, 200);
            const [arrived] = upstream.to("open");
            const names = arrived.rawHeaders.map(([name]) => name.toLowerCase());
            for (const name of ["x-real-ip", "x-client-ip", "true-client-ip", "x-forwarded-prefix", "x-forwarded-scheme", "x-original-url", "x-rewrite-url", "x-http-method-override", "x-http-method", "x-method-override", "x_real_ip", "x_original_url"]) {
                assert.ok(!names.includes(name), `${name} reached the upstream`);
            }
            const { host, port } = new URL(gateway.url);
            assert.deepEqual(linesNamed(arrived, "forwarded"), [`for=127.0.0.1;proto=http;host="${host}"`]);
            assert.deepEqual(linesNamed(arrived, "x-forwarded-for"), ["127.0.0.1"]);
            assert.deepEqual(linesNamed(arrived, "x-forwarded-port"), [port]);
            assert.deepEqual(linesNamed(arrived, "x-forwarded-proto"), ["http"]);
            assert.deepEqual(linesNamed(arrived, "x-forwarded-host"), [host]);
        });

        it("keeps X-HTTP-Method-Override on a route that names it, in its own spelling, and still drops the rest", async () => {
            await send("/legacy/items/7", [["X-HTTP-Method-Override", "PATCH"], ["X_HTTP_Method_Override", "DELETE"], ["X-Real-IP", "6.6.6.6"]], { method: "POST" });

            const [arrived] = upstream.to("legacy");
            assert.deepEqual(linesNamed(arrived, "x-http-method-override"), ["PATCH"]);
            assert.deepEqual([linesNamed(arrived, "x_http_method_override"), linesNamed(arrived, "x-real-ip")], [[], []]);
        });
    });

    describe("the trace context is the gateway's to send", function () {
        const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
        const valid = `00-${clientTrace}-00f067aa0ba902b7-01`;
        /** The one traceparent that arrived, and its trace id and parent id. */
        const arrivedTrace = (prefix: string) => {
            const [arrived] = upstream.to(prefix);
            const lines = linesReadAs(arrived, "traceparent");
            assert.equal(lines.length, 1, lines.join("\n"));
            assert.deepEqual(arrived.rawHeaders.filter(([name]) => /^trace[-_]?(parent|state)$/i.test(name) && name !== "traceparent" && name !== "tracestate"), []);
            const [, traceId, parentId] = /^traceparent: 00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(lines[0])!;
            return { arrived, traceId, parentId };
        };

        it("continues a client's valid trace with a parent id of its own, and passes its tracestate on", async () => {
            await send("/open/traced", [["Traceparent", valid], ["Tracestate", "congo=t61rcWkgMzE"]]);
            const { arrived, traceId, parentId } = arrivedTrace("open/traced");
            assert.equal(traceId, clientTrace);
            assert.notEqual(parentId, "00f067aa0ba902b7");
            assert.deepEqual(linesNamed(arrived, "tracestate"), ["congo=t61rcWkgMzE"]);
        });

        for (const [label, lines] of [
            ["two traceparent header lines", [["traceparent", valid], ["traceparent", `00-${"1".repeat(32)}-00f067aa0ba902b7-01`]]],
            ["upper-case hex", [["traceparent", valid.toUpperCase()], ["tracestate", "rojo=1"]]],
            ["an all-zero trace id", [["traceparent", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`]]],
            ["a malformed traceparent", [["traceparent", `00-${clientTrace}-00f067aa0ba902b7-1`]]],
            ["the underscore spellings", [["Trace_Parent", valid], ["trace_state", "rojo=1"]]],
        ] as const) {
            it(`starts a trace of its own for ${label}, and no spelling of the client's trace headers reaches the upstream`, async () => {
                await send("/open/spoofed-trace", lines.map(([name, value]) => [name, value] as [string, string]));
                const { arrived, traceId } = arrivedTrace("open/spoofed-trace");
                assert.notEqual(traceId, clientTrace);
                assert.notEqual(traceId, "1".repeat(32));
                assert.deepEqual(linesNamed(arrived, "tracestate"), []);
            });
        }
    });

    describe("permissions", function () {
        it("refuses a caller holding one of a route's two permissions (403), and admits one holding both", async () => {
            const [one, both] = await Promise.all([
                sessions.create({ userId: "una", permissions: ["reports:read"] }),
                sessions.create({ userId: "bo", permissions: ["reports:export", "reports:read"] }),
            ]);

            const refused = await send("/reports/q3", [["authorization", `Bearer ${one.token}`]]);
            const admitted = await send("/reports/q3", [["authorization", `Bearer ${both.token}`]]);

            assert.deepEqual([refused.status, admitted.status], [403, 200]);
            assert.equal(upstream.to("reports").length, 1);
        });
    });

    describe("the assertion, signed once for a caller's repeated requests", function () {
        it("sends one assertion to a caller's repeated requests, each request keeping its own x-request-id", async () => {
            const { token } = await sessions.create({ userId: "ada" });

            const answers = [await send("/vouched-account/a", [["authorization", `Bearer ${token}`]]), await send("/vouched-account/b", [["authorization", `Bearer ${token}`]])];

            const [first, second] = verifier.seen.map((entry) => ("claims" in entry ? entry.claims : assert.fail(entry.refused)));
            assert.equal(second.jti, first.jti);
            assert.notEqual(answers[0].headers["x-request-id"], answers[1].headers["x-request-id"]);
            assert.ok(![answers[0].headers["x-request-id"], answers[1].headers["x-request-id"]].includes(String(first.jti)));
        });
    });

    describe("what an upstream can do to the gateway", function () {
        /** Runs `work` while sampling this process's resident memory; the growth over the baseline at its peak, in MB. */
        async function peakGrowthMb(work: () => Promise<unknown>): Promise<number> {
            global.gc?.();
            const baseline = process.memoryUsage().rss;
            let peak = baseline;
            const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
            try {
                await work();
            } finally {
                clearInterval(sampler);
            }
            peak = Math.max(peak, process.memoryUsage().rss);
            return (peak - baseline) / 1024 / 1024;
        }

        it("answers a 400 MB upstream body with 502 without reading it: refused from Content-Length, or cut off while streaming", async function () {
            this.timeout(60_000);
            const size = 400 * 1000 * 1000;
            const answers: RawAnswer[] = [];
            const sent: number[] = [];
            const growth: number[] = [];
            for (const query of ["", "?chunked=1"]) {
                const before = upstream.bytesSent();
                growth.push(await peakGrowthMb(async () => answers.push(await send(`/open/bytes/${size}${query}`))));
                sent.push(upstream.bytesSent() - before);
            }

            assert.deepEqual(answers.map((answer) => answer.status), [502, 502]);
            assert.equal(JSON.parse(answers[1].body.toString()).detail, "The upstream service could not be reached.");
            // the limit is 4.5 MB; what the upstream got into the socket before the gateway hung up is bounded by it and the socket buffers
            for (const bytes of sent) assert.ok(bytes < 4_500_000 + 16 * 1024 * 1024, `the upstream wrote ${bytes} bytes`);
            for (const mb of growth) assert.ok(mb < 64, `the process grew by ${mb.toFixed(0)} MB`);
            console.log(`      400 MB upstream bodies: upstream wrote ${sent.map((b) => (b / 1e6).toFixed(1)).join(" / ")} MB (Content-Length / chunked); process grew ${growth.map((mb) => mb.toFixed(1)).join(" / ")} MB`);
        });

        it("passes a body of exactly the limit through, and refuses one byte more", async function () {
            this.timeout(30_000);
            const atLimit = await send("/open/bytes/4500000?chunked=1");
            const over = await send("/open/bytes/4500001?chunked=1");

            assert.equal(atLimit.status, 200);
            assert.equal(atLimit.body.length, 4_500_000);
            assert.equal(over.status, 502);
        });
    });

    describe("per-route counters", function () {
        /** The counters stored for one client address, by limiter_key. */
        async function countersOf(ip: string): Promise<Record<string, number>> {
            const { Items = [] } = await documents.send(new ScanCommand({ TableName: gateway.settings.tables.rateLimits, ConsistentRead: true }));
            return Object.fromEntries(Items.filter((item) => String(item.limiter_key).startsWith(`ip:${ip}`)).map((item) => [item.limiter_key, item.request_count]));
        }

        /** The gateway counts in real 60 s windows, each key's starting at its own offset: start a counting test with at least 10 s left in each key's window. */
        async function clearOfWindowEdge(...limiterKeys: string[]): Promise<void> {
            const windowKey = gatewayKeysOf((gateway.settings.gatewayKeys as { value: KeyMaterial }).value).windowKey;
            for (;;) {
                const intoWindows = limiterKeys.map((key) => Date.now() - windowStartOf(key, 60, windowKey, Date.now()) * 1000);
                const waitMs = Math.max(0, ...intoWindows.map((into) => (into > 50_000 ? 60_000 - into + 100 : 0)));
                if (waitMs === 0) return;
                await new Promise((resolve) => setTimeout(resolve, waitMs));
            }
        }

        it("counts a route's own limit against that route's requests only: five products leave /login its five", async function () {
            this.timeout(30_000);
            await clearOfWindowEdge("ip:127.0.0.1:route:products", "ip:127.0.0.1:route:login");
            // given a client that browsed five products (limit 100 a minute)
            for (let i = 0; i < 5; i++) assert.equal((await send(`/products/${i}`)).status, 200);
            // when it logs in (limit 5 a minute) six times
            const logins = [];
            for (let i = 0; i < 6; i++) logins.push(await send("/login", [], { method: "POST" }));
            // then the first five logins are admitted, each counted on the login counter
            assert.deepEqual(logins.map((answer) => answer.status), [200, 200, 200, 200, 200, 429]);
            assert.match(String(logins[0].headers.ratelimit), /^"login";r=4;t=\d+$/);
            const counters = await countersOf("127.0.0.1");
            assert.equal(counters["ip:127.0.0.1:route:products"], 5);
            assert.equal(counters["ip:127.0.0.1:route:login"], 5);
        });

        it("shares a bucket's counter between its routes, under the bucket's name", async function () {
            this.timeout(30_000);
            await clearOfWindowEdge("ip:127.0.0.1:bucket:account-forms");
            const answers = [await send("/signup", [], { method: "POST" }), await send("/reset", [], { method: "POST" }), await send("/signup", [], { method: "POST" }), await send("/reset", [], { method: "POST" })];

            assert.deepEqual(answers.map((answer) => answer.status), [200, 200, 200, 429]);
            assert.equal(answers[0].headers["ratelimit-policy"], '"account-forms";q=3;w=60');
            assert.match(String(answers[2].headers.ratelimit), /^"account-forms";r=0;/);
            assert.equal((await countersOf("127.0.0.1"))["ip:127.0.0.1:bucket:account-forms"], 3);
        });
    });

    describe("a faithful proxy", function () {
        /** Requests as real clients send them (captured with `nc -l`), Host and Connection left to the test's own socket. */
        const captured: { client: string; method: string; path: string; lines: [string, string][]; body?: Buffer }[] = [
            {
                client: "Chrome 131 navigating to a page",
                method: "GET",
                path: "/open/products?page=2",
                lines: [
                    ["sec-ch-ua", '"Chromium";v="131", "Not_A Brand";v="24"'],
                    ["sec-ch-ua-mobile", "?0"],
                    ["sec-ch-ua-platform", '"Linux"'],
                    ["Upgrade-Insecure-Requests", "1"],
                    ["User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"],
                    ["Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"],
                    ["Sec-Fetch-Site", "none"],
                    ["Sec-Fetch-Mode", "navigate"],
                    ["Sec-Fetch-User", "?1"],
                    ["Sec-Fetch-Dest", "document"],
                    ["Accept-Encoding", "gzip, deflate, br, zstd"],
                    ["Accept-Language", "en-GB,en;q=0.9"],
                    ["Cookie", "theme=dark"],
                ],
            },
            {
                client: "curl 8.5 sending a body on a GET (curl -X GET --json ...)",
                method: "GET",
                path: "/open/search",
                lines: [
                    ["User-Agent", "curl/8.5.0"],
                    ["Content-Type", "application/json"],
                    ["Accept", "application/json"],
                    ["Content-Length", "19"],
                ],
                body: Buffer.from('{"match":"gateway"}'),
            },
            {
                client: "Node 20 fetch posting JSON",
                method: "POST",
                path: "/open/orders",
                lines: [
                    ["content-type", "application/json"],
                    ["accept", "*/*"],
                    ["accept-language", "*"],
                    ["sec-fetch-mode", "cors"],
                    ["user-agent", "node"],
                    ["accept-encoding", "gzip, deflate"],
                    ["content-length", "11"],
                ],
                body: Buffer.from('{"qty":"3"}'),
            },
        ];
        /** What the gateway (and API Gateway before it) adds, by name: the only lines the upstream may get beyond the client's. */
        const added = ["host", "connection", "x-request-id", "traceparent", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-forwarded-host", "forwarded", "x-amzn-trace-id", "x-gateway-assertion"];

        for (const request of captured) {
            it(`gives the upstream exactly the client's headers plus the gateway's own: ${request.client}`, async () => {
                const answer = await send(request.path, request.lines, { method: request.method, body: request.body });

                assert.equal(answer.status, 200);
                const [arrived] = upstream.to("open");
                const lines = (list: [string, string][]) => list.map(([name, value]) => `${name.toLowerCase()}: ${value}`).sort();
                const fromClient = arrived.rawHeaders.filter(([name]) => !added.includes(name.toLowerCase()));
                assert.deepEqual(lines(fromClient), lines(request.lines));
                const gatewayOwn = arrived.rawHeaders.filter(([name]) => added.includes(name.toLowerCase())).map(([name]) => name.toLowerCase());
                assert.deepEqual(new Set(gatewayOwn), new Set(added));
                assert.equal(gatewayOwn.length, new Set(gatewayOwn).size, "a gateway header twice");
                assert.deepEqual(arrived.body, request.body ?? Buffer.alloc(0));
                assert.equal(arrived.method, request.method);
            });
        }

        it("sends the body of a GET, and exactly the client's end-to-end headers plus the gateway's own", async () => {
            const body = Buffer.from('{"query":"on a GET"}');
            await send("/open/search", [["content-type", "application/json"], ["content-length", String(body.length)], ["x-custom", "kept"]], { body });

            const [arrived] = upstream.to("open");
            assert.equal(arrived.method, "GET");
            assert.deepEqual(arrived.body, body);
            assert.deepEqual(linesNamed(arrived, "content-length"), [String(body.length)]);
        });

        it("keeps its connection to an upstream open and reuses it for the next requests", async () => {
            for (let i = 0; i < 5; i++) assert.equal((await send(`/open/keep/${i}`)).status, 200);

            const ports = new Set(upstream.to("open/keep").map((request) => request.remotePort));
            assert.equal(ports.size, 1, `the gateway opened ${ports.size} connections for 5 sequential requests`);
            assert.deepEqual(linesNamed(upstream.to("open/keep")[4], "connection"), ["keep-alive"]);
        });

        it("passes a compressed answer through as the bytes the upstream sent, with its Content-Encoding", async () => {
            const answer = await send("/open/gzip", [["accept-encoding", "gzip"]]);

            assert.equal(answer.status, 200);
            assert.equal(answer.headers["content-encoding"], "gzip");
            assert.deepEqual(answer.body, gzippedJson);
            assert.deepEqual(linesNamed(upstream.to("open")[0], "accept-encoding"), ["gzip"]);
        });
    });
});

describe("a stack that leaves tollgate:cors.allowOrigins at its default *, against the local gateway", function () {
    const anyOriginFile = path.join(projectDir, "test", "fixtures", "stacks", "Pulumi.boundary-any-origin.yaml");
    const anyOrigin = loadStackConfig("boundary-any-origin", { file: anyOriginFile });
    let upstream: RecordingUpstream;
    let gateway: LocalGateway;
    let sessions: Sessions;
    let destroyClient: () => void;

    before(async function () {
        this.timeout(60_000);
        upstream = await startRecordingUpstream();
        const options = parseOptions(
            ["--config", anyOriginFile, "--memory", "--port", "0", ...anyOrigin.settings.routes.flatMap((route) => ["--upstream", `${route.name}=${upstream.url}/${route.name}`])],
            { DYNAMODB_PORT: String(await freePort()) },
            projectDir,
        );
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { createHandler } = require("../runtime/handler") as { createHandler: CreateHandler };
        gateway = await startLocal(options, anyOrigin, createHandler);
        const client = clientFor(gateway.store.endpoint);
        destroyClient = () => client.destroy();
        sessions = createSessions({ dynamo: client, tableName: gateway.settings.tables.sessions });
    });
    after(async () => {
        destroyClient?.();
        await gateway?.close();
        await upstream?.close();
    });

    it("counts * as no allowed origin: a cross-site cookie write, login and logout are refused (403), and the gateway's own origin is admitted", async () => {
        assert.deepEqual(anyOrigin.settings.cors.allowOrigins, ["*"], "the schema's default");
        const { token } = await sessions.create({ userId: "cas" });
        const cookie: [string, string] = ["cookie", `session=${token}`];
        const post = (requestPath: string, headers: [string, string][]) => rawRequest(gateway.url, { method: "POST", path: requestPath, headers, body: Buffer.from("{}") });
        const login = `/signin/cacheable?session=${encodeURIComponent(JSON.stringify({ userId: "attacker" }))}`;

        const write = await post("/account/transfer", [cookie, ["origin", "https://evil.example"]]);
        const wildcard = await post("/account/transfer", [cookie, ["origin", "*"]]);
        const loginCsrf = await post(login, [["origin", "https://evil.example"]]);
        const logoutCsrf = await post("/signout/x", [cookie, ["origin", "https://evil.example"]]);
        const sameOrigin = await post("/account/transfer", [cookie, ["origin", gateway.url]]);

        assert.deepEqual([write, wildcard, loginCsrf, logoutCsrf, sameOrigin].map((answer) => answer.status), [403, 403, 403, 403, 200]);
        assert.equal(loginCsrf.headers["set-cookie"], undefined);
        assert.equal(await sessions.get(token).then((session) => session?.userId), "cas", "the logout was not carried out");
        assert.deepEqual(upstream.requests.map((request) => request.target), ["/account/transfer"]);
    });
});
