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
