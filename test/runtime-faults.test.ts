import { strict as assert } from "node:assert";
import { dynamoKinds } from "./support/dynamo";
import { Clock, event, freshTables, route, runtimeSettings, useDynamoAndUpstream } from "./support/runtime";
import { createHandler, type Handler } from "../runtime/handler";
import { createSessions } from "../runtime/sessions";
import type { RuntimeSettings } from "../runtime/settings";

/** Retries a request until it gets the wanted status, up to a deadline; returns the status seen last. */
async function eventually(ask: () => Promise<number>, wanted: number, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let status = await ask();
    while (status !== wanted && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        status = await ask();
    }
    return status;
}

for (const kind of dynamoKinds) {
    describe(`DynamoDB failing (${kind})`, function () {
        const servers = useDynamoAndUpstream(kind);
        let tables: { rateLimits: string; sessions: string };
        let token: string;
        let lines: string[];
        const clock = new Clock();

        before(async () => {
            tables = await freshTables(servers.dynamo);
            ({ token } = await createSessions({ dynamo: servers.dynamo.client, tableName: tables.sessions, now: clock.now }).create({ userId: "u-fault" }));
        });
        beforeEach(() => {
            lines = [];
        });

        const gateway = (overrides: Partial<RuntimeSettings> = {}): Handler =>
            createHandler(
                runtimeSettings(tables, servers.dynamo, {
                    routes: [
                        route({ name: "open", pathPrefix: "/open", upstream: servers.upstream.url, rateLimit: { by: "ip", limit: 100, windowSeconds: 60, algorithm: "sliding" } }),
                        route({ name: "users", pathPrefix: "/users", upstream: servers.upstream.url, auth: "session" }),
                    ],
                    ...overrides,
                }),
                { now: clock.now, log: (line) => lines.push(line) },
            );
        const decisions = () => lines.map((line) => JSON.parse(line)).filter((entry) => !entry._aws).map((entry) => entry.decision);

        it("fails the limiter open and authentication closed while DynamoDB is down, and recovers when it returns", async () => {
            // given a warm container
            const handler = gateway();
            const session = () => handler(event({ path: "/users", headers: { authorization: `Bearer ${token}` } }));
            const anonymous = () => handler(event({ path: "/open" }));
            assert.equal((await anonymous()).statusCode, 200);
            assert.equal((await session()).statusCode ?? 0, 200);

            // when DynamoDB stops
            await servers.dynamo.stop();
            try {
                const open = await anonymous();
                const auth = await session();
                const live = await handler(event({ path: "/health/live" }));
                const ready = await handler(event({ path: "/health/ready" }));

                // then the anonymous request is admitted (fail open) with its rate-limit headers
                assert.equal(open.statusCode, 200);
                assert.equal(open.headers!["ratelimit-policy"], '"open";q=100;w=60');
                assert.match(String(open.headers!.ratelimit), /^"open";r=100;t=\d+$/);
                // the session request is refused with 503, saying nothing of DynamoDB
                assert.equal(auth.statusCode, 503);
                assert.equal(auth.headers!["content-type"], "application/problem+json");
                assert.ok(!/dynamo|ECONN|127\.0\.0\.1/i.test(auth.body!), auth.body);
                // liveness holds, readiness does not
                assert.equal(live.statusCode, 200);
                assert.equal(ready.statusCode, 503);
                assert.ok(decisions().includes("failed-open"));
            } finally {
                await servers.dynamo.start();
            }

            // then it recovers once DynamoDB is back
            assert.equal(await eventually(async () => (await session()).statusCode ?? 0, 200), 200);
            assert.equal((await anonymous()).statusCode, 200);
            // (the container keeps a readiness answer for 5 s)
            clock.advance(5_000);
            assert.equal((await handler(event({ path: "/health/ready" }))).statusCode, 200);
            assert.equal(decisions().at(-2), "admitted");
        });

        it("refuses with 503 while DynamoDB is down when rateLimitFailureMode is closed", async () => {
            const handler = gateway({ rateLimitFailureMode: "closed" });
            assert.equal((await handler(event({ path: "/open" }))).statusCode, 200);
            await servers.dynamo.stop();
            try {
                const forwardedBefore = servers.upstream.requests.length;
                const refused = await handler(event({ path: "/open" }));
                assert.equal(refused.statusCode, 503);
                assert.equal(refused.headers!["ratelimit-policy"], '"open";q=100;w=60');
                assert.equal(servers.upstream.requests.length, forwardedBefore, "nothing reaches the upstream");
                assert.ok(decisions().includes("failed-closed"));
            } finally {
                await servers.dynamo.start();
            }
            assert.equal(await eventually(async () => (await handler(event({ path: "/open" }))).statusCode ?? 0, 200), 200);
        });
    });
}
