import { strict as assert } from "node:assert";
import { GetCommand, QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { dynamoKinds } from "./support/dynamo";
import { event, route, runtimeSettings, testWindowKey, useHandlerSuite } from "./support/runtime";
import { generateKeyMaterial } from "../local/keys";
import { gatewayKeysOf } from "../runtime/auth/gatewayKeys";
import { createHandler } from "../runtime/handler";
import { createSessions } from "../runtime/sessions";
import { clientOf, keyPart, windowOffsetSeconds } from "../runtime/steps/rateLimit";
import type { RuntimeSettings } from "../runtime/settings";
import type { RateLimitPolicy } from "../specs/routes";

const windowSeconds = 60;

for (const kind of dynamoKinds) {
    describe(`rate limiting (${kind})`, function () {
        const suite = useHandlerSuite(kind);

        const gateway = (policy: RateLimitPolicy, overrides: Partial<RuntimeSettings> = {}) =>
            createHandler(runtimeSettings(suite.tables, suite.dynamo, { routes: [route({ name: "orders", pathPrefix: "/orders", upstream: suite.upstream.url, rateLimit: policy })], ...overrides }), {
                now: suite.clock.now,
                dynamo: suite.counting.client,
                log: () => undefined,
            });
        /** limiter_key -> request_count of every counter stored. */
        const counters = async () => {
            const { Items = [] } = await suite.dynamo.doc.send(new ScanCommand({ TableName: suite.tables.rateLimits, ConsistentRead: true }));
            return Object.fromEntries(Items.map((item) => [item.limiter_key, item.request_count]));
        };
        const fixed10: RateLimitPolicy = { by: "ip", limit: 10, windowSeconds, algorithm: "fixed" };
        const ordersKey = "ip:198.51.100.7:route:orders";
        const windowStart = () => suite.clock.windowStart(ordersKey, windowSeconds);
        // Each test starts on the first second of the orders key's window.
        beforeEach(() => suite.clock.toWindowStart(ordersKey, windowSeconds));

        it("refuses the 11th request in a window, counting down in the RateLimit header", async () => {
            // given a limit of 10 a minute, 15 s into a window
            const handler = gateway(fixed10);
            suite.clock.advance(15_000);
            // when
            const results = [];
            for (let i = 0; i < 11; i++) results.push(await handler(event({ path: "/orders/1" })));
            // then
            assert.deepEqual(results.map((r) => r.statusCode), [...Array(10).fill(200), 429]);
            assert.deepEqual(results.slice(0, 10).map((r) => r.headers!.ratelimit), Array.from({ length: 10 }, (_, i) => `"orders";r=${9 - i};t=45`));
            for (const result of results) assert.equal(result.headers!["ratelimit-policy"], '"orders";q=10;w=60');
            const refused = results[10];
            assert.equal(refused.headers!["retry-after"], "45");
            assert.equal(refused.headers!.ratelimit, '"orders";r=0;t=45');
            assert.equal(refused.headers!["content-type"], "application/problem+json");
            assert.equal(JSON.parse(refused.body!).status, 429);
            assert.equal(suite.upstream.requests.length, 10, "a refused request never reaches the upstream");
        });

        it("admits exactly 10 of 50 parallel requests on one key", async () => {
            // given
            const handler = gateway(fixed10);
            // when
            const results = await Promise.all(Array.from({ length: 50 }, () => handler(event({ path: "/orders" }))));
            // then
            assert.equal(results.filter((r) => r.statusCode === 200).length, 10);
            assert.equal(results.filter((r) => r.statusCode === 429).length, 40);
            assert.equal(suite.upstream.requests.length, 10);
            const counter = await suite.dynamo.doc.send(new GetCommand({ TableName: suite.tables.rateLimits, Key: { limiter_key: "ip:198.51.100.7:route:orders", window_start: windowStart() }, ConsistentRead: true }));
            assert.equal(counter.Item?.request_count, 10);
        });

        it("keeps the seed's counter item: limiter_key, window_start, request_count, last_updated, expires_at", async () => {
            // when
            suite.clock.advance(7_500);
            await gateway(fixed10)(event({ path: "/orders" }));
            // then
            const { Items } = await suite.dynamo.doc.send(new QueryCommand({ TableName: suite.tables.rateLimits, KeyConditionExpression: "limiter_key = :k", ExpressionAttributeValues: { ":k": "ip:198.51.100.7:route:orders" } }));
            assert.deepEqual(Items, [{ limiter_key: "ip:198.51.100.7:route:orders", window_start: windowStart(), request_count: 1, last_updated: suite.clock.seconds, expires_at: windowStart() + 2 * windowSeconds }]);
        });

        it("charges one UpdateItem per admitted request, and refuses a refused key from memory until its window ends", async () => {
            // given a key refused once
            const handler = gateway({ ...fixed10, limit: 2 });
            for (let i = 0; i < 3; i++) await handler(event({ path: "/orders" }));
            assert.deepEqual(Object.fromEntries(suite.counting.counts), { UpdateItemCommand: 3 });
            suite.counting.reset();
            // when more requests come in the same window
            suite.clock.advance(30_000);
            const refused = await Promise.all(Array.from({ length: 5 }, () => handler(event({ path: "/orders" }))));
            // then no DynamoDB call is made for them
            assert.deepEqual(refused.map((r) => r.statusCode), Array(5).fill(429));
            assert.equal(refused[0].headers!["retry-after"], "30");
            assert.equal(suite.counting.total(), 0);
            // and the next window admits again, with one write
            suite.clock.advance(30_000);
            const next = await handler(event({ path: "/orders" }));
            assert.equal(next.statusCode, 200);
            assert.deepEqual(Object.fromEntries(suite.counting.counts), { UpdateItemCommand: 1 });
        });

        it("charges routes without a limit of their own to the default policy's one counter per address, and a route with its own to that route alone", async () => {
            // given a default of 3 a minute shared by catalogue and search, and login's own 2 a minute
            const handler = createHandler(
                runtimeSettings(suite.tables, suite.dynamo, {
                    defaultRateLimit: { ...fixed10, limit: 3 },
                    routes: [
                        route({ name: "catalogue", pathPrefix: "/catalogue", upstream: suite.upstream.url }),
                        route({ name: "search", pathPrefix: "/search", upstream: suite.upstream.url }),
                        route({ name: "login", pathPrefix: "/login", upstream: suite.upstream.url, rateLimit: { ...fixed10, limit: 2 } }),
                    ],
                }),
                { now: suite.clock.now, dynamo: suite.counting.client, log: () => undefined },
            );
            const send = (path: string) => handler(event({ path }));
            // when one client uses the two default routes four times, then logs in three times
            const browsing = [await send("/catalogue/1"), await send("/search"), await send("/catalogue/2"), await send("/search")];
            const logins = [await send("/login"), await send("/login"), await send("/login")];
            // then the default routes count down one budget together, and the fourth request is refused
            const secondsLeft = (key: string) => suite.clock.windowStart(key, windowSeconds) + windowSeconds - suite.clock.seconds;
            const [shared, login] = [secondsLeft("ip:198.51.100.7"), secondsLeft("ip:198.51.100.7:route:login")];
            assert.deepEqual(browsing.map((r) => r.statusCode), [200, 200, 200, 429]);
            assert.deepEqual(browsing.slice(0, 3).map((r) => r.headers!.ratelimit), [`"catalogue";r=2;t=${shared}`, `"search";r=1;t=${shared}`, `"catalogue";r=0;t=${shared}`]);
            // and login, untouched by them, admits its own two
            assert.deepEqual(logins.map((r) => r.statusCode), [200, 200, 429]);
            assert.equal(logins[0].headers!.ratelimit, `"login";r=1;t=${login}`);
            // stored as ip:<ip> for the shared counter and ip:<ip>:route:login for login's
            const { Items = [] } = await suite.dynamo.doc.send(new ScanCommand({ TableName: suite.tables.rateLimits, ConsistentRead: true }));
            assert.deepEqual(Object.fromEntries(Items.map((item) => [item.limiter_key, item.request_count])), { "ip:198.51.100.7": 3, "ip:198.51.100.7:route:login": 2 });
        });

        it("keys on the source IP API Gateway saw, never on X-Forwarded-For", async () => {
            // given
            const handler = gateway({ ...fixed10, limit: 1 });
            // when the same client claims other addresses, and another client comes
            const first = await handler(event({ path: "/orders", sourceIp: "203.0.113.1", headers: { "x-forwarded-for": "10.0.0.1" } }));
            const spoofed = await handler(event({ path: "/orders", sourceIp: "203.0.113.1", headers: { "x-forwarded-for": "10.0.0.2" } }));
            const other = await handler(event({ path: "/orders", sourceIp: "203.0.113.2", headers: { "x-forwarded-for": "10.0.0.1" } }));
            // then
            assert.deepEqual([first.statusCode, spoofed.statusCode, other.statusCode], [200, 429, 200]);
        });

        it("weights the previous window's count into the limit (sliding), reading it once per window", async () => {
            // given 10 requests in the previous window, limit 10
            const handler = gateway({ ...fixed10, algorithm: "sliding" });
            for (let i = 0; i < 10; i++) assert.equal((await handler(event({ path: "/orders" }))).statusCode, 200);
            // when 15 s into the next window, 3/4 of the previous window still counts: floor(10 - 7.5) = 2 left
            suite.clock.advance(75_000);
            suite.counting.reset();
            const results = [];
            for (let i = 0; i < 3; i++) results.push(await handler(event({ path: "/orders" })));
            // then
            assert.deepEqual(results.map((r) => r.statusCode), [200, 200, 429]);
            assert.deepEqual(results.slice(0, 2).map((r) => r.headers!.ratelimit), ['"orders";r=1;t=45', '"orders";r=0;t=45']);
            // a third request fits once the previous window weighs 0.7 (at 18 s): 3 s from now
            assert.equal(results[2].headers!["retry-after"], "3");
            assert.equal(suite.counting.counts.get("GetItemCommand"), 1, "the previous window is read once");
            suite.clock.advance(2_000);
            assert.equal((await handler(event({ path: "/orders" }))).statusCode, 429, "still refused, from memory");
            suite.clock.advance(1_000);
            assert.equal((await handler(event({ path: "/orders" }))).statusCode, 200);
            assert.equal(suite.counting.counts.get("GetItemCommand"), 1);
        });

        it("never lets a sliding window admit more than the limit in any rolling window of steady traffic", async () => {
            // given one request every 2 s against 10 a minute, for 3 minutes
            const handler = gateway({ ...fixed10, algorithm: "sliding" });
            const admittedAt: number[] = [];
            for (let i = 0; i < 90; i++) {
                if ((await handler(event({ path: "/orders" }))).statusCode === 200) admittedAt.push(suite.clock.ms);
                suite.clock.advance(2_000);
            }
            // then any 60 s span holds at most 10 admissions... plus the estimate's known slack
            const maxInSpan = Math.max(...admittedAt.map((start) => admittedAt.filter((t) => t >= start && t < start + 60_000).length));
            assert.ok(maxInSpan <= 11, `at most ${maxInSpan} in a rolling minute`);
            assert.ok(admittedAt.length >= 25, `admitted ${admittedAt.length} of 90 (about 10 a minute)`);
        });
    
        describe("windows nobody can predict", () => {
            it("starts each key's windows at an offset of its own, the same in every container of the stack", async () => {
                // given two containers of one stack, limit 1 a minute
                const [one, two] = [gateway({ ...fixed10, limit: 1 }), gateway({ ...fixed10, limit: 1 })];
                const addresses = Array.from({ length: 40 }, (_, i) => `203.0.113.${i + 1}`);
                // when 40 clients each send one request to the first and one to the second
                for (const sourceIp of addresses) assert.equal((await one(event({ path: "/orders", sourceIp }))).statusCode, 200);
                const second = await Promise.all(addresses.map((sourceIp) => two(event({ path: "/orders", sourceIp }))));
                // then the second container counted on the same windows (each second request refused)
                assert.deepEqual(new Set(second.map((result) => result.statusCode)), new Set([429]));
                // and the windows start at many different seconds, each the key's own offset past a whole minute
                const { Items = [] } = await suite.dynamo.doc.send(new ScanCommand({ TableName: suite.tables.rateLimits, ConsistentRead: true }));
                const offsets = Items.map((item) => Number(item.window_start) % windowSeconds);
                assert.ok(new Set(offsets).size >= 20, `40 keys' windows start at only ${new Set(offsets).size} different seconds of the minute`);
                for (const item of Items) assert.equal(Number(item.window_start) % windowSeconds, windowOffsetSeconds(String(item.limiter_key), windowSeconds, testWindowKey));
            });

            it("places the windows by the stack's secret: under another stack's keys the same limiter keys start elsewhere", () => {
                const keys = Array.from({ length: 40 }, (_, i) => `ip:203.0.113.${i + 1}:route:orders`);
                const anotherStack = gatewayKeysOf(generateKeyMaterial()).windowKey;
                const ours = keys.map((key) => windowOffsetSeconds(key, windowSeconds, testWindowKey));
                const theirs = keys.map((key) => windowOffsetSeconds(key, windowSeconds, anotherStack));
                const alike = ours.filter((offset, i) => offset === theirs[i]).length;
                assert.ok(alike <= 5, `${alike} of 40 keys start their windows at the same second under two stacks' secrets`);
            });

            it("keeps a refused client refused across the minute's turn until its own window ends, fixed and sliding alike", async () => {
                for (const [algorithm, network] of [["fixed", "198.51.100"], ["sliding", "203.0.113"]] as const) {
                    // given a client whose windows start 20 to 40 s past the minute, limit 2
                    const sourceIp = Array.from({ length: 250 }, (_, i) => `${network}.${i}`).find((ip) => {
                        const offset = windowOffsetSeconds(`ip:${ip}:route:orders`, windowSeconds, testWindowKey);
                        return offset >= 20 && offset <= 40;
                    })!;
                    const key = `ip:${sourceIp}:route:orders`;
                    const handler = gateway({ ...fixed10, limit: 2, algorithm });
                    suite.clock.toWindowStart(key, windowSeconds);
                    const offset = windowOffsetSeconds(key, windowSeconds, testWindowKey);
                    // when it spends its two requests in the last seconds before a whole minute
                    suite.clock.advance((windowSeconds - offset - 5) * 1000);
                    const spent = [await handler(event({ path: "/orders", sourceIp })), await handler(event({ path: "/orders", sourceIp })), await handler(event({ path: "/orders", sourceIp }))];
                    // then the whole minute brings it nothing: its window ends `offset` seconds later
                    suite.clock.advance(6_000);
                    const afterMinute = await handler(event({ path: "/orders", sourceIp }));
                    assert.deepEqual([...spent, afterMinute].map((result) => result.statusCode), [200, 200, 429, 429], algorithm);
                    assert.equal(afterMinute.headers!["retry-after"], String(offset - 1), algorithm);
                    suite.clock.advance((offset - 1) * 1000);
                    assert.equal((await handler(event({ path: "/orders", sourceIp }))).statusCode, algorithm === "fixed" ? 200 : 429, algorithm);
                    suite.clock.advance(windowSeconds * 1000);
                }
            });

            it("answers as for a failed store while the gateway's keys cannot be read: open admits uncounted, closed refuses with 503", async () => {
                for (const failureMode of ["open", "closed"] as const) {
                    const handler = createHandler(
                        runtimeSettings(suite.tables, suite.dynamo, {
                            routes: [route({ name: "orders", pathPrefix: "/orders", upstream: suite.upstream.url, rateLimit: fixed10 })],
                            identity: { assertion: false, headers: true, issuer: "urn:tollgate:test" },
                            rateLimitFailureMode: failureMode,
                            gatewayKeys: { secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keys" },
                        }),
                        { now: suite.clock.now, dynamo: suite.counting.client, log: () => undefined, loadSecret: async () => Promise.reject(new Error("unreachable")) },
                    );
                    suite.counting.reset();
                    const result = await handler(event({ path: "/orders" }));
                    assert.equal(result.statusCode, failureMode === "open" ? 200 : 503, failureMode);
                    assert.equal(suite.counting.counts.get("UpdateItemCommand"), undefined, "nothing counted on a window it cannot place");
                }
            });
        });

        describe("IPv6 clients", () => {
            it("counts an IPv6 client by its /64, however the address is written, and another /64 on its own", async () => {
                // given a limit of 3 a minute
                const handler = gateway({ ...fixed10, limit: 3 });
                const from = (sourceIp: string) => handler(event({ path: "/orders", sourceIp }));
                // when addresses of one /64 take turns, written the ways an address can be
                const sameSubnet = [await from("2001:db8:1:2::1"), await from("2001:db8:1:2:ffff:ffff:ffff:ffff"), await from("2001:DB8:1:2:0:0:0:abcd"), await from("2001:0db8:0001:0002::2%eth0")];
                const otherSubnet = await from("2001:db8:1:3::1");
                // then they share one counter, stored under the /64, and the next /64 has its own
                assert.deepEqual(sameSubnet.map((result) => result.statusCode), [200, 200, 200, 429]);
                assert.equal(otherSubnet.statusCode, 200);
                assert.deepEqual(await counters(), { "ip:2001%3Adb8%3A1%3A2%3A%3A/64:route:orders": 3, "ip:2001%3Adb8%3A1%3A3%3A%3A/64:route:orders": 1 });
            });

            it("counts each IPv6 address on its own with rateLimitIpv6PrefixLength 128, and by the prefix it gives otherwise", async () => {
                const perAddress = gateway({ ...fixed10, limit: 1 }, { rateLimitIpv6PrefixLength: 128 });
                const answers = [await perAddress(event({ path: "/orders", sourceIp: "2001:db8::1" })), await perAddress(event({ path: "/orders", sourceIp: "2001:db8::2" }))];
                assert.deepEqual(answers.map((result) => result.statusCode), [200, 200]);
                assert.deepEqual(clientOf("2001:db8:aa:bb:cc::1", 48), "2001:db8:aa::/48");
                assert.deepEqual(clientOf("2001:db8:aa:bbcc:dd::1", 56), "2001:db8:aa:bb00::/56");
            });

            it("counts an IPv4 client by its address, also when API Gateway writes it as an IPv4-mapped IPv6 address", async () => {
                const handler = gateway({ ...fixed10, limit: 2 });
                const answers = [await handler(event({ path: "/orders", sourceIp: "192.0.2.10" })), await handler(event({ path: "/orders", sourceIp: "::ffff:192.0.2.10" })), await handler(event({ path: "/orders", sourceIp: "::FFFF:c000:20a" }))];
                assert.deepEqual(answers.map((result) => result.statusCode), [200, 200, 429]);
                assert.deepEqual(await counters(), { "ip:192.0.2.10:route:orders": 2 });
                assert.equal(clientOf("192.0.2.11", 64), "192.0.2.11");
            });

            it("reads the compressed, embedded-IPv4 and zoned spellings to one prefix, and keeps a source it cannot read as it came", () => {
                assert.equal(clientOf("::1", 64), "::/64");
                assert.equal(clientOf("fe80::1:2:3:4%25en0", 64), "fe80::/64");
                assert.equal(clientOf("64:ff9b::192.0.2.33", 64), "64:ff9b::/64");
                assert.equal(clientOf("2001:db8:0:0:1:0:0:1", 128), "2001:db8:0:0:1:0:0:1");
                assert.equal(clientOf("2001:db8::1::2", 64), "2001:db8::1::2");
                assert.equal(clientOf("not:an:address", 64), "not:an:address");
            });
        });

        describe("limiter keys that cannot collide", () => {
            it("encodes every part of a key: a user id alice:route:users shares nothing with user alice on route users", async () => {
                // given users keyed by user, 2 a minute on route users (user:<id>:route:users) and the default's shared counter (user:<id>)
                const byUser = { by: "user", limit: 2, windowSeconds, algorithm: "fixed" } as const;
                const handler = createHandler(
                    runtimeSettings(suite.tables, suite.dynamo, {
                        defaultRateLimit: byUser,
                        routes: [
                            route({ name: "users", pathPrefix: "/users", upstream: suite.upstream.url, auth: "session", rateLimit: byUser }),
                            route({ name: "profile", pathPrefix: "/profile", upstream: suite.upstream.url, auth: "session" }),
                        ],
                    }),
                    { now: suite.clock.now, dynamo: suite.counting.client, log: () => undefined },
                );
                const sessions = createSessions({ dynamo: suite.dynamo.client, tableName: suite.tables.sessions, now: suite.clock.now });
                const alice = await sessions.create({ userId: "alice" });
                const mallory = await sessions.create({ userId: "alice:route:users" });
                const send = (path: string, token: string) => handler(event({ path, headers: { authorization: `Bearer ${token}` } }));
                // when the user whose id reads like alice's key spends its default budget
                const spent = [await send("/profile", mallory.token), await send("/profile", mallory.token), await send("/profile", mallory.token)];
                // then alice still has her two on users
                assert.deepEqual(spent.map((result) => result.statusCode), [200, 200, 429]);
                assert.deepEqual([await send("/users", alice.token), await send("/users", alice.token)].map((result) => result.statusCode), [200, 200]);
                assert.deepEqual(await counters(), { "user:alice%3Aroute%3Ausers": 2, "user:alice:route:users": 2 });
            });

            it("escapes % and : in a key part and nothing else, so IPv4 and plain ids keep their keys", () => {
                assert.equal(keyPart("a%3Ab:c"), "a%253Ab%3Ac");
                assert.equal(keyPart("198.51.100.7"), "198.51.100.7");
                assert.equal(keyPart("用户 1"), "用户 1");
            });
        });
    });
}
