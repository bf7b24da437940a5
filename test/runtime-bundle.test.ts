/**
 * The handler as it ships: runtime/lambda.ts bundled by esbuild the way the
 * Gateway component bundles it (components/bundle.ts), loaded in a fresh Node
 * process that can resolve nothing but @aws-sdk/* (what the Lambda runtime
 * provides), and driven with 2.0 events against DynamoDB Local.
 */
import { strict as assert } from "node:assert";
import { fork, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { startDynamo, testCredentials, type TestDynamo } from "./support/dynamo";
import { event, freshTables, route, startUpstream, testIdentity, testKeyMaterial, type Upstream } from "./support/runtime";
import { startFakeSecretsManager, type FakeSecretsManager } from "./support/secretsManager";
import { bundleRuntime } from "../components/bundle";
import { createSessions } from "../runtime/sessions";
import { environmentNames, lambdaNodeMajor, type CapturedSettings } from "../specs/lambda";

const projectDir = path.resolve(__dirname, "..");

const driver = `
const runtime = require(process.env.TOLLGATE_BUNDLE);
const handler = runtime.createLambdaHandler(JSON.parse(process.env.TOLLGATE_CAPTURED));
process.on("message", async ({ id, event, loaded }) => {
    if (loaded) return process.send({ id, loaded: Object.keys(require.cache).filter((file) => file.includes(loaded)) });
    const result = await handler(event, { getRemainingTimeInMillis: () => 30000 });
    process.send({ id, result });
});
process.send({ ready: true });
`;

describe("the bundled Lambda runtime in a fresh process (dynamodb-local)", function () {
    let dynamo: TestDynamo;
    let upstream: Upstream;
    let secrets: FakeSecretsManager;
    const keysArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tollgate-gateway-keys-AbCdEf";
    let workDir: string;
    let child: ChildProcess;
    let stdout = "";
    let bundleText: string;
    let tables: { rateLimits: string; sessions: string };
    const pending = new Map<number, (result: APIGatewayProxyStructuredResultV2) => void>();
    let nextId = 0;

    /** The files of `packagePath` the bundle's process has loaded. */
    const loadedFiles = (packagePath: string) =>
        new Promise<string[]>((resolve) => {
            const id = ++nextId;
            pending.set(id, resolve as never);
            child.send({ id, loaded: packagePath });
        });

    const invoke = (request: APIGatewayProxyEventV2) =>
        new Promise<APIGatewayProxyStructuredResultV2>((resolve) => {
            const id = ++nextId;
            pending.set(id, resolve);
            child.send({ id, event: request });
        });

    before(async () => {
        dynamo = await startDynamo("dynamodb-local");
        upstream = await startUpstream();
        tables = await freshTables(dynamo);

        // A directory where only @aws-sdk/* can be resolved, as in the Lambda runtime.
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-bundle-"));
        fs.mkdirSync(path.join(workDir, "node_modules"));
        fs.symlinkSync(path.join(projectDir, "node_modules", "@aws-sdk"), path.join(workDir, "node_modules", "@aws-sdk"));
        const bundle = bundleRuntime({ entry: "runtime/lambda.ts", outFile: `.tollgate/test/runtime-${process.pid}.js`, target: `node${lambdaNodeMajor}` });
        const shipped = path.join(workDir, "gateway.js");
        fs.copyFileSync(bundle.absolutePath, shipped);
        fs.rmSync(bundle.absolutePath, { force: true });
        bundleText = fs.readFileSync(shipped, "utf8");
        fs.writeFileSync(path.join(workDir, "driver.js"), driver);

        const captured: CapturedSettings = {
            routes: [
                route({ name: "open", pathPrefix: "/open", upstream: upstream.url, rateLimit: { by: "ip", limit: 2, windowSeconds: 86_400, algorithm: "fixed" } }),
                route({ name: "users", pathPrefix: "/users", upstream: upstream.url, auth: "session" }),
            ],
            defaultRateLimit: { by: "ip", limit: 100, windowSeconds: 60, algorithm: "fixed" },
            sessionCacheSeconds: 0,
            rateLimitFailureMode: "open",
            upstreamTimeoutMs: 2000,
            jwt: { maxLifetimeSeconds: 86_400, scopesAsPermissions: false },
            identity: testIdentity,
        };
        secrets = await startFakeSecretsManager({ [keysArn]: JSON.stringify(testKeyMaterial) });
        child = fork(path.join(workDir, "driver.js"), [], {
            cwd: workDir,
            stdio: ["ignore", "pipe", "pipe", "ipc"],
            env: {
                PATH: process.env.PATH,
                TOLLGATE_BUNDLE: shipped,
                TOLLGATE_CAPTURED: JSON.stringify(captured),
                AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
                [environmentNames.rateLimitTable]: tables.rateLimits,
                [environmentNames.sessionTable]: tables.sessions,
                [environmentNames.region]: "eu-west-1",
                [environmentNames.dynamoEndpoint]: dynamo.endpoint,
                [environmentNames.logLevel]: "INFO",
                [environmentNames.gatewayKeysSecretArn]: keysArn,
                AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
                // DynamoDB Local keeps tables per access key: the tests' own pair, for the Secrets Manager stand-in too.
                AWS_ACCESS_KEY_ID: testCredentials.accessKeyId,
                AWS_SECRET_ACCESS_KEY: testCredentials.secretAccessKey,
            },
        });
        child.stdout!.on("data", (chunk) => (stdout += chunk));
        await new Promise<void>((resolve, reject) => {
            let stderr = "";
            child.stderr!.on("data", (chunk) => (stderr += chunk));
            child.once("exit", (code) => reject(new Error(`the bundle exited with ${code}: ${stderr}`)));
            child.on("message", (message: any) => {
                if (message.ready) resolve();
                else pending.get(message.id)?.(message.loaded ?? message.result);
            });
        });
    });

    after(async () => {
        child?.kill();
        await upstream?.close();
        await secrets?.close();
        await dynamo?.close();
        if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    it("bundles everything but @aws-sdk/*", function () {
        const required = new Set([...bundleText.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]));
        const outside = [...required].filter((name) => !name.startsWith("@aws-sdk/") && !name.startsWith("node:") && !require("node:module").builtinModules.includes(name));
        assert.deepEqual(outside, []);
    });

    it("answers the health checks", async () => {
        assert.equal((await invoke(event({ path: "/health/live" }))).statusCode, 200);
        assert.equal((await invoke(event({ path: "/health/ready" }))).statusCode, 200);
    });

    it("rate-limits and proxies an anonymous route", async () => {
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await invoke(event({ path: "/open/x", sourceIp: "203.0.113.99" }))).statusCode);
        assert.deepEqual(statuses, [200, 200, 429]);
    });

    it("authenticates a session created with the library", async () => {
        const { token } = await createSessions({ dynamo: dynamo.client, tableName: tables.sessions }).create({ userId: "u-bundle", roles: ["r"] });
        upstream.requests.length = 0;
        const result = await invoke(event({ path: "/users/me", headers: { authorization: `Bearer ${token}` } }));
        assert.equal(result.statusCode, 200);
        assert.equal(upstream.requests[0].headers["x-gateway-user-id"], "u-bundle");
        assert.equal((await invoke(event({ path: "/users/me", headers: { authorization: "Bearer nope" } }))).statusCode, 401);
    });

    it("serves its requests without loading any of the AWS SDK (DynamoDB and Secrets Manager are called through runtime/awsClient.ts)", async () => {
        // given the requests of the tests above, sessions, counters and health checks, served, and the gateway keys read from Secrets Manager
        const responses = await Promise.all([invoke(event({ path: "/health/ready" })), invoke(event({ path: "/open/x", sourceIp: "192.0.2.77" }))]);
        assert.deepEqual(
            responses.map((response) => response.statusCode),
            [200, 200],
        );
        assert.ok(secrets.requests.some((request) => request.secretId === keysArn), "the gateway keys were read");
        // then the process has not loaded a file of @aws-sdk
        assert.deepEqual(await loadedFiles("/@aws-sdk/"), []);
    });

    it("writes JSON log lines to stdout", async () => {
        await invoke(event({ path: "/health/live", requestId: "bundle-log" }));
        await new Promise((resolve) => setTimeout(resolve, 100));
        const documents = stdout.trim().split("\n").map((line) => JSON.parse(line));
        const entry = documents.find((document) => document.correlation_id === "bundle-log");
        assert.equal(entry?.status, 200);
        assert.equal(entry?.route, "health");
    });
});
