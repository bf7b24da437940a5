/**
 * The README's five-minute tour, run as written on a fresh copy of the
 * repository (its tracked and unignored files; node_modules linked rather than
 * installed again): `npm start` in one terminal, each `sh` block in a second
 * one, each output block compared with what the commands print, the `yaml`
 * block added to the end of `tollgate:routes` in Pulumi.dev.yaml as an editor
 * would, and the restart the prose asks for. Only the gateway's port is
 * changed, to a free one, so the tour runs beside anything on 3000.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { keysFileName } from "../local/keys";
import { gatewayKeysOf, type KeyMaterial } from "../runtime/auth/gatewayKeys";
import { windowStartOf } from "../runtime/steps/rateLimit";
import { freePort } from "./support/loopback";
import { projectCopy } from "./support/projectCopy";

interface Block {
    lang: string;
    text: string;
    /** The prose between the previous block and this one. */
    before: string;
}

/** The fenced blocks of the README section titled `title`, in order. */
export function tourBlocks(readme: string, title: string): Block[] {
    const start = readme.indexOf(`\n## ${title}\n`);
    assert.ok(start >= 0, `README.md has no '## ${title}' section`);
    const rest = readme.slice(start + 1);
    const end = rest.slice(3).search(/^## /m);
    const section = end < 0 ? rest : rest.slice(0, end + 3);
    const blocks: Block[] = [];
    const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
    let last = 0;
    for (let match = fence.exec(section); match; match = fence.exec(section)) {
        blocks.push({ lang: match[1], text: match[2], before: section.slice(last, match.index) });
        last = match.index + match[0].length;
    }
    return blocks;
}

class Terminal {
    private child?: ChildProcess;
    private output = "";
    private exited?: Promise<void>;

    constructor(
        private readonly cwd: string,
        private readonly env: NodeJS.ProcessEnv,
    ) {}

    /** Runs a long-lived command (`npm start`) and waits for its ready line. */
    async start(commandLine: string): Promise<void> {
        this.output = "";
        const child = spawn("/bin/sh", ["-c", `exec ${commandLine}`], { cwd: this.cwd, env: this.env, stdio: ["ignore", "pipe", "pipe"] });
        this.child = child;
        this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
        child.stdout!.on("data", (chunk) => (this.output += chunk));
        child.stderr!.on("data", (chunk) => (this.output += chunk));
        const deadline = Date.now() + 90_000;
        while (!/ready on http/.test(this.output)) {
            if (child.exitCode !== null || Date.now() > deadline) assert.fail(`'${commandLine}' did not become ready:\n${this.output}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    }

    /** Ctrl-C, and wait for the process to end. */
    async interrupt(): Promise<void> {
        if (this.child && this.child.exitCode === null) this.child.kill("SIGINT");
        await this.exited;
    }

    get printed(): string {
        return this.output;
    }
}

/**
 * `text` with `entry` (YAML list items) pasted after the last line of the
 * list item named `name`: the line where an editor's cursor lands at the end
 * of that item.
 */
export function insertAfterEntry(text: string, name: string, entry: string): string {
    const lines = text.split("\n");
    const start = lines.findIndex((line) => new RegExp(`^(\\s*)- name: ${name}\\s*$`).test(line));
    assert.ok(start >= 0, `no list item named ${name}`);
    const itemIndent = /^(\s*)-/.exec(lines[start])![1].length;
    let end = start + 1;
    while (end < lines.length && (lines[end].trim() === "" ? false : /^(\s*)/.exec(lines[end])![1].length > itemIndent)) end++;
    return [...lines.slice(0, end), ...entry.replace(/\n$/, "").split("\n"), ...lines.slice(end)].join("\n");
}

/**
 * A key's fixed windows start at an offset of their own, which the gateway
 * draws from the key under its keys (npm start keeps them in the data
 * directory): start a burst on the added route with at least 10 s of the
 * client's window left.
 */
async function clearOfWindowEdge(copy: string, limiterKey: string, windowSeconds: number): Promise<void> {
    const material = JSON.parse(fs.readFileSync(path.join(copy, ".tollgate", "dev", keysFileName), "utf8")) as KeyMaterial;
    const windowKey = gatewayKeysOf(material).windowKey;
    const leftMs = () => (windowStartOf(limiterKey, windowSeconds, windowKey, Date.now()) + windowSeconds) * 1000 - Date.now();
    if (leftMs() < 10_000) await new Promise((resolve) => setTimeout(resolve, leftMs() + 100));
}

function runShell(script: string, cwd: string, env: NodeJS.ProcessEnv): string {
    return execFileSync("/bin/bash", ["-e", "-o", "pipefail", "-c", script], { cwd, env, timeout: 120_000, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe("README: the five-minute tour, as written", function () {
    this.timeout(300_000);
    let copy: string;
    let gateway: Terminal | undefined;

    before(() => {
        copy = projectCopy("tollgate-tour-");
    });
    after(async () => {
        await gateway?.interrupt();
        fs.rmSync(copy, { recursive: true, force: true });
    });

    it("starts, answers, adds a route, restarts and rate-limits as the README says", async () => {
        const blocks = tourBlocks(fs.readFileSync(path.join(copy, "README.md"), "utf8"), "A five-minute tour");
        const [port, dynamoPort] = [await freePort(), await freePort()];
        const env = { ...process.env, PORT: String(port), DYNAMODB_PORT: String(dynamoPort) };
        const onOurPort = (text: string) => text.replaceAll("127.0.0.1:3000", `127.0.0.1:${port}`);
        gateway = new Terminal(copy, env);

        // The first block starts the gateway in the first terminal.
        assert.deepEqual(blocks[0], { lang: "sh", text: "npm start\n", before: blocks[0].before });
        await gateway.start("npm start");
        assert.match(gateway.printed, /tollgate local gateway ready on http:\/\/127\.0\.0\.1:\d+/);

        let checked = 0;
        let addedRoute: { name: string; pathPrefix: string; rateLimit: { windowSeconds: number } } | undefined;
        for (let i = 1; i < blocks.length; i++) {
            const block = blocks[i];
            if (block.lang === "yaml") {
                // An edit: the entry goes at the end of tollgate:routes in Pulumi.dev.yaml, where the prose says...
                const stackFile = path.join(copy, "Pulumi.dev.yaml");
                const before = parseYaml(fs.readFileSync(stackFile, "utf8")).config;
                const lastRoute = (before["tollgate:routes"] as { name: string }[]).at(-1)!.name;
                assert.match(block.before, new RegExp(`add this entry at the end of the \`tollgate:routes\` list: after the last route, \`${lastRoute}\`, and before \`tollgate:appTables\``));
                // ...pasted as an editor would: after the last line of that route, as the block is indented
                fs.writeFileSync(stackFile, insertAfterEntry(fs.readFileSync(stackFile, "utf8"), lastRoute, block.text));
                const after = parseYaml(fs.readFileSync(stackFile, "utf8")).config;
                const added = parseYaml(block.text)[0] as { name: string; pathPrefix: string; rateLimit: { windowSeconds: number } };
                assert.deepEqual(after["tollgate:routes"], [...before["tollgate:routes"], added], "the entry is the last route");
                assert.deepEqual(after["tollgate:appTables"], before["tollgate:appTables"], "the application tables are as they were");
                addedRoute = added;
                // ...then the restart the next paragraph asks for.
                assert.match(blocks[i + 1].before, /Stop the gateway \(Ctrl-C[^)]*\) and start it again with `npm start`/);
                await gateway.interrupt();
                await gateway.start("npm start");
                assert.match(gateway.printed, new RegExp(`\\n\\s+${added.name}\\s+${added.pathPrefix}\\s`), "the restarted gateway lists the new route");
                continue;
            }
            if (block.lang !== "sh") continue;
            const expected = blocks[i + 1];
            assert.equal(expected?.lang, "text", `the sh block '${block.text.trim()}' is followed by its output`);
            // The added route counts in fixed windows: its requests must all fall in one of the client's (ip:127.0.0.1 on that route).
            if (addedRoute && block.text.includes(addedRoute.pathPrefix)) await clearOfWindowEdge(copy, `ip:127.0.0.1:route:${addedRoute.name}`, addedRoute.rateLimit.windowSeconds);
            const printed = runShell(onOurPort(block.text), copy, env);
            assert.equal(printed.trimEnd(), expected.text.trimEnd(), `output of:\n${block.text}`);
            checked++;
            i++;
        }
        assert.ok(checked >= 4, `${checked} command blocks checked`);
    });
});
