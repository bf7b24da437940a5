/**
 * The API Gateway HTTP API emulation of `npm start`, driven over real HTTP on
 * 127.0.0.1 with small handlers of the tests' own: the event a request
 * becomes (compared with an event captured from AWS), and the response a
 * result becomes.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { startGateway, type GatewayHandler, type GatewayOptions, type RunningGateway } from "../local/gateway";
import type { GatewayEvent } from "../local/event";
import { startEchoUpstream, type EchoReport } from "../local/echo";

/** Captured from AWS (Powertools for AWS Lambda (TypeScript), packages/parser/tests/events/apigw-http/no-auth.json). */
const capturedEvent = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "apigw-http-v2-event.json"), "utf8"));

/** A gateway whose handler records each event and answers what `answer` returns. */
async function gatewayWith(answer: (event: GatewayEvent) => unknown | Promise<unknown>, options: Partial<GatewayOptions> = {}) {
    const events: GatewayEvent[] = [];
    const errors: string[] = [];
    const handler: GatewayHandler = async (event) => {
        events.push(event);
        return answer(event);
    };
    const gateway = await startGateway({ handler, port: 0, logError: (message) => errors.push(message), ...options });
    return { gateway, events, errors };
}

const ok = () => ({ statusCode: 204 });

/** `gatewayWith` for the tests of one describe block; every gateway they start is closed after the test. */
function gatewaysOfEachTest() {
    let running: RunningGateway[] = [];
    afterEach(async () => {
        await Promise.all(running.map((gateway) => gateway.close()));
        running = [];
    });
    const closedAfterTest = (gateway: RunningGateway) => {
        running.push(gateway);
        return gateway;
    };
    const started = async (...args: Parameters<typeof gatewayWith>) => {
        const result = await gatewayWith(...args);
        closedAfterTest(result.gateway);
        return result;
    };
    return { started, closedAfterTest };
}

/** A raw request, for what fetch will not send: repeated headers, a chosen X-Forwarded-For, an exact body. */
function rawRequest(
    gateway: RunningGateway,
    options: { method?: string; path: string; headers?: http.OutgoingHttpHeaders; body?: Buffer },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
        const request = http.request(
            { host: "127.0.0.1", port: gateway.port, method: options.method ?? "GET", path: options.path, headers: options.headers, agent: false },
            (response) => {
                const chunks: Buffer[] = [];
                response.on("data", (chunk: Buffer) => chunks.push(chunk));
                response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
                response.on("error", reject);
            },
        );
        request.on("error", reject);
        request.end(options.body);
    });
}

/** The key set of every object in `value`, path by path, with the JSON type of every leaf. */
function shapeOf(value: unknown, at = "event", shape: Record<string, string> = {}): Record<string, string> {
    if (value === null) shape[at] = "null";
    else if (Array.isArray(value)) {
        shape[at] = "array";
        value.forEach((item) => (shape[`${at}[]`] = typeof item));
    } else if (typeof value === "object") {
        shape[at] = "object";
        // Header names vary by client; their values must all be strings.
        if (at === "event.headers" || at === "event.queryStringParameters") {
            for (const item of Object.values(value as object)) shape[`${at}.*`] = typeof item;
        } else {
            for (const [key, item] of Object.entries(value as object)) shapeOf(item, `${at}.${key}`, shape);
        }
    } else shape[at] = typeof value;
    return shape;
}

describe("local gateway: request -> API Gateway HTTP API 2.0 event", () => {
    const { started } = gatewaysOfEachTest();

    it("builds an event with the captured event's keys and types at every level", async () => {
        // Given a gateway, when a request like the captured one (POST, no body, no query, no cookie) arrives at the root
        const { gateway, events } = await started(ok);
        await rawRequest(gateway, { method: "POST", path: "/", headers: { authorization: "Bearer foo", "content-length": "0" } });

        // then the event has exactly the captured event's shape
        assert.deepEqual(shapeOf(events[0]), shapeOf(capturedEvent));
        assert.equal(events[0].version, "2.0");
        assert.equal(events[0].requestContext.stage, "$default");
    });

    it("uses the deployed API's route keys: ANY / for the root, ANY /{proxy+} with the path as proxy parameter below it", async () => {
        const { gateway, events } = await started(ok);
        await rawRequest(gateway, { path: "/" });
        await rawRequest(gateway, { path: "/catalog/items/7?x=1" });

        assert.equal(events[0].routeKey, "ANY /");
        assert.equal(events[0].requestContext.routeKey, "ANY /");
        assert.equal("pathParameters" in events[0], false);
        assert.equal(events[1].routeKey, "ANY /{proxy+}");
        assert.equal(events[1].requestContext.routeKey, "ANY /{proxy+}");
        assert.deepEqual(events[1].pathParameters, { proxy: "catalog/items/7" });
    });

    it("adds cookies, queryStringParameters and body, each with its type, only when the request has them", async () => {
        const { gateway, events } = await started(ok);
        await rawRequest(gateway, {
            method: "POST",
            path: "/lambda?a=1",
            headers: { cookie: "theme=dark", "content-type": "application/json" },
            body: Buffer.from('{"x":1}'),
        });

        const shape = shapeOf(events[0]);
        const captured = shapeOf(capturedEvent);
        const added = Object.keys(shape).filter((key) => !(key in captured));
        assert.deepEqual(
            added.sort(),
            ["event.body", "event.cookies", "event.cookies[]", "event.pathParameters", "event.pathParameters.proxy", "event.queryStringParameters", "event.queryStringParameters.*"].sort(),
        );
        assert.equal(shape["event.cookies[]"], "string");
        assert.equal(shape["event.queryStringParameters.*"], "string");
        assert.equal(shape["event.body"], "string");
    });

    it("lower-cases header names and joins a repeated header with commas", async () => {
        const { gateway, events } = await started(ok);
        await rawRequest(gateway, { path: "/h", headers: { "X-Custom-Thing": "One", "X-Repeated": ["a", "b"] } });

        const headers = events[0].headers;
        assert.equal(headers["x-custom-thing"], "One");
        assert.equal(headers["x-repeated"], "a,b");
        assert.ok(Object.keys(headers).every((name) => name === name.toLowerCase()), `not all lower-case: ${Object.keys(headers)}`);
    });

    it("moves cookies out of the headers into the cookies list, one entry per cookie", async () => {
        const { gateway, events } = await started(ok);
        await rawRequest(gateway, { path: "/c", headers: { Cookie: ["session=abc; theme=dark", "lang=en"] } });

        assert.deepEqual(events[0].cookies, ["session=abc", "theme=dark", "lang=en"]);
        assert.equal(events[0].headers.cookie, undefined);
    });

    it("keeps the query raw in rawQueryString and decoded in queryStringParameters, repeated keys joined with commas", async () => {
        const { gateway, events } = await started(ok);
        await rawRequest(gateway, { path: "/q?tag=a&tag=b&name=J%C3%BCrgen%20M&empty=" });

        assert.equal(events[0].rawPath, "/q");
        assert.equal(events[0].rawQueryString, "tag=a&tag=b&name=J%C3%BCrgen%20M&empty=");
        assert.deepEqual(events[0].queryStringParameters, { tag: "a,b", name: "Jürgen M", empty: "" });
    });

    it("has an empty rawQueryString and no queryStringParameters when there is no query", async () => {
        const { gateway, events } = await started(ok);
        await rawRequest(gateway, { path: "/plain" });

        assert.equal(events[0].rawQueryString, "");
        assert.equal("queryStringParameters" in events[0], false);
    });

    it("hands the path over percent-decoded, as HTTP APIs do", async () => {
        const { gateway, events } = await started(ok);
        await rawRequest(gateway, { path: "/files/a%20b/%C3%A9t%C3%A9" });

        assert.equal(events[0].rawPath, "/files/a b/été");
        assert.equal(events[0].requestContext.http.path, "/files/a b/été");
    });

    it("takes sourceIp from the socket, never from a spoofed X-Forwarded-For, and appends the socket address to that header", async () => {
        const { gateway, events } = await started(ok);
        await rawRequest(gateway, { path: "/ip", headers: { "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443" } });

        const event = events[0];
        assert.equal(event.requestContext.http.sourceIp, "127.0.0.1");
        assert.equal(event.headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
        // API Gateway sets port and scheme from the connection it accepted
        assert.equal(event.headers["x-forwarded-proto"], "http");
        assert.equal(event.headers["x-forwarded-port"], String(gateway.port));
    });

    it("reports method, protocol, user agent, domain and time in requestContext", async () => {
        const { gateway, events } = await started(ok);
        const before = Date.now();
        await rawRequest(gateway, { method: "PATCH", path: "/ctx", headers: { "User-Agent": "curl/8.5.0", Host: "api.local.test:3000" } });

        const context = events[0].requestContext;
        assert.equal(context.http.method, "PATCH");
        assert.equal(context.http.protocol, "HTTP/1.1");
        assert.equal(context.http.userAgent, "curl/8.5.0");
        assert.equal(context.domainName, "api.local.test");
        assert.equal(context.domainPrefix, "api");
        assert.ok(context.timeEpoch >= before && context.timeEpoch <= Date.now());
        assert.match(context.time, /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
        assert.match(events[0].headers["x-amzn-trace-id"]!, /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    });

    it("gives every request a fresh request id, echoed in the apigw-requestid response header", async () => {
        const { gateway, events } = await started(ok);
        const first = await rawRequest(gateway, { path: "/one" });
        const second = await rawRequest(gateway, { path: "/two" });

        const ids = events.map((event) => event.requestContext.requestId);
        assert.notEqual(ids[0], ids[1]);
        assert.match(ids[0], /^[A-Za-z0-9+/]{15}=$/);
        assert.equal(first.headers["apigw-requestid"], ids[0]);
        assert.equal(second.headers["apigw-requestid"], ids[1]);
    });

    it("passes a JSON body as text", async () => {
        const { gateway, events } = await started(ok);
        await rawRequest(gateway, { method: "POST", path: "/j", headers: { "content-type": "application/json; charset=utf-8" }, body: Buffer.from('{"name":"Zoë"}') });

        assert.equal(events[0].isBase64Encoded, false);
        assert.equal(events[0].body, '{"name":"Zoë"}');
    });

    it("base64-encodes a binary body, and its bytes survive the trip", async () => {
        const { gateway, events } = await started(ok);
        const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe, 0x0d, 0x0a]);
        await rawRequest(gateway, { method: "PUT", path: "/b", headers: { "content-type": "image/png" }, body: bytes });

        assert.equal(events[0].isBase64Encoded, true);
        assert.deepEqual(Buffer.from(events[0].body!, "base64"), bytes);
    });

    it("base64-encodes text-typed bodies that are not UTF-8, and form posts, as HTTP APIs do", async () => {
        const { gateway, events } = await started(ok);
        const latin1 = Buffer.from("caf\xe9", "latin1");
        await rawRequest(gateway, { method: "POST", path: "/t", headers: { "content-type": "text/plain" }, body: latin1 });
        await rawRequest(gateway, { method: "POST", path: "/f", headers: { "content-type": "application/x-www-form-urlencoded" }, body: Buffer.from("a=1&b=2") });

        assert.equal(events[0].isBase64Encoded, true);
        assert.deepEqual(Buffer.from(events[0].body!, "base64"), latin1);
        assert.equal(events[1].isBase64Encoded, true);
        assert.equal(Buffer.from(events[1].body!, "base64").toString(), "a=1&b=2");
    });

    it("refuses a body over 10 MB with 413 problem+json without calling the handler, and accepts one of exactly 10 MB", async () => {
        const { gateway, events } = await started(ok);
        const limit = 10 * 1024 * 1024;
        const tooLarge = await rawRequest(gateway, { method: "POST", path: "/big", headers: { "content-type": "application/octet-stream" }, body: Buffer.alloc(limit + 1) });
        assert.equal(tooLarge.status, 413);
        assert.equal(tooLarge.headers["content-type"], "application/problem+json");
        assert.equal(JSON.parse(tooLarge.body.toString()).status, 413);
        assert.equal(events.length, 0);

        const atLimit = await rawRequest(gateway, { method: "POST", path: "/big", headers: { "content-type": "application/octet-stream" }, body: Buffer.alloc(limit) });
        assert.equal(atLimit.status, 204);
        assert.equal(Buffer.from(events[0].body!, "base64").length, limit);
    });
});

describe("local gateway: handler result -> HTTP response", () => {
    const { started, closedAfterTest } = gatewaysOfEachTest();

    it("sends a structured result's status, headers and body", async () => {
        const { gateway } = await started(() => ({ statusCode: 201, headers: { "content-type": "text/plain", "x-count": 3 }, body: "created" }));
        const response = await fetch(`${gateway.url}/s`);

        assert.equal(response.status, 201);
        assert.equal(response.headers.get("content-type"), "text/plain");
        assert.equal(response.headers.get("x-count"), "3");
        assert.equal(await response.text(), "created");
    });

    it("sends each entry of cookies as its own Set-Cookie line", async () => {
        const { gateway } = await started(() => ({ statusCode: 200, cookies: ["session=abc; HttpOnly; Path=/", "theme=dark; Max-Age=60"], body: "" }));
        const response = await fetch(`${gateway.url}/c`);

        assert.deepEqual(response.headers.getSetCookie(), ["session=abc; HttpOnly; Path=/", "theme=dark; Max-Age=60"]);
    });

    it("sends every value of multiValueHeaders", async () => {
        const { gateway } = await started(() => ({ statusCode: 200, multiValueHeaders: { "x-tag": ["a", "b"] }, body: "" }));
        const response = await rawRequest(gateway, { path: "/m" });

        assert.equal(response.headers["x-tag"], "a, b");
    });

    it("decodes a base64 body to the bytes it encodes", async () => {
        const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);
        const { gateway } = await started(() => ({
            statusCode: 200,
            headers: { "content-type": "application/octet-stream" },
            body: bytes.toString("base64"),
            isBase64Encoded: true,
        }));
        const response = await fetch(`${gateway.url}/bin`);

        assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes);
    });

    it("treats a result without statusCode as a 200 JSON body of the whole value", async () => {
        const { gateway } = await started(() => ({ message: "hello", body: "not the body", headers: { "x-not": "a header" } }));
        const response = await fetch(`${gateway.url}/simple`);

        assert.equal(response.status, 200);
        assert.equal(response.headers.get("content-type"), "application/json");
        assert.equal(response.headers.get("x-not"), null);
        assert.deepEqual(await response.json(), { message: "hello", body: "not the body", headers: { "x-not": "a header" } });
    });

    it("treats a string result as the body itself, with status 200", async () => {
        const { gateway } = await started(() => "Hello from Lambda!");
        const response = await fetch(`${gateway.url}/string`);

        assert.equal(response.status, 200);
        assert.equal(response.headers.get("content-type"), "application/json");
        assert.equal(await response.text(), "Hello from Lambda!");
    });

    it("answers 500 problem+json without detail when the handler throws, and logs the error locally", async () => {
        const { gateway, errors } = await started(() => {
            throw new Error("table tollgate-dev-sessions: secret connection detail");
        });
        const response = await fetch(`${gateway.url}/boom`);

        assert.equal(response.status, 500);
        assert.equal(response.headers.get("content-type"), "application/problem+json");
        const text = await response.text();
        assert.deepEqual(JSON.parse(text), { type: "about:blank", title: "Internal Server Error", status: 500 });
        assert.ok(!text.includes("secret"));
        assert.ok(errors.some((line) => line.includes("secret connection detail")));
    });

    it("answers 500 for a result API Gateway cannot map (a status that is not one)", async () => {
        const { gateway } = await started(() => ({ statusCode: "two hundred", body: "x" }));
        const response = await fetch(`${gateway.url}/bad`);

        assert.equal(response.status, 500);
        assert.equal(((await response.json()) as { title: string }).title, "Internal Server Error");
    });

    it("answers 500 for a header value that cannot be sent", async () => {
        const { gateway, errors } = await started(() => ({ statusCode: 200, headers: { "x-bad": "line\r\nset-cookie: injected=1" }, body: "x" }));
        const response = await rawRequest(gateway, { path: "/bad-header" });

        assert.equal(response.status, 500);
        assert.equal(response.headers["set-cookie"], undefined);
        assert.ok(errors.some((line) => line.includes("x-bad")));
    });

    it("sends no body for a 204 even when the result has one", async () => {
        const { gateway } = await started(() => ({ statusCode: 204, body: "ignored" }));
        const response = await rawRequest(gateway, { path: "/empty" });

        assert.equal(response.status, 204);
        assert.equal(response.body.length, 0);
        assert.equal(response.headers["content-length"], undefined);
    });

    it("answers 500 when the function outlives its timeout, and 503 when API Gateway's integration timeout comes first, logging each with its reason", async () => {
        const never = () => new Promise(() => undefined);
        const lines: string[] = [];
        const log = (line: string) => void lines.push(line);
        const lambdaTimeout = await started(never, { functionTimeoutMs: 50, integrationTimeoutMs: 5_000, log });
        const integrationTimeout = await started(never, { functionTimeoutMs: 5_000, integrationTimeoutMs: 50, log });
        const throwing = await started(() => Promise.reject(new Error("a bug")), { log });

        assert.equal((await fetch(`${lambdaTimeout.gateway.url}/slow`)).status, 500);
        assert.equal((await fetch(`${integrationTimeout.gateway.url}/slow`)).status, 503);
        assert.equal((await fetch(`${throwing.gateway.url}/broken`)).status, 500);
        assert.deepEqual(
            lines.map((line) => JSON.parse(line)).map((entry) => [entry.status, entry.reason, entry.level, /^[0-9a-f]{32}$/.test(entry.trace_id)]),
            [
                [500, "function.failed", "ERROR", true],
                [503, "integration.timeout", "ERROR", true],
                [500, "function.failed", "ERROR", true],
            ],
        );
    });

    it("gives the handler a Lambda context with a request id and the time left", async () => {
        let seen: { awsRequestId: string; remaining: number; arn: string } | undefined;
        const gateway = closedAfterTest(
            await startGateway({
                port: 0,
                functionTimeoutMs: 30_000,
                functionName: "tollgate-test-gateway",
                region: "eu-west-1",
                handler: async (_event, context) => {
                    seen = { awsRequestId: context.awsRequestId, remaining: context.getRemainingTimeInMillis(), arn: context.invokedFunctionArn };
                    return { statusCode: 204 };
                },
            }),
        );
        await fetch(`${gateway.url}/ctx`);

        assert.match(seen!.awsRequestId, /^[0-9a-f-]{36}$/);
        assert.ok(seen!.remaining > 0 && seen!.remaining <= 30_000);
        assert.equal(seen!.arn, "arn:aws:lambda:eu-west-1:123456789012:function:tollgate-test-gateway");
    });
});

describe("local gateway: CORS as the HTTP API's configuration sets it", () => {
    const cors = {
        allowOrigins: ["http://localhost:5173"],
        allowMethods: ["GET", "POST"],
        allowHeaders: ["authorization", "content-type"],
        exposeHeaders: ["ratelimit", "x-request-id"],
        allowCredentials: true,
        maxAgeSeconds: 600,
    };
    const { started } = gatewaysOfEachTest();

    it("answers a preflight from an allowed origin itself, with the configured headers", async () => {
        const { gateway, events } = await started(ok, { cors });
        const response = await rawRequest(gateway, {
            method: "OPTIONS",
            path: "/catalog/items",
            headers: { origin: "http://localhost:5173", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
        });

        assert.equal(response.status, 204);
        assert.equal(response.headers["access-control-allow-origin"], "http://localhost:5173");
        assert.equal(response.headers["access-control-allow-methods"], "GET,POST");
        assert.equal(response.headers["access-control-allow-headers"], "authorization,content-type");
        assert.equal(response.headers["access-control-allow-credentials"], "true");
        assert.equal(response.headers["access-control-max-age"], "600");
        assert.equal(events.length, 0);
    });

    it("gives a preflight from another origin no CORS headers", async () => {
        const { gateway, events } = await started(ok, { cors });
        const response = await rawRequest(gateway, {
            method: "OPTIONS",
            path: "/catalog/items",
            headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
        });

        assert.equal(response.status, 204);
        assert.equal(response.headers["access-control-allow-origin"], undefined);
        assert.equal(events.length, 0);
    });

    it("replaces the function's CORS headers with the configured ones on a request from an allowed origin", async () => {
        const { gateway } = await started(() => ({ statusCode: 200, headers: { "access-control-allow-origin": "*", "x-other": "kept" }, body: "{}" }), { cors });
        const allowed = await rawRequest(gateway, { path: "/c", headers: { origin: "http://localhost:5173" } });
        const other = await rawRequest(gateway, { path: "/c", headers: { origin: "https://evil.example" } });

        assert.equal(allowed.headers["access-control-allow-origin"], "http://localhost:5173");
        assert.equal(allowed.headers["access-control-expose-headers"], "ratelimit,x-request-id");
        assert.equal(allowed.headers["x-other"], "kept");
        assert.equal(other.headers["access-control-allow-origin"], undefined);
    });

    it("passes OPTIONS requests that are not preflights to the function", async () => {
        const { gateway, events } = await started(ok, { cors });
        await rawRequest(gateway, { method: "OPTIONS", path: "/c" });

        assert.equal(events.length, 1);
        assert.equal(events[0].requestContext.http.method, "OPTIONS");
    });
});

describe("local gateway: echo upstream", () => {
    it("answers with the method, path, query, headers and body it received", async () => {
        const echo = await startEchoUpstream("catalog");
        try {
            const response = await fetch(`${echo.url}/items/7?color=red&color=blue&q=a%20b`, {
                method: "POST",
                headers: { "content-type": "text/plain", "x-request-id": "abc" },
                body: "hello",
            });
            const report = (await response.json()) as EchoReport;

            assert.equal(report.upstream, "catalog");
            assert.equal(report.method, "POST");
            assert.equal(report.path, "/items/7");
            assert.deepEqual(report.query, { color: ["red", "blue"], q: "a b" });
            assert.equal(report.headers["x-request-id"], "abc");
            assert.equal(report.body, "hello");
            assert.equal(report.bodyEncoding, "utf8");
        } finally {
            await echo.close();
        }
    });

    it("reports a body that is not UTF-8 as base64", async () => {
        const echo = await startEchoUpstream("files");
        try {
            const bytes = Buffer.from([0xff, 0x00, 0xfe]);
            const report = (await (await fetch(`${echo.url}/f`, { method: "PUT", body: bytes })).json()) as EchoReport;

            assert.equal(report.bodyEncoding, "base64");
            assert.deepEqual(Buffer.from(report.body, "base64"), bytes);
        } finally {
            await echo.close();
        }
    });
});
