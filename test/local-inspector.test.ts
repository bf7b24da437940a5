/**
 * The inspector of `npm start`, in a real browser: headless Chromium (the
 * Debian package, /usr/bin/chromium) driven by playwright-core, against
 * `npm start` as a developer runs it. Requests sent through the gateway show
 * up newest first without a reload, the detail pane shows the gateway's
 * decision, the filters narrow the list, the curl line is right, and no
 * credential reaches the page.
 *
 * `TOLLGATE_INSPECTOR_SCREENSHOT=docs/images/inspector.png` also saves a
 * screenshot of the page (the one docs/local.md shows); `TOLLGATE_CHROMIUM`
 * names another Chromium or Chrome to drive.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { createSessions } from "../runtime/sessions";
import { clientFor } from "./support/dynamo";
import { startCli, stop, type RunningCli } from "./support/npmStart";

const chromiumPath = process.env.TOLLGATE_CHROMIUM || "/usr/bin/chromium";
const chromiumArgs = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"];

/** Sends a request to the gateway with exactly these header lines; its status. */
function request(url: string, options: { method?: string; path: string; headers?: [string, string][]; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
    const { hostname, port, host } = new URL(url);
    // Given as lines, headers go out exactly so, and Node adds no Host of its own.
    const lines = options.headers?.some(([name]) => name.toLowerCase() === "host") ? options.headers : [["host", host] as [string, string], ...(options.headers ?? [])];
    return new Promise((resolve, reject) => {
        const sent = http.request({ host: hostname, port, method: options.method ?? "GET", path: options.path, headers: lines.flat(), agent: false }, (response) => {
            response.resume();
            response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers }));
        });
        sent.on("error", reject);
        sent.end(options.body);
    });
}

describe("the inspector of npm start, in Chromium", function () {
    this.timeout(120_000);
    let cli: RunningCli;
    let inspectorUrl: string;
    let browser: BrowserContext;
    let page: Page;
    let userDataDir: string;
    let token: string;
    const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";

    before(async function () {
        if (!fs.existsSync(chromiumPath)) assert.fail(`${chromiumPath} is missing: apt-get install chromium (.ci/run installs it), or set TOLLGATE_CHROMIUM to a Chromium or Chrome`);
        cli = await startCli(["--memory"]);
        inspectorUrl = /Inspector: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(cli.output())![1];
        const store = clientFor(`http://127.0.0.1:${cli.dynamoPort}`);
        try {
            ({ token } = await createSessions({ dynamo: store, tableName: "tollgate-dev-sessions" }).create({ userId: "alice", username: "Alice", roles: ["member"], permissions: ["orders:read"] }));
        } finally {
            store.destroy();
        }
        userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-chromium-"));
        browser = await chromium.launchPersistentContext(userDataDir, { executablePath: chromiumPath, headless: true, args: chromiumArgs, viewport: { width: 1440, height: 900 } });
        page = browser.pages()[0] ?? (await browser.newPage());
        await page.goto(inspectorUrl);
        await page.locator("#live", { hasText: "live" }).waitFor();
    });
    after(async () => {
        await browser?.close();
        if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
        if (cli) await stop(cli);
    });

    const rows = () => page.locator("#requests tr:not([hidden])");
    const cellsOf = async (column: string) => rows().locator(`td.${column}`).allTextContents();

    it("lists the requests sent through the gateway as they happen, newest first, without reloading the page", async () => {
        // given the open page, marked so that a reload would show
        await page.evaluate("window.marked = true");
        // when four requests go through the gateway
        await request(cli.url, { path: "/products/first?color=red", headers: [["traceparent", `00-${clientTrace}-00f067aa0ba902b7-01`]] });
        await request(cli.url, { path: "/users/me", headers: [["authorization", `Bearer ${"A".repeat(43)}`]] });
        await request(cli.url, { path: "/users/me", headers: [["authorization", `Bearer ${token}`]] });
        await request(cli.url, {
            method: "POST",
            path: "/products/orders",
            headers: [["content-type", "application/json"], ["cookie", `theme=dark; session=${token}`], ["x-note", "it's \"quoted\""]],
            body: '{"item":"tea","note":"it\'s"}',
        });
        // then the page lists them, the last first, with route, status, reason and latency
        await page.locator("#requests tr").nth(3).waitFor({ state: "attached" });
        assert.deepEqual((await cellsOf("path")).slice(0, 4), ["/products/orders", "/users/me", "/users/me", "/products/first?color=red"]);
        assert.deepEqual((await cellsOf("method")).slice(0, 4), ["POST", "GET", "GET", "GET"]);
        assert.deepEqual((await cellsOf("route")).slice(0, 4), ["products", "users", "users", "products"]);
        assert.deepEqual((await cellsOf("status")).slice(0, 4), ["200", "200", "401", "200"]);
        assert.deepEqual((await cellsOf("reason")).slice(0, 4), ["", "", "session.unknown", ""]);
        assert.ok((await cellsOf("latency")).slice(0, 4).every((ms) => /^\d+$/.test(ms)));
        assert.equal(await page.evaluate("window.marked"), true, "the page was not reloaded");
    });

    it("shows the whole decision of a selected request: credential and identity, counter, assertion, trace, what the upstream saw and sent", async () => {
        await rows().filter({ hasText: "200" }).filter({ hasText: "/users/me" }).first().click();
        const field = (name: string) => page.locator(`#detail [data-field="${name}"]`).innerText();

        const credential = await field("credential");
        assert.match(credential, /session \(Authorization header\)/);
        assert.match(credential, /alice/);
        assert.match(credential, /member/);
        assert.match(credential, /orders:read/);

        const limit = await field("rate-limit");
        assert.match(limit, /user:alice:route:users/);
        assert.match(limit, /1 of 60 in a 60 s window \(59 left\)/);
        assert.match(limit, /window resets in\s+\d+ s/);

        const claims = JSON.parse(await field("assertion"));
        assert.deepEqual([claims.sub, claims.aud, claims.auth, claims.roles], ["alice", "users", "session", ["member"]]);

        const upstream = await field("upstream");
        assert.match(upstream, /GET http:\/\/127\.0\.0\.1:\d+\/me/);
        assert.match(upstream, /status\s+200/);
        const sent = await field("upstream-request-headers");
        assert.match(sent, /^x-gateway-user-id: alice$/m);
        assert.match(sent, /^traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-01$/m);
        assert.match(sent, /^x-gateway-assertion: [\w-]+\.[\w-]+\.<signature: masked>$/m);
        assert.ok(!/^authorization:/im.test(sent), "the upstream got no Authorization");
        assert.match(await field("upstream-response-headers"), /^content-type: application\/json/m);
        assert.match(await field("request-headers"), /^authorization: Bearer <43 characters: masked>$/m);
        assert.match(await field("summary"), /trace id\s+[0-9a-f]{32} \(started by the gateway\)/);

        // the client's trace, continued, on the first request
        await rows().filter({ hasText: "/products/first" }).click();
        assert.match(await field("summary"), new RegExp(`trace id\\s+${clientTrace} \\(the client's trace, continued\\)`));

        // a refusal says why
        await rows().filter({ hasText: "session.unknown" }).click();
        assert.match(await field("summary"), /reason\s+session\.unknown — No session has this token/);
        assert.match(await field("response-headers"), /^www-authenticate: Bearer error="invalid_token"/m);

        // and no credential is anywhere in the page
        const html = await page.content();
        assert.ok(!html.includes(token), "the session token reached the page");
        assert.ok(!html.includes("A".repeat(43)), "the bearer token reached the page");
    });

    it("gives a copy-as-curl line that says it carries no credential and puts $SESSION where the cookie's token was", async () => {
        await rows().filter({ hasText: "/products/orders" }).click();
        const curl = await page.locator('#detail [data-field="curl"]').innerText();
        const { port } = new URL(cli.url);
        assert.equal(
            curl,
            [
                "# The session cookie is not copied: set SESSION to its token first.",
                `curl -X POST 'http://127.0.0.1:${port}/products/orders' \\`,
                "  -H 'content-type: application/json' \\",
                '  -H "cookie: theme=dark; session=$SESSION" \\',
                `  -H 'x-note: it'\\''s "quoted"' \\`,
                `  --data-raw '{"item":"tea","note":"it'\\''s"}'`,
            ].join("\n"),
        );
        assert.ok(!curl.includes(token));
        assert.equal(await page.locator('#detail [data-field="copy-curl"]').count(), 1);
    });

    it("filters the list by route, by status and by text", async () => {
        await page.selectOption("#route", "users");
        assert.deepEqual((await cellsOf("route")).filter(Boolean), ["users", "users"]);
        await page.selectOption("#status", "4");
        assert.deepEqual(await cellsOf("status"), ["401"]);
        await page.selectOption("#route", "");
        await page.selectOption("#status", "");
        await page.fill("#text", "color=red");
        assert.deepEqual(await cellsOf("path"), ["/products/first?color=red"]);
        await page.fill("#text", "");
        assert.ok((await rows().count()) >= 4);

        // a request arriving while a filter is set is listed only when it matches
        await page.selectOption("#status", "4");
        await request(cli.url, { path: "/nowhere" });
        await request(cli.url, { path: "/products/after-filter" });
        await page.locator("#requests tr").nth(5).waitFor({ state: "attached" });
        assert.deepEqual(await cellsOf("path"), ["/nowhere", "/users/me"]);
        assert.deepEqual((await cellsOf("reason"))[0], "route.none");
        await page.selectOption("#status", "");

        const screenshot = process.env.TOLLGATE_INSPECTOR_SCREENSHOT;
        if (screenshot) {
            await rows().filter({ hasText: "/users/me" }).filter({ hasText: "200" }).click();
            await page.screenshot({ path: path.resolve(screenshot) });
        }
    });

    it("answers loopback clients naming its own address only, never a page of another host name", async () => {
        const { port } = new URL(inspectorUrl);
        const asOther = await request(inspectorUrl, { path: "/events", headers: [["host", `rebound.example:${port}`]] });
        assert.equal(asOther.status, 403);
        const page = await request(inspectorUrl, { path: "/", headers: [["host", `127.0.0.1:${port}`]] });
        assert.equal(page.status, 200);
        assert.match(String(page.headers["content-security-policy"]), /script-src 'self'/);
        assert.equal(page.headers["x-frame-options"], "DENY");
    });
});
