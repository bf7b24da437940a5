import { strict as assert } from "node:assert";
import { SignJWT } from "jose";
import { dynamoKinds } from "./support/dynamo";
import { freePort } from "./support/loopback";
import { binaryPayload, bodyOf, Clock, event, freshTables, jwtPolicy, route, runtimeSettings, useDynamoAndUpstream } from "./support/runtime";
import { createHandler } from "../runtime/handler";
import { createSessions } from "../runtime/sessions";
import type { RuntimeSettings } from "../runtime/settings";

for (const kind of dynamoKinds) {
    describe(`proxying (${kind})`, function () {
        const servers = useDynamoAndUpstream(kind);
        let tables: { rateLimits: string; sessions: string };
        let clock: Clock;

        before(async () => {
            tables = await freshTables(servers.dynamo);
        });
        beforeEach(() => {
            clock = new Clock();
        });

        const gateway = (overrides: Partial<RuntimeSettings> = {}) =>
            createHandler(runtimeSettings(tables, servers.dynamo, { routes: [route({ name: "svc", pathPrefix: "/svc", upstream: `${servers.upstream.url}/base` })], ...overrides }), {
                now: clock.now,
                log: () => undefined,
            });

        it("sends the path after the prefix and the query to the upstream base", async () => {
            const result = await gateway()(event({ path: "/svc/items/42", query: "sort=desc&tag=a%20b&tag=c" }));
            assert.equal(result.statusCode, 200);
            assert.equal(servers.upstream.requests[0].url, "/base/items/42?sort=desc&tag=a%20b&tag=c");
            assert.equal(bodyOf(result).url, "/base/items/42?sort=desc&tag=a%20b&tag=c");
        });

        it("passes the method and a text body", async () => {
            await gateway()(event({ method: "PUT", path: "/svc/x", headers: { "content-type": "application/json" }, body: '{"a":1}' }));
            assert.equal(servers.upstream.requests[0].method, "PUT");
            assert.equal(servers.upstream.requests[0].body.toString(), '{"a":1}');
            assert.equal(servers.upstream.requests[0].headers["content-type"], "application/json");
        });

        it("strips hop-by-hop headers, those named by Connection, and x-gateway-* sent by the client; adds x-request-id", async () => {
            // when
            await gateway()(
                event({
                    path: "/svc",
                    requestId: "abc-123",
                    headers: {
                        connection: "x-secret-hop",
                        "x-secret-hop": "1",
                        "keep-alive": "timeout=5",
                        te: "trailers",
                        upgrade: "websocket",
                        "proxy-authorization": "Basic Zm9v",
                        "x-gateway-user-id": "admin",
                        "x-request-id": "client-chosen",
                        "x-custom": "kept",
                        authorization: "Basic dXNlcjpwYXNz",
                    },
                }),
            );
            // then
            const seen = servers.upstream.requests[0].headers;
            for (const name of ["x-secret-hop", "keep-alive", "te", "upgrade", "proxy-authorization", "x-gateway-user-id"]) assert.equal(seen[name], undefined, name);
            assert.equal(seen["x-request-id"], "abc-123");
            assert.equal(seen["x-custom"], "kept");
            assert.equal(seen.authorization, "Basic dXNlcjpwYXNz", "on an auth:none route the Authorization header is the upstream's");
        });

        describe("proxy-control headers are the gateway's", () => {
            /** What clients send to make a server behind a proxy believe another client, host, scheme, path or method. */
            const spoofed: Record<string, string> = {
                forwarded: 'for=6.6.6.6;host=evil.example;proto=http, for="[::1]"',
                "x-real-ip": "6.6.6.6",
                "x-client-ip": "6.6.6.6",
                "client-ip": "6.6.6.6",
                "true-client-ip": "6.6.6.6",
                "x-cluster-client-ip": "6.6.6.6",
                "x-forwarded-prefix": "/admin",
                "x-forwarded-path": "/admin",
                "x-forwarded-uri": "/admin",
                "x-forwarded-scheme": "http",
                "x-forwarded-ssl": "off",
                "x-forwarded-server": "evil.example",
                "x-original-host": "evil.example",
                "x-host": "evil.example",
                "x-original-url": "/admin/delete",
                "x-original-uri": "/admin/delete",
                "x-rewrite-url": "/admin/delete",
                "front-end-https": "off",
                "x-url-scheme": "http",
                "x-http-method-override": "DELETE",
                "x-http-method": "DELETE",
                "x-method-override": "DELETE",
                x_real_ip: "6.6.6.6",
                x_original_url: "/admin/delete",
                x_http_method_override: "DELETE",
                x_forwarded_prefix: "/admin",
            };

            it("drops every proxy-control header a client sends, in any spelling, and sends the gateway's own Forwarded from what API Gateway saw", async () => {
                await gateway()(event({ path: "/svc", headers: { ...spoofed, host: "api.example.com" } }));

                const seen = servers.upstream.requests[0].headers;
                const leaked = Object.keys(seen).filter((name) => name.replace(/_/g, "-") in spoofed);
                assert.deepEqual(leaked, ["forwarded"]);
                assert.equal(seen.forwarded, 'for=198.51.100.7;proto=https;host="api.example.com"');
                assert.equal(seen["x-forwarded-host"], "api.example.com");
            });

            it("writes an IPv6 client quoted and bracketed, and leaves out a host it cannot write", async () => {
                await gateway()(event({ path: "/svc", sourceIp: "2001:db8::7", headers: { host: 'evil.example";for=1.2.3.4' } }));
                assert.equal(servers.upstream.requests[0].headers.forwarded, 'for="[2001:db8::7]";proto=https');
            });

            it("keeps the headers a route names, in their own spelling only, and appends the gateway's element to a kept Forwarded", async () => {
                const handler = gateway({
                    routes: [route({ name: "legacy", pathPrefix: "/legacy", upstream: servers.upstream.url, keepClientHeaders: ["x-http-method-override", "forwarded"] })],
                });
                await handler(event({ path: "/legacy", headers: { ...spoofed, host: "api.example.com" } }));

                const seen = servers.upstream.requests[0].headers;
                assert.equal(seen["x-http-method-override"], "DELETE");
                assert.equal(seen.x_http_method_override, undefined, "a twin is never kept");
                assert.equal(seen["x-real-ip"], undefined, "a header the route does not name is dropped");
                assert.equal(seen.forwarded, 'for=6.6.6.6;host=evil.example;proto=http, for="[::1]", for=198.51.100.7;proto=https;host="api.example.com"');
            });
        });

        it("lets a client's Connection header remove its own headers only, never those API Gateway or the gateway set", async () => {
            // given a session route, so the gateway sends the identity too
            const handler = gateway({ routes: [route({ name: "svc", pathPrefix: "/svc", upstream: servers.upstream.url, auth: "session" })] });
            const { token } = await createSessions({ dynamo: servers.dynamo.client, tableName: tables.sessions, now: clock.now }).create({ userId: "u-hop" });
            const vouched = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-amzn-trace-id", "x-request-id", "x-forwarded-host", "forwarded", "x-gateway-assertion", "x-gateway-user-id", "x-gateway-roles", "x-gateway-permissions"];
            // when the client's Connection names them all, in several spellings, and one header of its own
            await handler(
                event({
                    path: "/svc",
                    requestId: "req-hop",
                    headers: {
                        authorization: `Bearer ${token}`,
                        connection: `${vouched.join(", ")}, X-Forwarded-For , x_forwarded_proto, x-mine`,
                        "x-forwarded-for": "198.51.100.7",
                        "x-forwarded-proto": "https",
                        "x-forwarded-port": "443",
                        "x-amzn-trace-id": "Root=1-00000000-000000000000000000000000",
                        "x-mine": "hop",
                    },
                }),
            );
            // then its own header is gone and every header the gateway vouches for is there
            const seen = servers.upstream.requests[0].headers;
            assert.equal(seen["x-mine"], undefined);
            assert.deepEqual(vouched.filter((name) => seen[name] === undefined), []);
            assert.deepEqual([seen["x-forwarded-for"], seen["x-forwarded-proto"], seen["x-forwarded-port"], seen["x-request-id"], seen["x-gateway-user-id"]], ["198.51.100.7", "https", "443", "req-hop", "u-hop"]);
        });

        it("refuses a request with a header that cannot be sent as it came with 400 problem+json, and never calls the upstream", async () => {
            // given headers no HTTP/1.1 request can carry as they are: a control character in a value, a name that is not a token, a control character in a cookie
            const unsendable = [event({ path: "/svc", headers: { "x-note": "a\u0001b" } }), event({ path: "/svc", headers: { "x-café": "1" } }), event({ path: "/svc", cookies: ["theme=da\u007frk"] })];
            // when
            const results = [];
            for (const request of unsendable) results.push(await gateway()(request));
            // then each is refused, none is forwarded without the header
            for (const result of results) {
                assert.equal(result.statusCode, 400);
                assert.equal(result.headers!["content-type"], "application/problem+json");
                assert.deepEqual(bodyOf(result), { type: "about:blank", title: "Bad Request", status: 400, detail: "A request header cannot be forwarded as sent." });
            }
            assert.equal(servers.upstream.requests.length, 0);
            // while non-ASCII text in a value is sent, as the UTF-8 bytes the client sent
            assert.equal((await gateway()(event({ path: "/svc", headers: { "x-note": "café" } }))).statusCode, 200);
            assert.equal(Buffer.from(String(servers.upstream.requests[0].headers["x-note"]), "latin1").toString("utf8"), "café");
        });

        it("on a forwardAuthorization route, forwards a JWT but still removes a bearer session token", async () => {
            // given an any-route and a none-route that forward Authorization, a session and a JWT
            const hsSecret = "a-test-secret-of-at-least-thirty-two-characters";
            const jwtClaims = { issuer: "https://issuer.example.com", audience: "tollgate-tests" };
            const handler = gateway({
                routes: [
                    route({ name: "partner", pathPrefix: "/partner", upstream: servers.upstream.url, auth: "any", forwardAuthorization: true }),
                    route({ name: "public", pathPrefix: "/public", upstream: servers.upstream.url, forwardAuthorization: true }),
                ],
                jwtSecret: { value: hsSecret },
                jwt: { ...jwtPolicy, ...jwtClaims },
            });
            const { token: sessionToken } = await createSessions({ dynamo: servers.dynamo.client, tableName: tables.sessions, now: clock.now }).create({ userId: "u-partner" });
            const jwt = await new SignJWT({})
                .setProtectedHeader({ alg: "HS256", typ: "JWT" })
                .setSubject("u-jwt")
                .setIssuer(jwtClaims.issuer)
                .setAudience(jwtClaims.audience)
                .setIssuedAt(clock.seconds)
                .setExpirationTime(clock.seconds + 60)
                .sign(new TextEncoder().encode(hsSecret));
            // when
            const statuses = [];
            for (const path of ["/partner", "/public"]) {
                for (const credential of [sessionToken, jwt]) statuses.push((await handler(event({ path, headers: { authorization: `Bearer ${credential}` } }))).statusCode);
            }
            // then every request is forwarded, the JWT with it and the session token without
            assert.deepEqual(statuses, [200, 200, 200, 200]);
            const [partnerSession, partnerJwt, publicSession, publicJwt] = servers.upstream.requests.map((request) => request.headers);
            assert.equal(partnerSession["x-gateway-user-id"], "u-partner", "the session authenticated the request");
            assert.equal(partnerSession.authorization, undefined);
            assert.equal(publicSession.authorization, undefined);
            for (const seen of [partnerSession, publicSession]) assert.ok(!JSON.stringify(seen).includes(sessionToken), "the session token reached the upstream");
            assert.equal(partnerJwt.authorization, `Bearer ${jwt}`);
            assert.equal(partnerJwt["x-gateway-user-id"], "u-jwt");
            assert.equal(publicJwt.authorization, `Bearer ${jwt}`);
        });

        it("carries binary bodies both ways as base64", async () => {
            // when a binary body goes up
            const upload = await gateway()(event({ method: "POST", path: "/svc/upload", headers: { "content-type": "application/octet-stream" }, body: binaryPayload }));
            // then the upstream gets the exact bytes
            assert.equal(upload.statusCode, 200);
            assert.ok(servers.upstream.requests[0].body.equals(binaryPayload));
            // when a binary body comes down
            const download = await gateway()(event({ path: "/svc/binary" }));
            // then it is base64 in the result
            assert.equal(download.isBase64Encoded, true);
            assert.ok(Buffer.from(download.body!, "base64").equals(binaryPayload));
            assert.equal(download.headers!["content-type"], "application/octet-stream");
        });

        it("returns each Set-Cookie in the 2.0 cookies array", async () => {
            const result = await gateway()(event({ path: "/svc/cookies" }));
            assert.deepEqual(result.cookies, ["a=1; Path=/; HttpOnly", "b=2; Path=/"]);
            assert.equal(result.headers!["set-cookie"], undefined);
            assert.equal(result.body, "cookies set");
            assert.equal(result.isBase64Encoded, false);
        });

        it("drops hop-by-hop response headers and keeps the upstream's own", async () => {
            const result = await gateway()(event({ path: "/svc" }));
            assert.equal(result.headers!.connection, undefined);
            assert.equal(result.headers!["keep-alive"], undefined);
            assert.equal(result.headers!["x-upstream"], "echo");
        });

        it("passes a redirect back instead of following it", async () => {
            const result = await gateway()(event({ path: "/svc/redirect" }));
            assert.equal(result.statusCode, 302);
            assert.equal(result.headers!.location, "http://elsewhere.invalid/");
        });

        it("passes an upstream 5xx through", async () => {
            const result = await gateway()(event({ path: "/svc/status/503" }));
            assert.equal(result.statusCode, 503);
            assert.equal(result.body, "status 503");
        });

        it("answers 502 when the upstream refuses the connection", async () => {
            const port = await freePort();
            const result = await gateway({ routes: [route({ name: "svc", pathPrefix: "/svc", upstream: `http://127.0.0.1:${port}` })] })(event({ path: "/svc" }));
            assert.equal(result.statusCode, 502);
            assert.equal(result.headers!["content-type"], "application/problem+json");
            assert.ok(!result.body!.includes("ECONNREFUSED") && !result.body!.includes("127.0.0.1"), "no internal detail");
            assert.ok(result.headers!["ratelimit-policy"], "a proxied answer carries the rate-limit headers");
        });

        it("answers 502 when the upstream resets the connection", async () => {
            const result = await gateway()(event({ path: "/svc/reset" }));
            assert.equal(result.statusCode, 502);
        });

        it("answers 504 when the upstream does not answer within upstreamTimeoutMs", async () => {
            const result = await gateway({ upstreamTimeoutMs: 300 })(event({ path: "/svc/slow" }));
            assert.equal(result.statusCode, 504);
            assert.equal(JSON.parse(result.body!).title, "Gateway Timeout");
        });

        it("gives up before the invocation's remaining time runs out", async () => {
            // given a 10 s upstream timeout but 600 ms left in the invocation
            const result = await gateway({ upstreamTimeoutMs: 10_000 })(event({ path: "/svc/slow" }), { getRemainingTimeInMillis: () => 600 });
            assert.equal(result.statusCode, 504);
        });

        it("refuses a path that escapes the prefix with 400 and never calls the upstream", async () => {
            for (const path of ["/svc/../admin", "/svc/%2e%2e/admin", "/svc/a%2fb", "/svc/a%00"]) {
                const result = await gateway()(event({ path }));
                assert.equal(result.statusCode, 400, path);
            }
            assert.equal(servers.upstream.requests.length, 0);
        });
    });
}
