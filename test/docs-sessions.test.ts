/**
 * docs/sessions.md's login loop, run as written: `npm start` with the dev
 * stack in a child process, and each curl line of "The whole loop with
 * curl" in a shell, pointed at the gateway's port; each must answer the
 * status its comment gives. The example cannot go stale without this failing.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectDir, shell, startCli, stop, type RunningCli } from "./support/npmStart";

const documentedUrl = "http://127.0.0.1:3000";

/** The command lines of the first `sh` block under the heading, each with the status its trailing comment expects. */
function loopOf(markdown: string, heading: string): { command: string; status: number }[] {
    const section = markdown.slice(markdown.indexOf(heading));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(block, `no sh block under '${heading}'`);
    return block
        .split("\n")
        .filter((line) => line.trim() !== "" && !line.trim().startsWith("#"))
        .map((line) => {
            const match = /^(.*?)\s+#\s*(\d{3})\s*$/.exec(line);
            assert.ok(match, `'${line}' does not end with the status it expects (# 200)`);
            return { command: match[1], status: Number(match[2]) };
        });
}

describe("docs/sessions.md: the whole loop with curl, against npm start", function () {
    let cli: RunningCli;
    let workDir: string;
    before(async function () {
        this.timeout(120_000);
        cli = await startCli(["--memory"]);
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-docs-sessions-"));
    });
    after(async () => {
        if (cli) await stop(cli);
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    it("logs in, calls /users/me with the cookie, lists the sessions, logs out, and is refused with the old cookie, as the page says", async () => {
        const loop = loopOf(fs.readFileSync(path.join(projectDir, "docs", "sessions.md"), "utf8"), "### The whole loop with curl");
        assert.ok(loop.length >= 5, "the loop has its five steps");
        const outputs: string[] = [];
        for (const step of loop) {
            assert.ok(step.command.includes(documentedUrl), `'${step.command}' does not call ${documentedUrl}`);
            const output = await shell(step.command.split(documentedUrl).join(cli.url), { cwd: workDir });
            const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(output)?.[1]);
            assert.equal(status, step.status, `'${step.command}' answered:\n${output}`);
            outputs.push(output);
        }
        const [login, , sessions, logout] = outputs;
        assert.match(login, /^set-cookie: session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Lax; Path=\/; Max-Age=86400\r$/m);
        assert.match(sessions, /"current":true/);
        assert.match(logout, /^set-cookie: session=; HttpOnly; SameSite=Lax; Path=\/; Max-Age=0\r$/m);
    });
});
