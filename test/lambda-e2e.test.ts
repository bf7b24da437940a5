/**
 * The gateway Lambda as it would be deployed for the dev stack, end to end:
 * index.ts runs under Pulumi's mocks with Pulumi.dev.yaml's config (routes
 * pointed at a recording upstream on loopback), the CallbackFunction's
 * archive (Pulumi's serialized `__index.js` and the runtime bundle) is
 * unpacked, and one fresh Node process loads it as the Lambda runtime would,
 * with the environment the program gave the function, and serves every
 * invocation below warm, against DynamoDB Local. The process runs on the
 * Lambda runtime's Node major where this platform's Node package is
 * installed (the describe title says which Node it was). AWS itself is replaced only
 * where it has to be: DynamoDB by DynamoDB Local (`DYNAMODB_ENDPOINT`),
 * Secrets Manager by a loopback stand-in (`AWS_ENDPOINT_URL_SECRETS_MANAGER`).
 */
import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { createLocalJWKSet, jwtVerify, SignJWT } from "jose";
import { accessLogFormat } from "../components/gateway";
import { logsInsightsQueries } from "../components/logging";
import { ensureTables } from "../data/createTables";
import { gatewayKeysOf } from "../runtime/auth/gatewayKeys";
import { createSessions, sessionIdOf, type Sessions } from "../runtime/sessions";
import { windowOffsetSeconds } from "../runtime/steps/rateLimit";
import { environmentNames, lambdaNodeMajor, lambdaRuntime } from "../specs/lambda";
import type { RouteSpec } from "../specs/routes";
import { loadStackConfig, projectDir } from "../specs/stackFile";
import { rateLimitsTable, sessionsTable } from "../specs/tables";
import { startDynamo, testCredentials, type TestDynamo } from "./support/dynamo";
import { startLambdaContainer, type LambdaContainer } from "./support/lambdaContainer";
import { lambdaNode } from "./support/lambdaNode";
import { freePort } from "./support/loopback";
import { materialiseArchive, runStack } from "./support/program";
import { answerWith, bodyOf, event, startUpstream, type Upstream } from "./support/runtime";
import { startFakeSecretsManager, type FakeSecretsManager } from "./support/secretsManager";

const stack = "dev";
const { settings } = loadStackConfig(stack);

/** A route added to the dev routes so a window's limit is reached in a few requests (and a window outlasts the test). */
const quotaRoute = (upstream: string): RouteSpec => ({
    name: "quota",
    pathPrefix: "/quota",
    upstream: `${upstream}/quota-service`,
    auth: "none",
    permissions: [],
    rateLimit: { by: "ip", limit: 3, windowSeconds: 86_400, algorithm: "fixed" },
});

/** A login route for API clients, added to the dev routes: like /auth, and it also returns the token in x-gateway-session-token. */
const apiLoginRoute = (upstream: string): RouteSpec => ({
    name: "api-login",
    pathPrefix: "/api-login",
    upstream: `${upstream}/api-login-service`,
    auth: "none",
    permissions: [],
    sessions: { issue: true, returnToken: true, revoke: false },
});

/**
 * The dev routes as Pulumi.dev.yaml has them, each upstream moved to
 * `<recorder>/<route>-service<its base path>`. The recorder is named
 * `recorder.tollgate.test`, which the Lambda container resolves to 127.0.0.1:
 * the program refuses loopback upstreams, as a deployed Lambda cannot reach them.
 */
function routesAt(recorderUrl: string, closedPort: number): RouteSpec[] {
    const recorder = `http://recorder.tollgate.test:${new URL(recorderUrl).port}`;
    const moved = settings.routes.map((route) => ({ ...route, upstream: `${recorder}/${route.name}-service${new URL(route.upstream).pathname.replace(/\/$/, "")}` }));
    // An upstream nobody listens on: the gateway answers 502 and logs upstream_error.
    const down: RouteSpec = { name: "down", pathPrefix: "/down", upstream: `http://recorder.tollgate.test:${closedPort}/down-service`, auth: "none", permissions: [] };
    return [...moved, quotaRoute(recorder), apiLoginRoute(recorder), down];
}

/**
 * The log fields a saved Logs Insights query reads: its identifiers, less the
 * query language's own words, `@` fields, aliases after `as`, and literals.
 */
function fieldsReadBy(query: readonly string[]): string[] {
    const words = new Set(["fields", "filter", "stats", "sort", "limit", "by", "as", "desc", "asc", "in", "and", "or", "not", "like", "count", "min", "max", "ispresent"]);
    const joined = query.join("\n");
    const aliases = new Set([...joined.matchAll(/\bas\s+(\w+)/g)].map((match) => match[1]));
    const text = joined
        .replace(/"[^"]*"/g, " ")
        .replace(/\/[^/\n]*\//g, " ")
        .replace(/@\w+/g, " ");
    return [...new Set((text.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []).filter((word) => !words.has(word) && !aliases.has(word)))];
}

const header = (result: APIGatewayProxyStructuredResultV2, name: string) => result.headers?.[name] as string | undefined;

describe(`the dev stack's gateway Lambda: __index.js from the program, in one warm process against DynamoDB Local, on ${lambdaNode.description}`, function () {
    let recorder: Upstream;
    let dynamo: TestDynamo;
    let secrets: FakeSecretsManager;
    let container: LambdaContainer;
    let environment: Record<string, string>;
    let sessions: Sessions;
    let archiveDir: string | undefined;
    let gatewayKeysSecret: string;
    let issuer: string;
    const jwtKey = randomBytes(32).toString("hex");

    before(async function () {
        this.timeout(240_000);
        recorder = await startUpstream();
        const [run, started] = await Promise.all([
            runStack(stack, { override: { "tollgate:routes": JSON.stringify(routesAt(recorder.url, await freePort())) } }),
            startDynamo("dynamodb-local", { inMemory: true }),
        ]);
        dynamo = started;
        assert.equal(run.error, undefined, `the program failed: ${run.error}`);
        const fn = run.one("aws:lambda/function:Function", "tollgate-gateway-function").inputs;
        environment = fn.environment.variables;
        archiveDir = materialiseArchive(fn.code).dir;

        // The tables under the names the program gave the function.
        const tableNames = await ensureTables(dynamo.client, settings.prefix, [rateLimitsTable, sessionsTable], { enableTtl: true });
        assert.deepEqual(
            [tableNames[rateLimitsTable.name], tableNames[sessionsTable.name]],
            [environment[environmentNames.rateLimitTable], environment[environmentNames.sessionTable]],
        );
        sessions = createSessions({ dynamo: dynamo.client, tableName: environment[environmentNames.sessionTable] });
        // The gateway keys secret holds what the program wrote into it (the mocks' tls.PrivateKey makes real keys).
        gatewayKeysSecret = run.one("aws:secretsmanager/secretVersion:SecretVersion", "tollgate-gateway-gateway-keys-value").inputs.secretString.value;
        secrets = await startFakeSecretsManager({ [environment[environmentNames.jwtSecretArn]]: jwtKey, [environment[environmentNames.gatewayKeysSecretArn]]: gatewayKeysSecret });
        issuer = run.outputs.identityIssuer;

        container = await startLambdaContainer({
            taskRoot: archiveDir,
            handler: fn.handler,
            timeoutSeconds: fn.timeout,
            environment: {
                ...environment,
                // What Lambda itself sets in every container.
                AWS_REGION: environment[environmentNames.region],
                AWS_LAMBDA_FUNCTION_NAME: fn.name,
                AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
                // DynamoDB Local keeps tables per access key (and region): the test's own pair.
                AWS_ACCESS_KEY_ID: testCredentials.accessKeyId,
                AWS_SECRET_ACCESS_KEY: testCredentials.secretAccessKey,
                // The two AWS services the handler calls, on loopback.
                [environmentNames.dynamoEndpoint]: dynamo.endpoint,
                AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
            },
        });
    });

    after(async () => {
        await container?.close();
        await Promise.all([recorder?.close(), secrets?.close(), dynamo?.close()]);
        if (archiveDir) fs.rmSync(archiveDir, { recursive: true, force: true });
    });

    it(`loads __index.js on the ${lambdaRuntime} Node major`, () => {
        assert.equal(container.nodeVersion, lambdaNode.version, "the function ran on another Node than the one the title names");
        assert.ok(lambdaNode.matchesRuntime, `the function ran on ${lambdaNode.description}; run npm ci, which links Node ${lambdaNodeMajor} as node_modules/.bin/node`);
    });

    const requestsTo = (service: string) => recorder.requests.filter((request) => request.url.startsWith(`/${service}-service`));

    it("answers /health/live with 200 and /health/ready with 200 while DynamoDB answers", async () => {
        const live = await container.invoke(event({ path: "/health/live" }));
        assert.equal(live.statusCode, 200);
        assert.deepEqual(bodyOf(live), { status: "ok" });
        const ready = await container.invoke(event({ path: "/health/ready" }));
        assert.equal(ready.statusCode, 200, `ready answered ${ready.statusCode} ${ready.body}`);
    });

    it("proxies the anonymous /products route: path after the prefix, query and request id kept, hop-by-hop and forged gateway headers dropped", async () => {
        const result = await container.invoke(
            event({
                path: "/products/items/42",
                query: "color=red&size=m",
                requestId: "e2e-products-1",
                sourceIp: "203.0.113.10",
                headers: {
                    connection: "x-private",
                    "x-private": "hop-by-hop by the Connection header",
                    "keep-alive": "timeout=5",
                    "x-gateway-user-id": "forged",
                    "x-request-id": "forged",
                    "x-client": "kept",
                },
            }),
        );

        assert.equal(result.statusCode, 200, result.body);
        assert.equal(header(result, "x-request-id"), "e2e-products-1");
        assert.equal(header(result, "ratelimit-policy"), '"products";q=100;w=60');
        assert.match(header(result, "ratelimit") ?? "", /^"products";r=99;t=\d+$/);
        const [received] = requestsTo("products");
        assert.equal(received.method, "GET");
        assert.equal(received.url, "/products-service/items/42?color=red&size=m");
        assert.equal(received.headers["x-request-id"], "e2e-products-1");
        assert.equal(received.headers["x-client"], "kept");
        for (const dropped of ["x-private", "keep-alive", "x-gateway-user-id"]) assert.equal(received.headers[dropped], undefined, `${dropped} reached the upstream`);
        assert.equal(bodyOf(result).url, received.url, "the upstream's answer is the function's answer");
    });

    it("admits a session made by the session store library on /users and tells the upstream who the caller is, not the token", async () => {
        const { token } = await sessions.create({ userId: "u-e2e", username: "ada", roles: ["member"], permissions: ["orders:read"] });

        const result = await container.invoke(event({ path: "/users/me", sourceIp: "203.0.113.20", headers: { authorization: `Bearer ${token}` } }));

        assert.equal(result.statusCode, 200, result.body);
        const [received] = requestsTo("users");
        assert.equal(received.url, "/users-service/me");
        assert.equal(received.headers["x-gateway-user-id"], "u-e2e");
        assert.equal(received.headers["x-gateway-roles"], "member");
        assert.equal(received.headers["x-gateway-permissions"], "orders:read");
        assert.equal(received.headers.authorization, undefined, "the session token reached the upstream");
        // users is limited by user, sliding: the counter is the user's, not the address's.
        assert.equal(header(result, "ratelimit-policy"), '"users";q=60;w=60');
    });

    it("answers 401 problem+json on /users without a token, with an unknown one and with a revoked one", async () => {
        const { token } = await sessions.create({ userId: "u-revoked" });
        const before = requestsTo("users").length;

        const missing = await container.invoke(event({ path: "/users/me", sourceIp: "203.0.113.21" }));
        const unknown = await container.invoke(event({ path: "/users/me", sourceIp: "203.0.113.21", headers: { authorization: `Bearer ${randomBytes(32).toString("base64url")}` } }));
        assert.equal((await container.invoke(event({ path: "/users/me", sourceIp: "203.0.113.21", headers: { authorization: `Bearer ${token}` } }))).statusCode, 200);
        assert.equal(await sessions.revoke(token), true);
        const revoked = await container.invoke(event({ path: "/users/me", sourceIp: "203.0.113.21", headers: { authorization: `Bearer ${token}` } }));

        for (const result of [missing, unknown, revoked]) {
            assert.equal(result.statusCode, 401);
            assert.match(header(result, "content-type") ?? "", /^application\/problem\+json/);
        }
        // RFC 6750: no error code without a credential; one description for every session that fails
        assert.equal(header(missing, "www-authenticate"), "Bearer");
        for (const result of [unknown, revoked]) {
            assert.equal(header(result, "www-authenticate"), 'Bearer error="invalid_token", error_description="the session is unknown, has ended or has expired"');
        }
        assert.equal(requestsTo("users").length, before + 1, "only the valid session reached the upstream");
    });

    it("answers 403 on /orders (permission orders:read) for a session without that permission", async () => {
        const { token } = await sessions.create({ userId: "u-no-orders", permissions: ["profile:read"] });
        const result = await container.invoke(event({ path: "/orders/17", sourceIp: "203.0.113.30", headers: { authorization: `Bearer ${token}` } }));
        assert.equal(result.statusCode, 403);
        assert.equal(requestsTo("orders").length, 0);
    });

    it("verifies JWTs on /admin with the key read once, from the secret whose ARN the program set", async () => {
        const sign = (key: string, permissions: string[]) =>
            new SignJWT({ permissions })
                .setProtectedHeader({ alg: "HS256" })
                .setSubject("admin-1")
                .setIssuer(settings.jwt.issuer!)
                .setAudience(settings.jwt.audience!)
                .setIssuedAt()
                .setExpirationTime(Math.floor(Date.now() / 1000) + 300)
                .sign(new TextEncoder().encode(key));

        const first = await container.invoke(event({ path: "/admin/stats", sourceIp: "203.0.113.40", headers: { authorization: `Bearer ${await sign(jwtKey, ["admin"])}` } }));
        const second = await container.invoke(event({ path: "/admin/stats", sourceIp: "203.0.113.40", headers: { authorization: `Bearer ${await sign(jwtKey, ["admin"])}` } }));
        const otherKey = await container.invoke(event({ path: "/admin/stats", sourceIp: "203.0.113.40", headers: { authorization: `Bearer ${await sign("another-key", ["admin"])}` } }));
        const notAdmin = await container.invoke(event({ path: "/admin/stats", sourceIp: "203.0.113.40", headers: { authorization: `Bearer ${await sign(jwtKey, ["orders:read"])}` } }));

        assert.deepEqual([first.statusCode, second.statusCode, otherKey.statusCode, notAdmin.statusCode], [200, 200, 401, 403]);
        const received = requestsTo("admin");
        assert.equal(received.length, 2);
        assert.equal(received[0].headers["x-gateway-user-id"], "admin-1");
        const fetches = secrets.requests.filter((request) => request.target === "secretsmanager.GetSecretValue" && request.secretId === environment[environmentNames.jwtSecretArn]);
        assert.equal(fetches.length, 1, "the secret is fetched once per container");
        assert.equal(fetches[0].secretId, environment[environmentNames.jwtSecretArn]);
        assert.ok(fetches[0].authorization?.startsWith(`AWS4-HMAC-SHA256 Credential=${testCredentials.accessKeyId}/`), "signed with the function's credentials");
    });

    describe("sessions the dev stack's login service issues and ends, through the function", () => {
        const cookieOf = (result: APIGatewayProxyStructuredResultV2) => result.cookies?.find((cookie) => cookie.startsWith("__Host-session="));
        const tokenOf = (result: APIGatewayProxyStructuredResultV2) => /^__Host-session=([^;]*);/.exec(cookieOf(result) ?? "")?.[1];
        /** POST `<path>/answer`: the recorder answers 200 with `x-gateway-session: instruction`, as the login service would. */
        const answered = (path: string, instruction: string, extra: { cookies?: string[]; sourceIp?: string; headers?: Record<string, string>; requestId?: string } = {}) =>
            container.invoke(
                event({
                    method: "POST",
                    path: `${path}/answer`,
                    sourceIp: extra.sourceIp ?? "203.0.113.50",
                    requestId: extra.requestId,
                    cookies: extra.cookies,
                    headers: { ...answerWith({ "x-gateway-session": instruction }), ...extra.headers },
                }),
            );
        const storedOf = async (userId: string) =>
            (await dynamo.doc.send(new ScanCommand({ TableName: environment[environmentNames.sessionTable], ConsistentRead: true }))).Items!.filter((item) => item.user_id === userId);
        /** What /users/me answers a token sent as the cookie, or as a bearer token. */
        const statusFor = async (token: string, sentAs: "cookie" | "bearer" = "cookie") =>
            (await container.invoke(event({ path: "/users/me", sourceIp: "203.0.113.50", ...(sentAs === "cookie" ? { cookies: [`__Host-session=${token}`] } : { headers: { authorization: `Bearer ${token}` } }) }))).statusCode;
        /**
         * The function's warning lines (`{level: "WARN", route, message}`) for requests whose id starts with `prefix`,
         * once `count` of them are in its stdout: the pipe may deliver them a moment after the invocation's result.
         */
        const warningsFor = async (prefix: string, count: number) => {
            const read = () =>
                container
                    .stdout()
                    .split("\n")
                    .filter((line) => line.startsWith("{"))
                    .map((line) => JSON.parse(line))
                    .filter((line) => line.level === "WARN" && line.message !== undefined && String(line.correlation_id).startsWith(prefix))
                    .map((line) => [line.route, line.message]);
            for (const deadline = Date.now() + 2000; read().length < count && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
            return read();
        };

        it("logs in on /auth: a Secure cookie, the session stored under the token's hash, and the cookie then authenticates /users", async () => {
            const login = await answered("/auth", JSON.stringify({ userId: "u-login", roles: ["member"] }));
            assert.equal(login.statusCode, 200, login.body);
            const token = tokenOf(login)!;
            assert.equal(cookieOf(login), `__Host-session=${token}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=86400`);
            assert.equal(header(login, "x-gateway-session"), undefined);
            assert.deepEqual(
                (await storedOf("u-login")).map((item) => item.session_id),
                [sessionIdOf(token)],
            );
            const me = await container.invoke(event({ path: "/users/me", sourceIp: "203.0.113.50", cookies: [`__Host-session=${token}`] }));
            assert.equal(me.statusCode, 200);
            assert.equal(requestsTo("users").at(-1)!.headers["x-gateway-user-id"], "u-login");
            const mine = await container.invoke(event({ path: "/.well-known/sessions", sourceIp: "203.0.113.50", cookies: [`__Host-session=${token}`] }));
            assert.deepEqual(
                bodyOf(mine).sessions.map((entry: { id: string; current: boolean }) => [entry.id, entry.current]),
                [[sessionIdOf(token), true]],
            );
        });

        it("answers 502 and stores nothing for an instruction with a role holding a comma", async () => {
            const result = await answered("/auth", JSON.stringify({ userId: "u-comma", roles: ["a,b"] }));
            assert.equal(result.statusCode, 502);
            assert.equal(cookieOf(result), undefined);
            assert.deepEqual(await storedOf("u-comma"), []);
        });

        it("logs out on /auth/logout: the cookie is cleared and the session is gone; logging out everywhere ends the user's others", async () => {
            const first = tokenOf(await answered("/auth", JSON.stringify({ userId: "u-logout" })))!;
            const second = tokenOf(await answered("/auth", JSON.stringify({ userId: "u-logout" })))!;
            const third = tokenOf(await answered("/auth", JSON.stringify({ userId: "u-logout" })))!;
            const logout = await answered("/auth/logout", JSON.stringify({ revoke: "current" }), { cookies: [`__Host-session=${first}`] });
            assert.equal(logout.statusCode, 200);
            assert.equal(cookieOf(logout), "__Host-session=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0");
            assert.equal((await container.invoke(event({ path: "/users/me", sourceIp: "203.0.113.50", cookies: [`__Host-session=${first}`] }))).statusCode, 401);
            const everywhere = await answered("/auth/logout", JSON.stringify({ revoke: "all" }), { cookies: [`__Host-session=${second}`] });
            assert.equal(everywhere.statusCode, 200);
            assert.deepEqual(await storedOf("u-logout"), []);
            assert.equal((await container.invoke(event({ path: "/users/me", sourceIp: "203.0.113.50", cookies: [`__Host-session=${third}`] }))).statusCode, 401);
        });

        it("renews a session with less than renewWithinSeconds left, once, and sets the cookie again", async () => {
            // issued 23.5 hours ago for a day: half an hour left, inside the dev stack's hour
            const issuedAt = Date.now() - 23.5 * 3600_000;
            const { token, session } = await createSessions({ dynamo: dynamo.client, tableName: environment[environmentNames.sessionTable], now: () => issuedAt }).create({ userId: "u-rolling" });
            const results = await Promise.all(Array.from({ length: 5 }, () => container.invoke(event({ path: "/users/me", sourceIp: "203.0.113.51", cookies: [`__Host-session=${token}`] }))));
            assert.ok(results.every((result) => result.statusCode === 200));
            const [stored] = await storedOf("u-rolling");
            assert.equal(stored.expires_at, session.expiresAt + 86_400);
            assert.ok(results.some((result) => /^__Host-session=[^;]+; HttpOnly; Secure; SameSite=Lax; Path=\/; Max-Age=\d+$/.test(cookieOf(result) ?? "")));
        });

        it("returns the token in x-gateway-session-token on a returnToken route, and it works as a bearer token; /auth, without returnToken, sends the cookie alone", async () => {
            const login = await answered("/api-login", JSON.stringify({ userId: "u-api" }), { sourceIp: "203.0.113.52" });
            assert.equal(login.statusCode, 200, login.body);
            const token = header(login, "x-gateway-session-token");
            assert.match(token ?? "", /^[A-Za-z0-9_-]{43}$/);
            assert.equal(token, tokenOf(login), "the header and the cookie carry the same token");
            assert.equal(header(login, "cache-control"), "no-store");
            assert.deepEqual(
                (await storedOf("u-api")).map((item) => item.session_id),
                [sessionIdOf(token!)],
            );
            assert.equal(await statusFor(token!, "bearer"), 200);
            assert.equal(requestsTo("users").at(-1)!.headers["x-gateway-user-id"], "u-api");

            const cookieOnly = await answered("/auth", JSON.stringify({ userId: "u-api" }), { sourceIp: "203.0.113.52" });
            assert.equal(cookieOnly.statusCode, 200);
            assert.ok(tokenOf(cookieOnly));
            assert.equal(header(cookieOnly, "x-gateway-session-token"), undefined);
        });

        it("revokes the session a client logs in again with, and a bearer token it carries whoever it belonged to, before handing out the new one (no fixation)", async () => {
            // given a logged-in client that also carries a token planted for another user
            const first = tokenOf(await answered("/auth", JSON.stringify({ userId: "u-again" }), { sourceIp: "203.0.113.53" }))!;
            const { token: planted } = await sessions.create({ userId: "u-planted" });
            // when it logs in again
            const again = await answered("/auth", JSON.stringify({ userId: "u-again" }), { sourceIp: "203.0.113.53", cookies: [`__Host-session=${first}`], headers: { authorization: `Bearer ${planted}` } });
            // then only the new session is left, and only it opens anything
            assert.equal(again.statusCode, 200, again.body);
            const second = tokenOf(again)!;
            assert.notEqual(second, first);
            assert.deepEqual(
                (await storedOf("u-again")).map((item) => item.session_id),
                [sessionIdOf(second)],
            );
            assert.deepEqual(await storedOf("u-planted"), []);
            assert.deepEqual([await statusFor(first), await statusFor(planted, "bearer"), await statusFor(second)], [401, 401, 200]);
        });

        it("strips, ignores and logs an instruction from routes that do not issue: the anonymous /products and the session route /users", async () => {
            const { token } = await sessions.create({ userId: "u-bystander" });
            const forged = JSON.stringify({ userId: "u-root", permissions: ["admin"] });
            const anonymous = await container.invoke(event({ method: "POST", path: "/products/answer", requestId: "e2e-strip-1", sourceIp: "203.0.113.54", headers: answerWith({ "x-gateway-session": forged }) }));
            const signedIn = await container.invoke(
                event({ method: "POST", path: "/users/answer", requestId: "e2e-strip-2", sourceIp: "203.0.113.54", cookies: [`__Host-session=${token}`], headers: answerWith({ "x-gateway-session": forged }) }),
            );

            for (const result of [anonymous, signedIn]) {
                assert.equal(result.statusCode, 200, result.body);
                assert.equal(header(result, "x-gateway-session"), undefined, "the instruction reached the client");
                assert.equal(cookieOf(result), undefined);
                assert.equal(header(result, "x-gateway-session-token"), undefined);
            }
            assert.deepEqual(await storedOf("u-root"), []);
            assert.deepEqual(
                (await storedOf("u-bystander")).map((item) => item.session_id),
                [sessionIdOf(token)],
            );
            assert.deepEqual(await warningsFor("e2e-strip-", 2), [
                ["products", "x-gateway-session ignored: the route does not issue sessions"],
                ["users", "x-gateway-session ignored: the route does not issue sessions"],
            ]);
        });

        it("answers 404 to DELETE /.well-known/sessions/{id} of another user's session and leaves it valid, and revokes the caller's own other session (204)", async () => {
            const ip = "203.0.113.55";
            const mine = tokenOf(await answered("/auth", JSON.stringify({ userId: "u-kim" }), { sourceIp: ip }))!;
            const myPhone = tokenOf(await answered("/auth", JSON.stringify({ userId: "u-kim" }), { sourceIp: ip }))!;
            const theirs = tokenOf(await answered("/auth", JSON.stringify({ userId: "u-lee" }), { sourceIp: ip }))!;
            const deleteAsKim = (token: string) => container.invoke(event({ method: "DELETE", path: `/.well-known/sessions/${sessionIdOf(token)}`, sourceIp: ip, cookies: [`__Host-session=${mine}`] }));

            const stolen = await deleteAsKim(theirs);
            assert.equal(stolen.statusCode, 404);
            assert.match(header(stolen, "content-type") ?? "", /^application\/problem\+json/);
            assert.equal(cookieOf(stolen), undefined);
            assert.deepEqual(
                (await storedOf("u-lee")).map((item) => item.session_id),
                [sessionIdOf(theirs)],
            );
            assert.equal(await statusFor(theirs), 200);

            const phone = await deleteAsKim(myPhone);
            assert.equal(phone.statusCode, 204);
            assert.equal(cookieOf(phone), undefined, "the caller's own cookie stays");
            assert.deepEqual([await statusFor(myPhone), await statusFor(mine)], [401, 200]);
        });
    });

    it("takes rawPath as API Gateway decoded it: ..; is refused, %41 (the client's %2541) reaches the upstream once decoded, _-spelled gateway headers are dropped", async () => {
        const refused = await container.invoke(event({ path: "/products/..;/admin", sourceIp: "203.0.113.60" }));
        const passed = await container.invoke(event({ path: "/products/%41", requestId: "e2e-path-1", sourceIp: "203.0.113.60", headers: { x_gateway_user_id: "forged", "X-Gateway_Roles": "admin" } }));

        assert.equal(refused.statusCode, 400);
        assert.equal(passed.statusCode, 200, passed.body);
        const [received] = requestsTo("products").filter((request) => request.headers["x-request-id"] === "e2e-path-1");
        assert.equal(received.url, "/products-service/%2541");
        assert.ok(!Object.keys(received.headers).some((name) => name.replace(/_/g, "-").toLowerCase().startsWith("x-gateway-") && name !== "x-gateway-assertion"));
    });

    it("signs an assertion with the key the program put in the gateway keys secret, verifiable against the function's JWKS", async () => {
        const { token } = await sessions.create({ userId: "u-vouched", roles: ["member"], permissions: ["orders:read"] });
        await container.invoke(event({ path: "/users/profile", requestId: "e2e-assertion-1", sourceIp: "203.0.113.50", headers: { authorization: `Bearer ${token}` } }));
        const jwks = await container.invoke(event({ path: "/.well-known/jwks.json" }));

        assert.equal(jwks.statusCode, 200);
        assert.equal(header(jwks, "cache-control"), "public, max-age=300");
        const [received] = requestsTo("users").filter((request) => request.headers["x-request-id"] === "e2e-assertion-1");
        const { payload } = await jwtVerify(String(received.headers["x-gateway-assertion"]), createLocalJWKSet(bodyOf(jwks)), { issuer, audience: "users", algorithms: ["ES256"] });
        assert.deepEqual([payload.sub, payload.roles, payload.permissions, payload.auth], ["u-vouched", ["member"], ["orders:read"], "session"]);
        assert.match(String(payload.jti), /^[A-Za-z0-9_-]{16}$/, "jti names the assertion, not the request");
        assert.equal(issuer, "urn:tollgate:tollgate-dev");
        const keyReads = secrets.requests.filter((request) => request.secretId === environment[environmentNames.gatewayKeysSecretArn]);
        assert.equal(keyReads.length, 1, "the keys are read once per container");
        assert.deepEqual(bodyOf(jwks).keys.length, JSON.parse(gatewayKeysSecret).signingKeys.length);
    });

    it("refuses the 4th request of a window on /quota with 429, RateLimit and Retry-After, and leaves the counter at the limit", async () => {
        const ip = "203.0.113.77";
        const results: APIGatewayProxyStructuredResultV2[] = [];
        for (let i = 0; i < 5; i++) results.push(await container.invoke(event({ path: "/quota/x", sourceIp: ip })));

        assert.deepEqual(
            results.map((result) => result.statusCode),
            [200, 200, 200, 429, 429],
        );
        assert.deepEqual(
            results.slice(0, 3).map((result) => /;r=(\d+);/.exec(header(result, "ratelimit") ?? "")?.[1]),
            ["2", "1", "0"],
        );
        for (const refused of results.slice(3)) {
            assert.match(header(refused, "content-type") ?? "", /^application\/problem\+json/);
            assert.equal(header(refused, "ratelimit-policy"), '"quota";q=3;w=86400');
            const retryAfter = Number(header(refused, "retry-after"));
            assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 86_400, `Retry-After: ${header(refused, "retry-after")}`);
            assert.equal(header(refused, "ratelimit"), `"quota";r=0;t=${retryAfter}`);
        }
        assert.equal(requestsTo("quota").length, 3, "refused requests never reach the upstream");

        const { Items: counters = [] } = await dynamo.doc.send(
            new QueryCommand({
                TableName: environment[environmentNames.rateLimitTable],
                KeyConditionExpression: "limiter_key = :key",
                ExpressionAttributeValues: { ":key": `ip:${ip}:route:quota` },
                ConsistentRead: true,
            }),
        );
        assert.equal(counters.length, 1, "one counter for the key's window");
        const [counter] = counters;
        assert.equal(counter.request_count, 3);
        // the key's windows start at its own offset into the day, placed by the stack's gateway keys
        assert.equal(counter.window_start % 86_400, windowOffsetSeconds(`ip:${ip}:route:quota`, 86_400, gatewayKeysOf(JSON.parse(gatewayKeysSecret)).windowKey));
        assert.equal(counter.expires_at, counter.window_start + 2 * 86_400);
        assert.ok(counter.last_updated >= counter.window_start && counter.last_updated <= Date.now() / 1000);
    });

    it("writes a log line per request carrying every field the saved Logs Insights queries of its log group read, and the values they filter on", async () => {
        // A 502 from an upstream that refuses the connection, beside the 200s, 401s, 403s and 429s above.
        const down = await container.invoke(event({ path: "/down/x", sourceIp: "203.0.113.90" }));
        assert.equal(down.statusCode, 502);

        const lines = container
            .stdout()
            .split("\n")
            .filter((line) => line.startsWith("{"))
            .map((line) => JSON.parse(line))
            .filter((line) => line.correlation_id !== undefined);
        const keys = new Set(lines.flatMap((line) => Object.keys(line)));
        const valuesOf = (field: string) => new Set(lines.map((line) => line[field]).filter((value) => value !== undefined));
        for (const [name, saved] of Object.entries(logsInsightsQueries)) {
            const fields = fieldsReadBy(saved.query);
            assert.ok(fields.length > 0, name);
            const known = saved.logGroup === "lambda" ? keys : new Set(Object.keys(accessLogFormat));
            assert.deepEqual(fields.filter((field) => !known.has(field)), [], `${name} reads fields the ${saved.logGroup} log group's lines do not have`);
        }
        assert.ok(valuesOf("decision").has("limited"), "a refusal the refusals query counts");
        for (const outcome of ["missing", "invalid", "forbidden"]) assert.ok(valuesOf("auth").has(outcome), `an auth failure '${outcome}' the auth query counts`);
        assert.ok(lines.some((line) => line.status >= 500 && line.upstream_error === "refused" && line.route === "down"), "a 5xx with its upstream error");
        assert.ok(lines.every((line) => typeof line.latency_ms === "number"), "every request line has latency_ms for the slowest-requests query");
    });
});

describe(`a Lambda container standing in for ${lambdaRuntime}`, function () {
    it("refuses at load a handler that declares a callback parameter, as the runtime does from Node.js 24, and loads an async one", async function () {
        this.timeout(30_000);
        const taskRoot = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-callback-"));
        try {
            fs.writeFileSync(path.join(taskRoot, "callback.js"), "exports.handler = function (event, context, callback) { callback(null, { statusCode: 200 }); };\n");
            fs.writeFileSync(path.join(taskRoot, "async.js"), "exports.handler = async (event, context) => ({ statusCode: 200, body: process.version });\n");
            await assert.rejects(
                startLambdaContainer({ taskRoot, handler: "callback.handler", environment: {}, timeoutSeconds: 3 }),
                /removed support for callback-based function handlers starting with Node\.js 24/,
            );
            const container = await startLambdaContainer({ taskRoot, handler: "async.handler", environment: {}, timeoutSeconds: 3 });
            try {
                assert.equal((await container.invoke(event({ path: "/" }))).body, lambdaNode.version);
            } finally {
                await container.close();
            }
        } finally {
            fs.rmSync(taskRoot, { recursive: true, force: true });
        }
    });
});
