/**
 * The identity assertion in the handler: what `tollgate:identity` turns on and
 * off, a key rotation as upstreams see it, and the gateway's keys failing to
 * load (the request is refused, never forwarded unvouched).
 */
import { strict as assert } from "node:assert";
import { createLocalJWKSet, jwtVerify } from "jose";
import { generateKeyMaterial } from "../local/keys";
import { gatewayKeysOf, type KeyMaterial } from "../runtime/auth/gatewayKeys";
import { createHandler, type HandlerDeps } from "../runtime/handler";
import { createSessions } from "../runtime/sessions";
import type { RuntimeSettings } from "../runtime/settings";
import { bodyOf, event, route, runtimeSettings, testIdentity, useHandlerSuite } from "./support/runtime";

describe("the identity assertion (dynalite)", function () {
    const suite = useHandlerSuite("dynalite");

    const gateway = (overrides: Partial<RuntimeSettings> = {}, deps: Partial<HandlerDeps> = {}) =>
        createHandler(
            runtimeSettings(suite.tables, suite.dynamo, {
                routes: [
                    route({ name: "users", pathPrefix: "/users", upstream: suite.upstream.url, auth: "session" }),
                    route({ name: "billing", pathPrefix: "/billing", upstream: suite.upstream.url, assertionAudience: "https://billing.internal.example.com" }),
                ],
                ...overrides,
            }),
            { now: suite.clock.now, dynamo: suite.counting.client, log: () => undefined, ...deps },
        );
    const jwksOf = async (handler: ReturnType<typeof gateway>) => bodyOf(await handler(event({ path: "/.well-known/jwks.json" })));
    const assertionOf = (index = 0) => String(suite.upstream.requests[index].headers["x-gateway-assertion"]);

    it("names the route's configured audience, and verifies at the handler's clock", async () => {
        const handler = gateway();
        await handler(event({ path: "/billing/invoices" }));

        const { payload, protectedHeader } = await jwtVerify(assertionOf(), createLocalJWKSet(await jwksOf(handler)), {
            issuer: testIdentity.issuer,
            audience: "https://billing.internal.example.com",
            currentDate: new Date(suite.clock.ms),
        });
        assert.equal(protectedHeader.alg, "ES256");
        assert.equal(payload.iat, suite.clock.seconds);
    });

    it("sends only the assertion when identity.headers is off, and only the headers when identity.assertion is off", async () => {
        const { token } = await createSessions({ dynamo: suite.dynamo.client, tableName: suite.tables.sessions, now: suite.clock.now }).create({ userId: "carol", roles: ["ops"] });
        const request = () => event({ path: "/users/me", headers: { authorization: `Bearer ${token}` } });

        await gateway({ identity: { ...testIdentity, headers: false } })(request());
        await gateway({ identity: { ...testIdentity, assertion: false } })(request());

        const [assertionOnly, headersOnly] = suite.upstream.requests.map((request) => request.headers);
        assert.ok(assertionOnly["x-gateway-assertion"]);
        assert.deepEqual([assertionOnly["x-gateway-user-id"], assertionOnly["x-gateway-roles"], assertionOnly["x-gateway-permissions"]], [undefined, undefined, undefined]);
        assert.equal(headersOnly["x-gateway-assertion"], undefined);
        assert.equal(headersOnly["x-gateway-user-id"], "carol");
    });

    describe("signed once, not per request", () => {
        const claimsOf = (assertion: string) => JSON.parse(Buffer.from(assertion.split(".")[1], "base64url").toString());

        it("sends a caller's repeated requests on a route one assertion for assertionReuseSeconds, whose jti names it and not the request", async () => {
            // given a 30 s reuse
            const handler = gateway({ identity: { ...testIdentity, assertionReuseSeconds: 30 } });
            const sessions = createSessions({ dynamo: suite.dynamo.client, tableName: suite.tables.sessions, now: suite.clock.now });
            const { token } = await sessions.create({ userId: "dora", roles: ["ops"] });
            const asDora = () => handler(event({ path: "/users/me", headers: { authorization: `Bearer ${token}` } }));
            // when she calls three times within 29 s
            const answers = [await asDora(), (suite.clock.advance(15_000), await asDora()), (suite.clock.advance(14_000), await asDora())];
            // then the upstream gets one assertion three times, each request with its own x-request-id
            const [first, second, third] = [assertionOf(0), assertionOf(1), assertionOf(2)];
            assert.equal(second, first);
            assert.equal(third, first);
            assert.equal(new Set(answers.map((answer) => answer.headers!["x-request-id"])).size, 3);
            assert.equal(new Set(suite.upstream.requests.map((request) => request.headers["x-request-id"])).size, 3);
            assert.match(claimsOf(first).jti, /^[A-Za-z0-9_-]{16}$/);
            assert.ok(!answers.some((answer) => answer.headers!["x-request-id"] === claimsOf(first).jti), "jti is not a request id");
            // and it still verifies at the last request, with 31 s of its minute left
            await jwtVerify(third, createLocalJWKSet(await jwksOf(handler)), { issuer: testIdentity.issuer, audience: "users", currentDate: new Date(suite.clock.ms) });
            assert.ok(claimsOf(third).exp - suite.clock.ms / 1000 >= 30);
        });

        it("signs anew once the reuse time is over, and never sends an assertion with less than 30 s of its minute left, whatever reuse is asked", async () => {
            // given a handler asked to reuse for longer than the schema allows, on a clock half a second into a second
            suite.clock.advance(500);
            const handler = gateway({ identity: { ...testIdentity, assertionReuseSeconds: 50 } });
            await handler(event({ path: "/billing/a" }));
            suite.clock.advance(29_400);
            await handler(event({ path: "/billing/b" }));
            suite.clock.advance(200);
            await handler(event({ path: "/billing/c" }));
            // then the second request reused the first's (exp 30.1 s away), the third got a new one
            assert.equal(assertionOf(1), assertionOf(0));
            assert.notEqual(assertionOf(2), assertionOf(0));
            for (const index of [0, 1, 2]) {
                const sentAt = [0, 29_400, 29_600][index];
                assert.ok(claimsOf(assertionOf(index)).exp * 1000 - (suite.clock.ms - 29_600 + sentAt) >= 30_000, `assertion ${index} sent with under 30 s left`);
            }
        });

        it("gives another caller, another route, other claims of the same user and another auth method each an assertion of their own", async () => {
            const handler = gateway({
                identity: { ...testIdentity, assertionReuseSeconds: 30 },
                routes: [
                    route({ name: "users", pathPrefix: "/users", upstream: suite.upstream.url, auth: "session" }),
                    route({ name: "reports", pathPrefix: "/reports", upstream: suite.upstream.url, auth: "session" }),
                    route({ name: "open", pathPrefix: "/open", upstream: suite.upstream.url }),
                ],
            });
            const sessions = createSessions({ dynamo: suite.dynamo.client, tableName: suite.tables.sessions, now: suite.clock.now });
            const [dora, erik, doraAdmin] = await Promise.all([
                sessions.create({ userId: "dora", roles: ["ops"] }),
                sessions.create({ userId: "erik", roles: ["ops"] }),
                sessions.create({ userId: "dora", roles: ["ops", "admin"] }),
            ]);
            const send = (path: string, token?: string) => handler(event({ path, headers: token ? { authorization: `Bearer ${token}` } : {} }));
            for (const [path, token] of [["/users/1", dora.token], ["/users/1", erik.token], ["/reports/1", dora.token], ["/users/1", doraAdmin.token], ["/open/1", undefined], ["/open/2", undefined]] as const) await send(path, token);

            const assertions = suite.upstream.requests.map((request) => String(request.headers["x-gateway-assertion"]));
            assert.equal(new Set(assertions.slice(0, 5)).size, 5, "each caller, route and set of claims has its own");
            assert.equal(assertions[5], assertions[4], "anonymous requests on one route share one");
            assert.deepEqual(claimsOf(assertions[3]).roles, ["ops", "admin"]);
        });

        it("signs every request, each with an assertion id of its own, with assertionReuseSeconds 0", async () => {
            const handler = gateway({ identity: { ...testIdentity, assertionReuseSeconds: 0 } });
            await handler(event({ path: "/billing/a" }));
            await handler(event({ path: "/billing/a" }));
            assert.notEqual(claimsOf(assertionOf(0)).jti, claimsOf(assertionOf(1)).jti);
        });
    });

    it("publishes both keys during a rotation: signs with the new one, and an assertion signed with the old one still verifies", async () => {
        // given the key before the rotation, and an assertion it signed
        const before = generateKeyMaterial();
        const oldGateway = gateway({ gatewayKeys: { value: before } });
        await oldGateway(event({ path: "/billing/1" }));
        const signedBefore = assertionOf(0);
        // when the gateway is rotated: a new key first, the old one kept
        const rotated: KeyMaterial = { signingKeys: [generateKeyMaterial().signingKeys[0], before.signingKeys[0]], logKey: before.logKey };
        const newGateway = gateway({ gatewayKeys: { value: rotated } });
        await newGateway(event({ path: "/billing/2" }));
        const signedAfter = assertionOf(1);

        // then the JWKS holds both, the new one signs, and both assertions verify against it
        const jwks = await jwksOf(newGateway);
        assert.deepEqual(jwks.keys.map((key: { kid: string }) => key.kid), [gatewayKeysOf(rotated).kid, gatewayKeysOf(before).kid]);
        const kidOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString()).kid;
        assert.equal(kidOf(signedAfter), jwks.keys[0].kid);
        for (const token of [signedBefore, signedAfter]) {
            await jwtVerify(token, createLocalJWKSet(jwks), { audience: "https://billing.internal.example.com", currentDate: new Date(suite.clock.ms) });
        }
    });

    it("refuses to forward (503) while the gateway's keys cannot be read, reads them once they can, and once only", async () => {
        // given a Secrets Manager that fails the first read (the one at cold start, which the first request waits on)
        const material = generateKeyMaterial();
        const reads: string[] = [];
        const loadSecret = async (arn: string) => {
            reads.push(arn);
            if (reads.length === 1) throw new Error("Secrets Manager is unavailable");
            return JSON.stringify(material);
        };
        const handler = gateway({ gatewayKeys: { secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tollgate-gateway-keys" } }, { loadSecret });

        // when requests come
        const refused = await handler(event({ path: "/billing/1" }));
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await handler(event({ path: "/billing/1" }))).statusCode);

        // then the first is refused without reaching the upstream, the rest go through, and the key was read once it could be
        assert.equal(refused.statusCode, 503);
        assert.equal(JSON.parse(refused.body!).detail, "The gateway cannot vouch for the caller right now.");
        assert.deepEqual(statuses, [200, 200, 200]);
        assert.equal(suite.upstream.requests.length, 3);
        assert.equal(reads.length, 2);
    });
});
