/**
 * Ctrl-C as a person at a terminal presses it. `npm start` runs in a
 * pseudo-terminal (test/support/terminal.py: a new session whose controlling
 * terminal is the pty), and the terminal's interrupt character is written to
 * it, so the kernel signals the whole foreground process group: npm, which
 * passes its SIGINT on to the script it runs, and the gateway itself. The
 * gateway may see that one Ctrl-C as one SIGINT or as two, depending on
 * timing; either way it must stop cleanly, every time.
 */
import { strict as assert } from "node:assert";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { sameSignalMs, stopSignalMeaning } from "../data/commandLine";
import { lockFileName } from "../local/dataLock";
import { freePort } from "./support/loopback";
import { projectDir, startCli, stop } from "./support/npmStart";

const stackFile = path.join(projectDir, "test", "fixtures", "stacks", "Pulumi.local-test.yaml");
const terminalDriver = path.join(projectDir, "test", "support", "terminal.py");
const tries = 10;
/** Bounds of one try: the gateway's start, then its stop after Ctrl-C (the driver kills it past these). */
const startTimeoutSeconds = 90;
const stopTimeoutSeconds = 30;

interface TerminalRun {
    ready: boolean;
    exitCode: number | null;
    signal: number | null;
    timedOut: boolean;
    /** What the terminal showed, `\r\n` line ends and all. */
    output: string;
}

/** `npm start ARGS` in a pseudo-terminal, interrupted with Ctrl-C once its ready line is shown. */
function npmStartInTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<TerminalRun> {
    return new Promise((resolve, reject) => {
        execFile(
            "python3",
            [terminalDriver, "ready on http", String(startTimeoutSeconds), String(stopTimeoutSeconds), "--", "npm", "start", "--", ...args],
            { cwd: projectDir, env: { ...process.env, TOLLGATE_JWT_SECRET: "", ...env }, timeout: (startTimeoutSeconds + stopTimeoutSeconds + 30) * 1000, maxBuffer: 16 * 1024 * 1024 },
            (error, stdout, stderr) => {
                if (error) reject(new Error(`the terminal driver failed: ${error.message}\n${stderr}`));
                else resolve(JSON.parse(stdout) as TerminalRun);
            },
        );
    });
}

function portIsFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}

describe("npm start in a terminal: Ctrl-C", function () {
    this.timeout((startTimeoutSeconds + stopTimeoutSeconds + 60) * 1000);
    let dataDir: string;

    before(function () {
        const python = spawnSync("python3", ["-c", "import pty"], { encoding: "utf8" });
        assert.equal(python.status, 0, `these tests drive a pseudo-terminal with python3's pty module; python3 is missing or has no pty module: ${python.error?.message ?? python.stderr}`);
        // One data directory for all the tries, as a developer restarts on the same data.
        dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-ctrl-c-"));
    });
    after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

    for (let attempt = 1; attempt <= tries; attempt++) {
        it(`stops cleanly: exit 0, the stopped line, the pid file gone and both ports free (try ${attempt} of ${tries})`, async () => {
            // given npm start in a terminal, ready
            const [port, dynamoPort] = [await freePort(), await freePort()];
            // when Ctrl-C is pressed in it
            const run = await npmStartInTerminal(["--config", stackFile, "--data-dir", dataDir, "--port", String(port)], { DYNAMODB_PORT: String(dynamoPort) });
            // then npm and the gateway end with 0 after a clean stop
            const shown = run.output.replace(/\r\n/g, "\n");
            assert.ok(run.ready, `npm start did not become ready:\n${shown}`);
            assert.equal(run.timedOut, false, `still running ${stopTimeoutSeconds} s after Ctrl-C:\n${shown}`);
            assert.doesNotMatch(shown, /again: exiting without waiting/);
            assert.deepEqual({ exitCode: run.exitCode, signal: run.signal }, { exitCode: 0, signal: null }, shown);
            assert.match(shown, /\nSIGINT: stopping\.\.\.\ntollgate local gateway stopped\n/);
            // and nothing is left holding the data directory or the ports
            assert.equal(fs.existsSync(path.join(dataDir, lockFileName)), false, "the pid file is left behind");
            assert.ok(await portIsFree(port), `gateway port ${port} still taken`);
            assert.ok(await portIsFree(dynamoPort), `store port ${dynamoPort} still taken`);
        });
    }
});

describe("npm start: a second copy of the stop signal", function () {
    it("takes the same signal again a moment later for the same Ctrl-C, and stops cleanly with 0", async () => {
        // given a running gateway with its data on disk
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-second-signal-"));
        const cli = await startCli(["--config", stackFile, "--data-dir", dir]);
        // when it gets SIGINT from the terminal and, once it has begun to stop, npm's copy of it
        cli.child.kill("SIGINT");
        while (!/SIGINT: stopping/.test(cli.output()) && cli.child.exitCode === null) await new Promise((resolve) => setImmediate(resolve));
        const secondDelivered = cli.child.exitCode === null && cli.child.kill("SIGINT");
        // then it stops as after one
        const code = await stop(cli);
        fs.rmSync(dir, { recursive: true, force: true });
        assert.ok(secondDelivered, "the gateway had stopped before the second signal: nothing was tried");
        assert.equal(code, 0, cli.output());
        assert.doesNotMatch(cli.output(), /again/);
        assert.match(cli.output(), /tollgate local gateway stopped/);
    });

    it("gives up its data directory on an exit that does not wait for the store (a second Ctrl-C)", () => {
        // given a process holding a data directory
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-forced-exit-"));
        try {
            // when it exits without closing anything, as the exit-now path does
            const held = spawnSync(
                process.execPath,
                ["--require", "tsx/cjs", "-e", 'require("./local/dataLock").lockDataDir(process.argv[1]); console.log(require("node:fs").readdirSync(process.argv[1]).join(",")); process.exit(1)', dir],
                { cwd: projectDir, encoding: "utf8" },
            );
            // then the pid file it held is gone with it
            assert.equal(held.status, 1, held.stderr);
            assert.equal(held.stdout.trim(), lockFileName, "the pid file was there while it ran");
            assert.equal(fs.existsSync(path.join(dir, lockFileName)), false);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("npm start: what a stop signal asks for", () => {
    const first = { signal: "SIGINT" as const, at: 10_000 };

    it("stops on the first", () => {
        assert.equal(stopSignalMeaning(undefined, first), "stop");
    });

    it("takes the same signal within a moment for the same request", () => {
        assert.equal(stopSignalMeaning(first, { signal: "SIGINT", at: first.at }), "same");
        assert.equal(stopSignalMeaning(first, { signal: "SIGINT", at: first.at + sameSignalMs - 1 }), "same");
    });

    it("exits now on the same signal later, or on another one", () => {
        assert.equal(stopSignalMeaning(first, { signal: "SIGINT", at: first.at + sameSignalMs }), "exit now");
        assert.equal(stopSignalMeaning(first, { signal: "SIGTERM", at: first.at + 1 }), "exit now");
    });
});
