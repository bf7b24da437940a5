/**
 * Reasons, challenges and trace ids through `npm start` as a developer runs
 * it: the log lines it prints say why each refusal happened and carry the
 * request's trace id, the client gets RFC 6750's challenge, and the echo
 * upstream shows the traceparent it was sent.
 */
import { strict as assert } from "node:assert";
import * as http from "node:http";
import { SignJWT } from "jose";
import { startCli, stop, type RunningCli } from "./support/npmStart";

const jwtSecret = "a-local-test-secret-of-at-least-32-characters";

function send(url: string, options: { method?: string; path: string; headers?: [string, string][]; body?: Buffer }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    const { hostname, port, host } = new URL(url);
    return new Promise((resolve, reject) => {
        const request = http.request(
            { host: hostname, port, method: options.method ?? "GET", path: options.path, headers: [["host", host], ...(options.headers ?? [])].flat(), agent: false },
            (response) => {
                const chunks: Buffer[] = [];
                response.on("data", (chunk: Buffer) => chunks.push(chunk));
                response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }));
            },
        );
        // A 413 may be answered before the whole body is written.
        request.on("error", reject);
        request.end(options.body);
    });
}

describe("reasons and trace ids through npm start", function () {
    this.timeout(120_000);
    let cli: RunningCli;

    before(async () => {
        cli = await startCli(["--memory"], { TOLLGATE_JWT_SECRET: jwtSecret });
    });
    after(async () => {
        if (cli) await stop(cli);
    });

    /** The JSON log line npm start printed for a request, by its x-request-id. */
    async function lineOf(requestId: string): Promise<Record<string, any>> {
        for (let i = 0; i < 50; i++) {
            const line = cli
                .output()
                .split("\n")
                .filter((text) => text.startsWith("{"))
                .map((text) => JSON.parse(text))
                .find((entry) => entry.correlation_id === requestId && entry.status !== undefined);
            if (line) return line;
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.fail(`no log line for ${requestId}`);
    }

    it("logs why it refused each request, with the status the reason gives and the challenge for a refused credential", async () => {
        const now = Math.floor(Date.now() / 1000);
        const expired = await new SignJWT({ permissions: ["admin"] })
            .setProtectedHeader({ alg: "HS256" })
            .setSubject("carol")
            .setIssuer("https://auth.dev.example.com")
            .setAudience("tollgate-dev")
            .setIssuedAt(now - 600)
            .setExpirationTime(now - 300)
            .sign(new TextEncoder().encode(jwtSecret));
        const cases: { request: Parameters<typeof send>[1]; status: number; reason: string; challenge?: string }[] = [
            { request: { path: "/users/me" }, status: 401, reason: "credential.missing", challenge: "Bearer" },
            { request: { path: "/users/me", headers: [["authorization", `Bearer ${"A".repeat(43)}`]] }, status: 401, reason: "session.unknown", challenge: 'Bearer error="invalid_token", error_description="the session is unknown, has ended or has expired"' },
            { request: { path: "/admin/stats", headers: [["authorization", `Bearer ${expired}`]] }, status: 401, reason: "jwt.expired", challenge: 'Bearer error="invalid_token", error_description="the token has expired"' },
            { request: { path: "/products/%2e%2e/admin" }, status: 400, reason: "path.dot_segment" },
            { request: { path: "/nowhere" }, status: 404, reason: "route.none" },
            { request: { path: "/users/me", headers: [["authorization", "Bearer a"], ["authorization", "Bearer b"]] }, status: 400, reason: "credential.multiple", challenge: 'Bearer error="invalid_request", error_description="more than one credential was sent"' },
        ];
        for (const { request, status, reason, challenge } of cases) {
            const answer = await send(cli.url, request);
            assert.equal(answer.status, status, `${request.path}: ${answer.body}`);
            assert.equal(answer.headers["www-authenticate"], challenge, request.path);
            const line = await lineOf(String(answer.headers["x-request-id"]));
            assert.equal(line.reason, reason, request.path);
            assert.match(line.trace_id, /^[0-9a-f]{32}$/);
            assert.ok(!JSON.stringify(answer.headers).includes(expired.split(".")[1]), "no part of the token in the answer");
        }
    });

    it("logs API Gateway's own 413 for a body over 10 MB with its reason", async () => {
        const answer = await send(cli.url, { method: "POST", path: "/products/upload", headers: [["content-type", "application/octet-stream"]], body: Buffer.alloc(10 * 1024 * 1024 + 1) });
        assert.equal(answer.status, 413);
        const line = await lineOf(String(answer.headers["apigw-requestid"]));
        assert.equal(line.reason, "request.too_large");
        assert.equal(line.level, "WARN");
    });

    it("sends the echo upstream the client's trace with a parent id of its own, and logs the trace id", async () => {
        const answer = await send(cli.url, { path: "/products/traced", headers: [["traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"], ["tracestate", "congo=t61rcWkgMzE"]] });
        assert.equal(answer.status, 200);
        const echoed = JSON.parse(answer.body).headers;
        assert.match(echoed.traceparent, /^00-0af7651916cd43dd8448eb211c80319c-(?!b7ad6b7169203331)[0-9a-f]{16}-01$/);
        assert.equal(echoed.tracestate, "congo=t61rcWkgMzE");
        assert.equal((await lineOf(String(answer.headers["x-request-id"]))).trace_id, "0af7651916cd43dd8448eb211c80319c");
    });
});
