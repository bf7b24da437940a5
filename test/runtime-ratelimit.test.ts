import { strict as assert } from "node:assert";
import { GetCommand, QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { dynamoKinds } from "./support/dynamo";
import { event, route, runtimeSettings, useHandlerSuite } from "./support/runtime";
import { createHandler } from "../runtime/handler";
import type { RateLimitPolicy } from "../specs/routes";

const windowSeconds = 60;

for (const kind of dynamoKinds) {
    describe(`rate limiting (${kind})`, function () {
        const suite = useHandlerSuite(kind);

        const gateway = (policy: RateLimitPolicy) =>
            createHandler(runtimeSettings(suite.tables, suite.dynamo, { routes: [route({ name: "orders", pathPrefix: "/orders", upstream: suite.upstream.url, rateLimit: policy })] }), {
                now: suite.clock.now,
                dynamo: suite.counting.client,
                log: () => undefined,
            });
        const fixed10: RateLimitPolicy = { by: "ip", limit: 10, windowSeconds, algorithm: "fixed" };
        const windowStart = () => Math.floor(suite.clock.seconds / windowSeconds) * windowSeconds;

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
            assert.deepEqual(browsing.map((r) => r.statusCode), [200, 200, 200, 429]);
            assert.deepEqual(browsing.slice(0, 3).map((r) => r.headers!.ratelimit), ['"catalogue";r=2;t=60', '"search";r=1;t=60', '"catalogue";r=0;t=60']);
            // and login, untouched by them, admits its own two
            assert.deepEqual(logins.map((r) => r.statusCode), [200, 200, 429]);
            assert.equal(logins[0].headers!.ratelimit, '"login";r=1;t=60');
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
    });
}
