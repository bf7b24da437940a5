/**
 * docs/deploying.md against the repository: the routes it says each shipped
 * stack has are the stack files' routes, and its guide to adding a stack,
 * run as written in a copy of the repository, gives a stack that passes the
 * offline policy check and that CI runs on.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadStackConfig, projectDir } from "../specs/stackFile";
import { projectCopy } from "./support/projectCopy";

const page = fs.readFileSync(path.join(projectDir, "docs", "deploying.md"), "utf8");

/** The text of the section titled `title` (a `## ` heading), up to the next one. */
function section(title: string): string {
    const start = page.indexOf(`\n## ${title}\n`);
    assert.ok(start >= 0, `docs/deploying.md has no '## ${title}'`);
    const rest = page.slice(start + 1);
    const end = rest.slice(3).search(/^## /m);
    return end < 0 ? rest : rest.slice(0, end + 3);
}

describe("docs/deploying.md", function () {
    this.timeout(300_000);

    it("names each shipped stack's routes as its stack file has them", () => {
        const row = /^\| routes \| (.+) \| (.+) \|$/m.exec(section("The two shipped stacks"));
        assert.ok(row, "no routes row in the shipped stacks' table");
        const named = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
        assert.deepEqual(named(row[1]), loadStackConfig("dev").settings.routes.map((route) => route.name));
        assert.deepEqual(named(row[2]), loadStackConfig("prod").settings.routes.map((route) => route.name));
    });

    it("adds a stack as its guide says: the policy check passes on it, and CI lists it", () => {
        const guide = section("Adding a stack");
        const block = /```sh\n([\s\S]*?)```/.exec(guide);
        assert.ok(block, "the guide has no sh block");
        const copy = projectCopy("tollgate-new-stack-");
        try {
            // when the block is run in a fresh copy of the repository
            const printed = execFileSync("/bin/bash", ["-e", "-o", "pipefail", "-c", block[1]], { cwd: copy, encoding: "utf8", timeout: 240_000, stdio: ["ignore", "pipe", "pipe"] });
            // then the new stack has its own prefix and passes the offline policy check with its pack config
            const stack = loadStackConfig("staging", { dir: copy });
            assert.equal(stack.settings.prefix, "tollgate-staging");
            assert.match(printed, /^tollgate policy check: program index\.ts, stack staging, pack config policies\/config\/staging\.json$/m);
            assert.match(printed, /^PASS stack staging: 0 mandatory/m);
            // and CI's stack list takes it in, deployed before prod
            const listed = spawnSync("bash", [path.join(copy, ".ci", "stacks")], { encoding: "utf8" });
            assert.equal(listed.status, 0, listed.stderr);
            assert.match(listed.stdout, /^all=\["dev","prod","staging"\]$/m);
            assert.match(listed.stdout, /^before-prod=\["dev","staging"\]$/m);
        } finally {
            fs.rmSync(copy, { recursive: true, force: true });
        }
    });
});
