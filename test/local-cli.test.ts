/**
 * `npm start` as a user runs it: the entry point in a child process, driven
 * over HTTP by a real client (global fetch), with the test stack file (small
 * limits) and free ports. Covers the start-up refusals (exit 2 for bad
 * flags and config, 1 for a taken port), the gateway end to end through the
 * echo upstream, session auth and rate limiting, a clean stop on SIGINT, and
 * sessions kept across a restart when the data is on disk.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { SignJWT } from "jose";
import type { EchoReport } from "../local/echo";
import { createSessions } from "../runtime/sessions";
import { clientFor } from "./support/dynamo";
import { freePort, listenOnLoopback } from "./support/loopback";
import { nodeVersionLines, sdkWarnsHere, withoutSdkWarningSwitch } from "./support/nodeNotice";
import { runCli, shell, startCli as startNpmStart, stop, type RunningCli } from "./support/npmStart";

const projectDir = path.resolve(__dirname, "..");
const stackFile = path.join(projectDir, "test", "fixtures", "stacks", "Pulumi.local-test.yaml");
const sessionsTable = "tollgate-local-test-sessions";
const jwtSecret = "local-test-secret-of-at-least-32-characters";

function signJwt(secret: string, claims: Record<string, unknown>): Promise<string> {
    return new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("carol")
        // The issuer and audience Pulumi.local-test.yaml expects
        .setIssuer("https://auth.local-test.example.com")
        .setAudience("tollgate-local-test")
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode(secret));
}

/** `npm start` with the test stack file and `extraArgs`, on free ports. */
const startCli = (extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}) => startNpmStart(["--config", stackFile, ...extraArgs], env);

/** A session created straight in the running gateway's store, as the sessions command does. */
async function createSession(dynamoPort: number, userId: string, permissions: string[] = []): Promise<string> {
    const client = clientFor(`http://127.0.0.1:${dynamoPort}`);
    try {
        const sessions = createSessions({ dynamo: client, tableName: sessionsTable });
        return (await sessions.create({ userId, permissions })).token;
    } finally {
        client.destroy();
    }
}

function portIsFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}

describe("npm start (child process): refusals", () => {
    it("exits 2 on an unknown flag, naming it and the flag it resembles", async () => {
        const run = runCli(["--prot", "3000"]);
        const { code } = await run.exit;

        assert.equal(code, 2);
        assert.match(run.stderr(), /^npm start: --prot: not a flag of 'npm start'; did you mean --port\?$/m);
    });

    it("exits 2 on a bad stack file, naming the key", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-bad-stack-"));
        const file = path.join(dir, "Pulumi.broken.yaml");
        fs.writeFileSync(file, "config:\n  tollgate:routes:\n    - name: api\n      pathPrefix: api\n      upstream: http://127.0.0.1:1\n");
        try {
            const run = runCli(["--config", file, "--memory"]);
            const { code } = await run.exit;

            assert.equal(code, 2);
            assert.match(run.stderr(), /tollgate:routes\[api\]\.pathPrefix/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("exits 2 on a stack whose jwt route has no issuer or audience to check, naming both keys", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-open-jwt-"));
        const file = path.join(dir, "Pulumi.open.yaml");
        fs.writeFileSync(file, "config:\n  tollgate:routes:\n    - name: api\n      pathPrefix: /api\n      upstream: http://127.0.0.1:1\n      auth: jwt\n");
        try {
            const run = runCli(["--config", file, "--memory"]);
            const { code } = await run.exit;

            assert.equal(code, 2);
            assert.match(run.stderr(), /tollgate:jwt\.issuer: required because route 'api' accepts JWTs/);
            assert.match(run.stderr(), /tollgate:jwt\.audience: required/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("exits 2 on an --upstream for a route the stack does not have, naming it", async () => {
        const run = runCli(["--config", stackFile, "--memory", "--port", "0", "--upstream", "nope=http://127.0.0.1:1"], { DYNAMODB_PORT: "0" });
        const { code } = await run.exit;

        assert.equal(code, 2);
        assert.match(run.stderr(), /--upstream nope: no route named 'nope'/);
    });

    it("exits 1 when the port is taken, naming the port and how to change it", async () => {
        const blocker = net.createServer();
        await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
        const port = (blocker.address() as net.AddressInfo).port;
        try {
            const run = runCli(["--config", stackFile, "--memory", "--port", String(port)], { DYNAMODB_PORT: String(await freePort()) });
            const { code } = await run.exit;

            assert.equal(code, 1);
            assert.match(run.stderr(), new RegExp(`port ${port} on 127.0.0.1 is already in use`));
            assert.match(run.stderr(), /--port N or set PORT/);
        } finally {
            await new Promise((resolve) => blocker.close(resolve));
        }
    });
});

describe("npm start (child process): the gateway end to end", () => {
    let cli: RunningCli;
    before(async () => {
        cli = await startCli(["--memory"], { TOLLGATE_JWT_SECRET: jwtSecret });
    });
    after(async () => {
        if (cli) await stop(cli);
    });

    it("prints the routes and a curl line for the session route", () => {
        const output = cli.output();
        assert.match(output, /catalog\s+\/catalog\s+none\s+50\/60s fixed by ip \(default\)\s+echo http:\/\/127\.0\.0\.1:\d+/);
        assert.match(output, /search\s+\/search\s+none\s+2\/60s fixed by route\s+echo/);
        assert.match(
            output,
            new RegExp(`TOKEN=\\$\\(DYNAMODB_PORT=${cli.dynamoPort} npm run --silent sessions -- create --local --config test/fixtures/stacks/Pulumi.local-test.yaml --user alice\\)`),
        );
        assert.match(output, /curl -i -H "Authorization: Bearer \$TOKEN" http:\/\/127\.0\.0\.1:\d+\/account\/me/);
    });

    it("answers /health/live", async () => {
        const response = await fetch(`${cli.url}/health/live`);

        assert.equal(response.status, 200);
        assert.deepEqual(await response.json(), { status: "ok" });
    });

    it("answers /health/ready from the embedded store", async () => {
        const response = await fetch(`${cli.url}/health/ready`);

        assert.equal(response.status, 200);
    });

    it("proxies a none route to the echo upstream: path after the prefix, query, x-request-id, no hop-by-hop headers", async () => {
        const response = await fetch(`${cli.url}/catalog/items/7?color=red&color=blue`, {
            headers: { "proxy-authorization": "Basic c2VjcmV0", "x-forwarded-for": "203.0.113.9", "x-custom": "kept" },
        });
        assert.equal(response.status, 200);
        const echo = (await response.json()) as EchoReport;

        assert.equal(echo.upstream, "catalog");
        assert.equal(echo.method, "GET");
        assert.equal(echo.path, "/items/7");
        assert.deepEqual(echo.query, { color: ["red", "blue"] });
        assert.equal(echo.headers["x-request-id"], response.headers.get("apigw-requestid"));
        assert.equal(echo.headers["x-custom"], "kept");
        for (const hopByHop of ["proxy-authorization", "keep-alive", "te", "trailer", "upgrade", "transfer-encoding"]) {
            assert.equal(echo.headers[hopByHop], undefined, `${hopByHop} reached the upstream`);
        }
        assert.equal(echo.headers["x-gateway-user-id"], undefined);
    });

    it("passes a binary body through to the upstream intact", async () => {
        const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80, 0xfe]);
        const response = await fetch(`${cli.url}/catalog/upload`, { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: bytes });
        const echo = (await response.json()) as EchoReport;

        assert.equal(echo.bodyEncoding, "base64");
        assert.deepEqual(Buffer.from(echo.body, "base64"), bytes);
    });

    it("refuses a session route without a token with 401 problem+json", async () => {
        const response = await fetch(`${cli.url}/account/me`);

        assert.equal(response.status, 401);
        assert.equal(response.headers.get("content-type"), "application/problem+json");
    });

    it("admits a session route with a token from the printed sessions command line, and tells the upstream who called, not the token", async () => {
        // Given the TOKEN=$(npm run --silent sessions -- create ...) line npm start printed, run as pasted
        const line = cli.output().split("\n").find((text) => text.trim().startsWith("TOKEN=$("))!.trim();
        const token = await shell(`${line} && printf '%s' "$TOKEN"`);
        assert.match(token, /^[A-Za-z0-9_-]{43}$/);

        // when the session route is called with it
        const response = await fetch(`${cli.url}/account/me`, { headers: { authorization: `Bearer ${token}` } });

        // then the upstream is reached, knows the user, and never sees the token
        assert.equal(response.status, 200);
        const echo = (await response.json()) as EchoReport;
        assert.equal(echo.path, "/me");
        assert.equal(echo.headers["x-gateway-user-id"], "alice");
        assert.equal(echo.headers.authorization, undefined);
    });

    it("verifies JWTs with the secret from TOLLGATE_JWT_SECRET", async () => {
        const good = await signJwt(jwtSecret, { permissions: ["admin"] });
        const forged = await signJwt("another-secret-of-at-least-32-characters", { permissions: ["admin"] });

        const admitted = await fetch(`${cli.url}/admin/stats`, { headers: { authorization: `Bearer ${good}` } });
        const refused = await fetch(`${cli.url}/admin/stats`, { headers: { authorization: `Bearer ${forged}` } });

        assert.equal(admitted.status, 200);
        assert.equal(((await admitted.json()) as EchoReport).headers["x-gateway-user-id"], "carol");
        assert.equal(refused.status, 401);
    });

    it("refuses with 429 and RateLimit headers once a route's limit is used up", async () => {
        // The route admits 2 a minute; even if a window ends mid-test, a 429 comes within 5 requests.
        const responses: Response[] = [];
        while (responses.length < 5 && responses[responses.length - 1]?.status !== 429) {
            responses.push(await fetch(`${cli.url}/search/q?i=${responses.length}`));
        }
        const last = responses[responses.length - 1];

        assert.equal(last.status, 429);
        assert.equal(last.headers.get("content-type"), "application/problem+json");
        assert.equal(last.headers.get("ratelimit-policy"), '"search";q=2;w=60');
        assert.match(last.headers.get("ratelimit") ?? "", /^"search";r=0;t=\d+$/);
        assert.match(last.headers.get("retry-after") ?? "", /^\d+$/);
        const admitted = responses[0];
        assert.equal(admitted.status, 200);
        assert.equal(admitted.headers.get("ratelimit-policy"), '"search";q=2;w=60');
        assert.match(admitted.headers.get("ratelimit") ?? "", /^"search";r=1;t=\d+$/);
    });

    it("stops on SIGINT with exit code 0 and frees its ports", async () => {
        const port = Number(new URL(cli.url).port);
        const code = await stop(cli);

        assert.equal(code, 0);
        assert.match(cli.output(), /stopped/);
        assert.equal(await portIsFree(port), true);
        assert.equal(await portIsFree(cli.dynamoPort), true);
    });
});

describe("npm start (child process): data on disk", () => {
    let dataDir: string;
    let cli: RunningCli | undefined;
    before(() => {
        dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-local-data-"));
    });
    after(async () => {
        if (cli) await stop(cli);
        fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("keeps a created session across a restart", async () => {
        // Given a gateway keeping its data in a directory, and a session created in it
        cli = await startCli(["--data-dir", dataDir]);
        const token = await createSession(cli.dynamoPort, "bob");
        assert.equal((await fetch(`${cli.url}/account/me`, { headers: { authorization: `Bearer ${token}` } })).status, 200);

        // When it is stopped and started again on the same directory
        assert.equal(await stop(cli), 0);
        cli = await startCli(["--data-dir", dataDir]);

        // then the session still opens the route
        const response = await fetch(`${cli.url}/account/me`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(response.status, 200);
        assert.equal(((await response.json()) as EchoReport).headers["x-gateway-user-id"], "bob");
    });
});

describe("npm start (child process): the first hour", () => {
    let dataDir: string;
    beforeEach(() => {
        dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-first-hour-"));
    });
    afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

    /** `npm start ... &` in a shell, as a developer backgrounds it; resolves npm's pid ($!) once the gateway is ready. */
    async function npmStartInBackground(port: number, dynamoPort: number, log: string): Promise<number> {
        const pid = Number(
            (await shell(`PORT=${port} DYNAMODB_PORT=${dynamoPort} npm start -- --config '${stackFile}' --data-dir '${dataDir}' > '${log}' 2>&1 & echo $!`)).trim(),
        );
        const deadline = Date.now() + 60_000;
        while (!/ready on http/.test(fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "")) {
            if (Date.now() > deadline) assert.fail(`npm start did not become ready:\n${fs.readFileSync(log, "utf8")}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return pid;
    }

    /** True while a process (not necessarily a child of this one) runs; an exited one its new parent has not reaped yet counts as gone. */
    function isRunning(pid: number): boolean {
        try {
            if (fs.existsSync("/proc")) return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
            process.kill(pid, 0);
            return true;
        } catch {
            return false;
        }
    }

    async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            if (await check()) return true;
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return check();
    }

    it("stops a backgrounded npm start on `kill $!`, freeing its ports and data directory for the next start", async () => {
        // given `npm start &` with its data on disk
        const [port, dynamoPort] = [await freePort(), await freePort()];
        const log = path.join(dataDir, "first.log");
        const npmPid = await npmStartInBackground(port, dynamoPort, log);
        // when the shell's `kill $!` signals npm
        process.kill(npmPid, "SIGTERM");
        // then npm ends because the gateway itself stopped, letting go of both ports
        assert.ok(await waitUntil(async () => !isRunning(npmPid), 60_000), `npm start still running:\n${fs.readFileSync(log, "utf8")}`);
        assert.match(fs.readFileSync(log, "utf8"), /SIGTERM: stopping\.\.\.\ntollgate local gateway stopped/);
        assert.ok((await portIsFree(port)) && (await portIsFree(dynamoPort)), `ports still held:\n${fs.readFileSync(log, "utf8")}`);
        // and the next start on the same ports and directory comes up
        const again = await npmStartInBackground(port, dynamoPort, path.join(dataDir, "second.log"));
        process.kill(again, "SIGTERM");
        assert.ok(await waitUntil(async () => !isRunning(again), 60_000));
        assert.ok(await portIsFree(port));
    });

    it("proxies to a loopback upstream written in the stack file as written, not to an echo", async () => {
        // given a stack whose route points at a service on this machine
        const received: string[] = [];
        const upstream = await listenOnLoopback(
            http.createServer((request, response) => {
                received.push(request.url ?? "");
                response.writeHead(200, { "content-type": "text/plain" }).end("from the real service");
            }),
        );
        const file = path.join(dataDir, "Pulumi.loopback.yaml");
        fs.writeFileSync(file, `config:\n  tollgate:prefix: loopback\n  tollgate:routes:\n    - name: api\n      pathPrefix: /api\n      upstream: ${upstream.url}/v1\n      auth: none\n`);
        const port = await freePort();
        const run = runCli(["--config", file, "--memory", "--port", String(port)], { DYNAMODB_PORT: String(await freePort()) });
        try {
            const url = await run.ready;
            assert.ok(url, run.stdout() + run.stderr());
            // when
            const response = await fetch(`${url}/api/things?x=1`);
            // then
            assert.equal(await response.text(), "from the real service");
            assert.deepEqual(received, ["/v1/things?x=1"]);
            assert.match(run.stdout(), new RegExp(`api\\s+/api\\s+none\\s+.*\\s${upstream.url.replace(/[.]/g, "\\.")}/v1\\n`), "the banner shows the URL, not an echo");
        } finally {
            run.child.kill("SIGINT");
            await run.exit;
            await upstream.close();
        }
    });

    it("answers a path no route matches with a 404 listing the routes, and passes an upstream's own 404 as it came", async () => {
        // given npm start with one route's upstream a service on this machine that answers 404 problem+json
        const upstreamProblem = { type: "about:blank", title: "Not Found", status: 404, detail: "no such item" };
        const upstream = await listenOnLoopback(
            http.createServer((_request, response) => response.writeHead(404, { "content-type": "application/problem+json" }).end(JSON.stringify(upstreamProblem))),
        );
        const run = runCli(["--config", stackFile, "--memory", "--port", String(await freePort()), "--upstream", `catalog=${upstream.url}`], { DYNAMODB_PORT: String(await freePort()) });
        try {
            const url = await run.ready;
            assert.ok(url, run.stdout() + run.stderr());
            // when a path under no prefix is asked for
            const lost = await fetch(`${url}/catalgo/items`);
            // then the 404 lists every route of the stack file, name and prefix
            assert.equal(lost.status, 404);
            assert.equal(lost.headers.get("content-type"), "application/problem+json");
            const problem = (await lost.json()) as { status: number; detail: string; routes: { name: string; pathPrefix: string }[] };
            const routes = [
                { name: "catalog", pathPrefix: "/catalog" },
                { name: "account", pathPrefix: "/account" },
                { name: "search", pathPrefix: "/search" },
                { name: "admin", pathPrefix: "/admin" },
            ];
            assert.deepEqual(problem.routes, routes);
            assert.equal(problem.detail, "No route matches this path. Routes of this gateway: catalog /catalog, account /account, search /search, admin /admin.");
            // and the upstream's own 404 on a route is not touched
            const missing = await fetch(`${url}/catalog/items/999`);
            assert.equal(missing.status, 404);
            assert.deepEqual(await missing.json(), upstreamProblem);
        } finally {
            run.child.kill("SIGINT");
            await run.exit;
            await upstream.close();
        }
    });

    it("prints each start-up step as it happens, and says the SDK's Node.js notice in one line at most", async () => {
        const cli = await startCli(["--memory"], withoutSdkWarningSwitch);
        try {
            const stdout = cli.output();
            const starting = stdout.indexOf("tollgate local gateway: starting stack");
            const steps = [/\.\.\. handler loaded \(\d+ ms\)/, /\.\.\. store listening on http:\/\/127\.0\.0\.1:\d+ \(\d+ ms\)/, /\.\.\. 3 tables ready \(\d+ ms\)/].map((step) => stdout.search(step));
            const ready = stdout.indexOf("ready on http");
            assert.ok(starting >= 0 && steps.every((at) => at > starting && at < ready), stdout);
            const nodeLines = nodeVersionLines(stdout);
            assert.ok(nodeLines.length <= 1, nodeLines.join("\n"));
            if (sdkWarnsHere) assert.match(nodeLines[0] ?? "", /^note: Node\.js v\d+\S* works, but AWS SDK releases from January 2027 need Node\.js 22 or later$/);
        } finally {
            await stop(cli);
        }
    });
});
