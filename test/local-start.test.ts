/**
 * What `npm start` sets up around the handler, run in this process with a
 * recording handler: the embedded store on DYNAMODB_PORT with the stack's
 * tables, an echo upstream per route, the settings the handler is built
 * with, and clear refusals when a port is taken.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { parseOptions } from "../local/options";
import { DataDirInUseError, lockDataDir, lockFileName } from "../local/dataLock";
import { startLocal, StartError, type CreateHandler, type LocalGateway } from "../local/start";
import type { EchoReport } from "../local/echo";
import type { RuntimeSettings } from "../runtime/settings";
import { loadStackConfig } from "../specs/stackFile";
import { freePort } from "./support/loopback";

const projectDir = path.resolve(__dirname, "..");
const stackFile = path.join(projectDir, "test", "fixtures", "stacks", "Pulumi.local-test.yaml");
const stack = loadStackConfig("local-test", { file: stackFile });

/** A handler factory that keeps the settings it was given and answers with them. */
function recordingHandler(): { createHandler: CreateHandler; settings: () => RuntimeSettings } {
    let given: RuntimeSettings | undefined;
    return {
        createHandler: (settings) => {
            given = settings;
            return async () => ({ statusCode: 200, body: "handled" });
        },
        settings: () => given!,
    };
}

/** Options for the test stack on free ports; in memory unless `argv` gives a `--data-dir`. */
async function optionsWith(argv: string[] = [], env: NodeJS.ProcessEnv = {}) {
    const storage = argv.includes("--data-dir") ? [] : ["--memory"];
    return parseOptions(["--config", stackFile, ...storage, "--port", "0", ...argv], { DYNAMODB_PORT: String(await freePort()), ...env }, projectDir);
}

function occupy(port: number): Promise<net.Server> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve(server));
    });
}

describe("local gateway start-up (in process)", () => {
    let gateway: LocalGateway | undefined;
    afterEach(async () => {
        await gateway?.close();
        gateway = undefined;
    });

    it("starts the store on DYNAMODB_PORT with the stack's built-in and application tables", async () => {
        const options = await optionsWith();
        gateway = await startLocal(options, stack, recordingHandler().createHandler);

        assert.equal(gateway.store.endpoint, `http://127.0.0.1:${options.dynamoPort}`);
        const client = new DynamoDBClient({ endpoint: gateway.store.endpoint, region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
        try {
            const { TableNames } = await client.send(new ListTablesCommand({}));
            assert.deepEqual(TableNames?.sort(), ["tollgate-local-test-notes", "tollgate-local-test-rate-limits", "tollgate-local-test-sessions"]);
        } finally {
            client.destroy();
        }
    });

    it("builds the handler with the created tables, the embedded store and the stack's routes and limits", async () => {
        const recorder = recordingHandler();
        gateway = await startLocal(await optionsWith(), stack, recorder.createHandler);

        const settings = recorder.settings();
        assert.deepEqual(settings.tables, { rateLimits: "tollgate-local-test-rate-limits", sessions: "tollgate-local-test-sessions" });
        assert.equal(settings.dynamoEndpoint, gateway.store.endpoint);
        assert.equal(settings.region, "eu-west-1");
        assert.deepEqual(
            settings.routes.map((route) => [route.name, route.pathPrefix, route.auth]),
            stack.settings.routes.map((route) => [route.name, route.pathPrefix, route.auth]),
        );
        assert.deepEqual(settings.defaultRateLimit, stack.settings.defaultRateLimit);
        // The stack has jwt routes and no secret: none is invented
        assert.equal(settings.jwtSecret, undefined);
        assert.match(gateway.jwt.notice!, /TOLLGATE_JWT_SECRET/);
    });

    it("points every route at its own echo upstream, except those given with --upstream", async () => {
        const recorder = recordingHandler();
        gateway = await startLocal(await optionsWith(["--upstream", "search=http://127.0.0.1:9/search-service"]), stack, recorder.createHandler);

        const upstreams = Object.fromEntries(recorder.settings().routes.map((route) => [route.name, route.upstream]));
        assert.equal(upstreams.search, "http://127.0.0.1:9/search-service");
        for (const name of ["catalog", "account", "admin"]) {
            assert.match(upstreams[name], /^http:\/\/127\.0\.0\.1:\d+$/);
            const report = (await (await fetch(`${upstreams[name]}/x?y=1`)).json()) as EchoReport;
            assert.equal(report.upstream, name);
            assert.equal(report.path, "/x");
        }
        assert.equal(new Set(Object.values(upstreams)).size, 4);
        assert.deepEqual(
            gateway.routes.map((route) => [route.name, route.echo]),
            [
                ["catalog", true],
                ["account", true],
                ["search", false],
                ["admin", true],
            ],
        );
    });

    it("serves the handler's answers on the gateway URL", async () => {
        gateway = await startLocal(await optionsWith(), stack, recordingHandler().createHandler);
        const response = await fetch(`${gateway.url}/anything`);

        assert.equal(response.status, 200);
        assert.equal(await response.text(), "handled");
    });

    it("passes TOLLGATE_JWT_SECRET to the handler", async () => {
        const recorder = recordingHandler();
        const secret = "a-local-secret-of-at-least-32-characters!";
        gateway = await startLocal(await optionsWith([], { TOLLGATE_JWT_SECRET: secret }), stack, recorder.createHandler);

        assert.deepEqual(recorder.settings().jwtSecret, { value: secret });
        assert.equal(gateway.jwt.notice, undefined);
    });

    it("releases every port it took when closed", async () => {
        const options = await optionsWith();
        gateway = await startLocal(options, stack, recordingHandler().createHandler);
        const port = gateway.port;
        const upstream = gateway.routes[0].upstream;
        await gateway.close();
        gateway = undefined;

        for (const taken of [port, options.dynamoPort, Number(new URL(upstream).port)]) {
            const server = await occupy(taken);
            await new Promise((resolve) => server.close(resolve));
        }
    });

    it("refuses a taken gateway port, naming it and --port/PORT, and leaves the store port free", async () => {
        const blocker = await occupy(await freePort());
        const port = (blocker.address() as net.AddressInfo).port;
        try {
            const options = await optionsWith(["--port", String(port)]);
            await assert.rejects(startLocal(options, stack, recordingHandler().createHandler), (error: Error) => {
                assert.ok(error instanceof StartError);
                assert.match(error.message, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
                assert.match(error.message, /--port N or set PORT/);
                return true;
            });
            const store = await occupy(options.dynamoPort);
            await new Promise((resolve) => store.close(resolve));
        } finally {
            await new Promise((resolve) => blocker.close(resolve));
        }
    });

    it("refuses a taken store port, naming it and DYNAMODB_PORT", async () => {
        const blocker = await occupy(await freePort());
        const port = (blocker.address() as net.AddressInfo).port;
        try {
            const options = await optionsWith([], { DYNAMODB_PORT: String(port) });
            await assert.rejects(startLocal(options, stack, recordingHandler().createHandler), (error: Error) => {
                assert.ok(error instanceof StartError);
                assert.match(error.message, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
                assert.match(error.message, /DYNAMODB_PORT/);
                return true;
            });
        } finally {
            await new Promise((resolve) => blocker.close(resolve));
        }
    });

    it("refuses an --upstream naming no route of the stack before starting anything", async () => {
        const options = await optionsWith(["--upstream", "nope=http://127.0.0.1:9"]);
        await assert.rejects(startLocal(options, stack, recordingHandler().createHandler), /--upstream nope: no route named 'nope'/);
        const store = await occupy(options.dynamoPort);
        await new Promise((resolve) => store.close(resolve));
    });
});

describe("local gateway data directory", () => {
    let dataDir: string;
    beforeEach(() => {
        dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-lock-"));
    });
    afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

    it("refuses a second npm start on the same data directory, naming the directory and the process holding it", async () => {
        const first = await startLocal(await optionsWith(["--data-dir", dataDir]), stack, recordingHandler().createHandler);
        try {
            await assert.rejects(startLocal(await optionsWith(["--data-dir", dataDir]), stack, recordingHandler().createHandler), (error: Error) => {
                assert.ok(error instanceof StartError);
                assert.match(error.message, new RegExp(`data directory ${dataDir} is in use by another npm start \\(pid ${process.pid}\\)`));
                return true;
            });
        } finally {
            await first.close();
        }
        // and once the first one stopped, the directory is free again
        const second = await startLocal(await optionsWith(["--data-dir", dataDir]), stack, recordingHandler().createHandler);
        await second.close();
        assert.equal(fs.existsSync(path.join(dataDir, lockFileName)), false);
    });

    it("takes over a lock left by a process that no longer runs", () => {
        const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
        fs.writeFileSync(path.join(dataDir, lockFileName), `${gone.stdout}\n`);

        const lock = lockDataDir(dataDir);
        assert.equal(fs.readFileSync(path.join(dataDir, lockFileName), "utf8").trim(), String(process.pid));
        assert.throws(() => lockDataDir(dataDir), DataDirInUseError);
        return lock.close();
    });
});
