/**
 * The stores' DynamoDB clients (runtime/stores/dynamo.ts, wire.ts): the
 * wire client the gateway builds, which signs and sends each call itself,
 * and the SDK's client the sessions command and library use, its
 * middleware resolved once per command, a fixed User-Agent, no logger or
 * recursion-detection middleware. Each of these saves CPU on every store
 * call, and none of them would show as a wrong answer if it were lost;
 * these tests are what notice.
 *
 * Most handler tests give the handler the wire client on a test store
 * (`deps.dynamo`); here the handler builds its own, as the Lambda does.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import ts from "typescript";
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { SignatureV4 } from "@smithy/signature-v4";
import { createHandler } from "../runtime/handler";
import { createStoreClient, isConditionalCheckFailed, storeUserAgent } from "../runtime/stores/dynamo";
import { createDynamoClient } from "../runtime/stores/sdkClient";
import { createSigner, createWireClient, dynamodbService, type AwsServiceError, type WireCredentials } from "../runtime/awsClient";
import { listenOnLoopback, startEmptyDynamo, type LoopbackServer } from "./support/loopback";
import { startDynamoProxy, type DynamoProxy, type ProxiedCall } from "./support/dynamoProxy";
import { startFakeSecretsManager } from "./support/secretsManager";
import { secretsManagerLoader } from "../runtime/auth/secret";
import { Clock, event, freshTables, route, runtimeSettings, useDynamoAndUpstream } from "./support/runtime";

const projectDir = path.resolve(__dirname, "..");

/** The SDK signer's hash: SHA-256, or HMAC-SHA256 under a secret, from node:crypto. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (data: SourceData) => (typeof data === "string" ? data : ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data));

class NodeSha256 {
    private hash: Hash | Hmac;
    constructor(private readonly secret?: SourceData) {
        this.hash = this.fresh();
    }
    private fresh() {
        return this.secret === undefined ? createHash("sha256") : createHmac("sha256", bytesOf(this.secret));
    }
    update(data: SourceData) {
        this.hash.update(bytesOf(data));
    }
    async digest(): Promise<Uint8Array> {
        return this.hash.digest();
    }
    reset() {
        this.hash = this.fresh();
    }
}

/** What a Lambda container's environment holds of its role's credentials. */
const lambdaCredentials = { AWS_ACCESS_KEY_ID: "ASIATESTKEY", AWS_SECRET_ACCESS_KEY: "dGVzdC1zZWNyZXQtbm90LWEtcmVhbC1vbmUtMTIzNA", AWS_SESSION_TOKEN: "IQoJb3JpZ2luX2VjEXAMPLETOKEN==" };

/** The Authorization header the SDK's signer makes of a call as it arrived (its signed headers, its body, its date). */
async function sdkSignature(call: Pick<ProxiedCall, "headers" | "raw">, environment: typeof lambdaCredentials, service = "dynamodb"): Promise<string> {
    const credentials: WireCredentials = { accessKeyId: environment.AWS_ACCESS_KEY_ID, secretAccessKey: environment.AWS_SECRET_ACCESS_KEY, sessionToken: environment.AWS_SESSION_TOKEN };
    const signedNames = /SignedHeaders=([^,]+)/.exec(String(call.headers.authorization))![1].split(";");
    const headers = Object.fromEntries(signedNames.filter((name) => name !== "x-amz-date" && name !== "x-amz-security-token").map((name) => [name, String(call.headers[name])]));
    const date = String(call.headers["x-amz-date"]);
    const signingDate = new Date(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
    const signer = new SignatureV4({ credentials, region: "eu-west-1", service, sha256: NodeSha256, applyChecksum: false });
    const signed = await signer.sign({ method: "POST", protocol: "http:", hostname: headers.host, path: "/", query: {}, headers, body: call.raw } as never, { signingDate });
    return (signed as unknown as { headers: Record<string, string> }).headers.authorization;
}

/** Sets environment variables until the returned function puts them back. */
function withEnvironment(values: Record<string, string>): () => void {
    const saved = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
    Object.assign(process.env, values);
    return () => {
        for (const [name, value] of Object.entries(saved)) {
            if (value === undefined) delete process.env[name];
            else process.env[name] = value;
        }
    };
}

/** What the Lambda runtime sets in every container; the SDK's recursion detection copies the trace id into each call. */
const lambdaEnvironment = { AWS_LAMBDA_FUNCTION_NAME: "tollgate-test-gateway", _X_AMZN_TRACE_ID: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1" };

/** Every import specifier in the project's `runtime/` sources, as `file -> specifier`. */
function runtimeImports(): string[] {
    const found: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(path.join(projectDir, dir), { withFileTypes: true })) {
            const relative = `${dir}/${entry.name}`;
            if (entry.isDirectory()) walk(relative);
            else if (entry.name.endsWith(".ts")) {
                const { importedFiles } = ts.preProcessFile(fs.readFileSync(path.join(projectDir, relative), "utf8"), true, true);
                for (const { fileName } of importedFiles) found.push(`${relative} -> ${fileName}`);
            }
        }
    };
    walk("runtime");
    return found;
}

describe("the stores' DynamoDB clients", function () {
    this.timeout(60_000);

    describe("the SDK's, as createDynamoClient builds it (the sessions command, and machines without credentials in the environment)", () => {
        it("caches the middleware and leaves out the SDK's logger, recursion-detection and per-call User-Agent middleware", () => {
            // given the client a container builds
            const client = createDynamoClient({ region: "eu-west-1", endpoint: "http://127.0.0.1:9" });
            try {
                // then its config asks for the middleware cache
                assert.equal(client.config.cacheMiddleware, true);
                // and its stack holds the fixed User-Agent instead of the SDK's, and neither the logger nor recursion detection
                const names = client.middlewareStack.identify().map((entry) => entry.split(" - ")[0]);
                for (const left of ["loggerMiddleware", "recursionDetectionMiddleware", "getUserAgentMiddleware"]) assert.ok(!names.includes(left), `${left} is on the stack: ${names.join(", ")}`);
                assert.ok(names.includes("fixedUserAgent"), `no fixedUserAgent on the stack: ${names.join(", ")}`);
            } finally {
                client.destroy();
            }
        });

        it("reports no call to a logger: no input or output is filtered for logging", async () => {
            // given a DynamoDB stand-in, and a logger put on the client's config where the SDK's logger middleware would find it
            const { url, close } = await startEmptyDynamo();
            const client = createDynamoClient({ region: "eu-west-1", endpoint: url });
            // The logger middleware reports each call to `info` (or `error`), with the command's input and output filtered for logging;
            // `debug` also hears from endpoint resolution, which is not in question here.
            const logged: unknown[] = [];
            const record = (entry: unknown) => void logged.push(entry);
            client.config.logger = { debug: () => undefined, info: record, warn: record, error: record };
            try {
                // when a store call is made
                await client.send(new GetItemCommand({ TableName: "t", Key: { k: { S: "1" } } }));
                // then nothing reached the logger
                assert.deepEqual(logged, []);
            } finally {
                client.destroy();
                await close();
            }
        });
    });

    describe("in a handler given no client", () => {
        const servers = useDynamoAndUpstream("dynalite");
        let proxy: DynamoProxy;
        const calls: ProxiedCall[] = [];
        let tables: { rateLimits: string; sessions: string };

        before(async () => {
            tables = await freshTables(servers.dynamo);
            proxy = await startDynamoProxy(servers.dynamo.endpoint, (call) => {
                calls.push(call);
                return undefined;
            });
        });
        after(async () => proxy?.close());
        beforeEach(() => (calls.length = 0));

        it("calls DynamoDB itself with the credentials Lambda gives it: each call signed as the SDK signs it, the session token sent, the fixed User-Agent, no trace header", async () => {
            // given a handler in a Lambda-like environment (role credentials in the environment) that builds its own store client,
            // pointed at a proxy that records each call as it arrived
            const restoreEnvironment = withEnvironment({ ...lambdaEnvironment, ...lambdaCredentials });
            try {
                const handler = createHandler(
                    runtimeSettings(tables, { endpoint: proxy.endpoint }, {
                        routes: [route({ name: "open", pathPrefix: "/open", upstream: servers.upstream.url, rateLimit: { by: "ip", limit: 100, windowSeconds: 60, algorithm: "fixed" } })],
                    }),
                    { now: new Clock().now, log: () => undefined },
                );
                // when a readiness check (one GetItem per table) and three limited requests (one UpdateItem each) arrive
                assert.equal((await handler(event({ path: "/health/ready" }))).statusCode, 200);
                for (let i = 0; i < 3; i++) assert.equal((await handler(event({ path: "/open/items" }))).statusCode, 200);
                // then every call reached DynamoDB
                assert.deepEqual(
                    calls.map((call) => call.operation),
                    ["GetItem", "GetItem", "UpdateItem", "UpdateItem", "UpdateItem"],
                );
                for (const call of calls) {
                    // signed with the environment's key and token, and the signature is the one the SDK's signer makes of what arrived
                    assert.equal(call.headers["x-amz-security-token"], lambdaCredentials.AWS_SESSION_TOKEN);
                    assert.match(String(call.headers.authorization), /^AWS4-HMAC-SHA256 Credential=ASIATESTKEY\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, /);
                    assert.equal(call.headers.authorization, await sdkSignature(call, lambdaCredentials));
                    // with the fixed User-Agent and without the Lambda's trace id
                    assert.equal(call.headers["user-agent"], storeUserAgent, `${call.operation} sent User-Agent ${call.headers["user-agent"]}`);
                    assert.equal(call.headers["x-amzn-trace-id"], undefined, `${call.operation} carried the Lambda's trace id`);
                }
            } finally {
                restoreEnvironment();
            }
        });
    });

    describe("createStoreClient", () => {
        it("is the wire client wherever there are credentials to sign with, and the SDK's client (which finds a profile's or SSO's) where there are none", () => {
            const restore = withEnvironment({ AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" });
            try {
                const aws = "https://dynamodb.eu-west-1.amazonaws.com";
                const clients = {
                    lambda: createStoreClient({ region: "eu-west-1", endpoint: aws, credentials: { accessKeyId: "a", secretAccessKey: "s" } }),
                    loopback: createStoreClient({ region: "eu-west-1", endpoint: "http://127.0.0.1:9" }),
                    developer: createStoreClient({ region: "eu-west-1", endpoint: aws }),
                };
                assert.deepEqual(Object.fromEntries(Object.entries(clients).map(([name, client]) => [name, client.via])), { lambda: "wire", loopback: "wire", developer: "sdk" });
                for (const client of Object.values(clients)) client.destroy();
            } finally {
                restore();
            }
        });

        it("takes the endpoint the SDK would: AWS_ENDPOINT_URL_DYNAMODB, then AWS_ENDPOINT_URL, and leaves FIPS, dual-stack and isolated partitions to the SDK's endpoint rules", async () => {
            const credentials = { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "s" };
            const via = (env: NodeJS.ProcessEnv, region = "eu-west-1") => {
                const client = createStoreClient({ region }, env);
                client.destroy();
                return client.via;
            };
            assert.deepEqual(
                [via(credentials), via({ ...credentials, AWS_USE_FIPS_ENDPOINT: "true" }), via({ ...credentials, AWS_USE_DUALSTACK_ENDPOINT: "true" }), via(credentials, "us-isob-east-1"), via(credentials, "us-gov-west-1")],
                ["wire", "sdk", "sdk", "sdk", "wire"],
            );
            // the configured endpoints are called, the service's own first
            const seen: string[] = [];
            const [dynamodbOnly, everyService] = await Promise.all([startEmptyDynamo(() => seen.push("AWS_ENDPOINT_URL_DYNAMODB")), startEmptyDynamo(() => seen.push("AWS_ENDPOINT_URL"))]);
            try {
                const both = createStoreClient({ region: "eu-west-1" }, { ...credentials, AWS_ENDPOINT_URL_DYNAMODB: dynamodbOnly.url, AWS_ENDPOINT_URL: everyService.url, AWS_USE_FIPS_ENDPOINT: "true" });
                const general = createStoreClient({ region: "eu-west-1" }, { ...credentials, AWS_ENDPOINT_URL: everyService.url });
                await both.call("GetItem", { TableName: "t", Key: { k: { S: "1" } } });
                await general.call("GetItem", { TableName: "t", Key: { k: { S: "1" } } });
                assert.deepEqual([both.via, general.via, ...seen], ["wire", "wire", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]);
                both.destroy();
                general.destroy();
            } finally {
                await Promise.all([dynamodbOnly.close(), everyService.close()]);
            }
        });
    });

    describe("Secrets Manager, as the handler reads its keys and the JWT secret", () => {
        it("reads a secret through the wire client with the environment's credentials, signed as the SDK signs it, and names a missing one as AWS does", async () => {
            const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tollgate-jwt-AbCdEf";
            const secrets = await startFakeSecretsManager({ [arn]: "s3cret" });
            try {
                const load = secretsManagerLoader("eu-west-1", { ...lambdaCredentials, AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url });
                assert.equal(await load(arn), "s3cret");
                const missing = await load(`${arn}x`).then(() => assert.fail("read a missing secret"), (error: Error) => error);
                assert.equal(missing.name, "ResourceNotFoundException");
                const [request] = secrets.requests;
                assert.equal(request.target, "secretsmanager.GetSecretValue");
                assert.equal(request.headers["content-type"], "application/x-amz-json-1.1");
                assert.equal(request.headers["x-amz-security-token"], lambdaCredentials.AWS_SESSION_TOKEN);
                assert.match(String(request.authorization), /Credential=ASIATESTKEY\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request/);
                assert.equal(request.authorization, await sdkSignature({ headers: request.headers, raw: request.raw }, lambdaCredentials, "secretsmanager"));
            } finally {
                await secrets.close();
            }
        });
    });

    describe("the wire client (runtime/awsClient.ts)", () => {
        it("signs as the SDK's Signature Version 4 signer does, for any headers, body, date, region and credentials", async () => {
            const header = fc.stringMatching(/^[ -~]{0,40}$/);
            await fc.assert(
                fc.asyncProperty(
                    fc.record({
                        target: fc.constantFrom("GetItem", "UpdateItem", "PutItem", "Query"),
                        extra: header,
                        body: fc.string({ unit: "binary", maxLength: 300 }),
                        epochMs: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) }),
                        region: fc.constantFrom("eu-west-1", "us-east-1", "ap-southeast-2", "cn-north-1"),
                        accessKeyId: fc.stringMatching(/^[A-Z0-9]{16,20}$/),
                        secretAccessKey: fc.stringMatching(/^[A-Za-z0-9+/]{40}$/),
                        sessionToken: fc.option(fc.stringMatching(/^[A-Za-z0-9+/=]{20,200}$/), { nil: undefined }),
                    }),
                    async (input) => {
                        const credentials = { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey, sessionToken: input.sessionToken };
                        const body = Buffer.from(input.body, "utf8");
                        const headers = { "content-type": "application/x-amz-json-1.0", host: `dynamodb.${input.region}.amazonaws.com`, "x-amz-target": `DynamoDB_20120810.${input.target}`, "x-tollgate-extra": input.extra };
                        const ours = createSigner(input.region, "dynamodb", credentials)(headers, body, input.epochMs);
                        const sdk = new SignatureV4({ credentials, region: input.region, service: "dynamodb", sha256: NodeSha256, applyChecksum: false });
                        const signed = await sdk.sign({ method: "POST", protocol: "https:", hostname: headers.host, path: "/", query: {}, headers: { ...headers }, body } as never, { signingDate: new Date(input.epochMs) });
                        assert.equal(ours.authorization, (signed as unknown as { headers: Record<string, string> }).headers.authorization);
                    },
                ),
                { numRuns: 300 },
            );
        });

        describe("against a DynamoDB that answers as it is told", () => {
            let server: LoopbackServer;
            type Answer = { status: number; body: string; headers?: Record<string, string>; holdMs?: number };
            let answers: ((body: any) => Answer)[];
            let received: any[];

            before(async () => {
                server = await listenOnLoopback(
                    http.createServer((request, response) => {
                        const chunks: Buffer[] = [];
                        request.on("data", (chunk) => chunks.push(chunk));
                        request.on("end", () => {
                            const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
                            received.push({ target: request.headers["x-amz-target"], body });
                            const answer: Answer = (answers.shift() ?? (() => ({ status: 200, body: "{}" })))(body);
                            setTimeout(() => {
                                response.writeHead(answer.status, { "content-type": "application/x-amz-json-1.0", ...answer.headers });
                                response.end(answer.body);
                            }, answer.holdMs ?? 0);
                        });
                    }),
                );
            });
            after(async () => server?.close());
            beforeEach(() => {
                answers = [];
                received = [];
            });

            const client = (options: { maxAttempts?: number; attemptTimeoutMs?: number } = {}) =>
                createWireClient({ service: dynamodbService, region: "eu-west-1", endpoint: server.url, credentials: { accessKeyId: "k", secretAccessKey: "s" }, maxAttempts: options.maxAttempts ?? 2, attemptTimeoutMs: options.attemptTimeoutMs ?? 1000, backoffMs: 5 });
            const error = (status: number, type: string, message: string) => (): Answer => ({ status, body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }) });
            const ok = (payload: unknown) => (): Answer => ({ status: 200, body: JSON.stringify(payload) });
            const failureOf = async (call: Promise<unknown>) => call.then(() => assert.fail("the call succeeded"), (failure: AwsServiceError) => failure);

            it("sends the input as it is and gives back the answer as it is, attribute values in their low-level form", async () => {
                const dynamo = client();
                answers.push(ok({ Attributes: { request_count: { N: "3" } } }));
                const input = { TableName: "t", Key: { k: { S: "a:b%3A" }, w: { N: "60" } }, UpdateExpression: "ADD c :one", ExpressionAttributeValues: { ":one": { N: "1" } }, ReturnValues: "UPDATED_NEW" };
                assert.deepEqual(await dynamo.call("UpdateItem", input), { Attributes: { request_count: { N: "3" } } });
                assert.deepEqual(received, [{ target: "DynamoDB_20120810.UpdateItem", body: input }]);
                dynamo.destroy();
            });

            it("names a DynamoDB error as the SDK does, tries a throttled or failing call once more, and never a refused one", async () => {
                const dynamo = client();
                // a failed condition: one attempt, its name and message kept
                answers.push(error(400, "ConditionalCheckFailedException", "The conditional request failed"));
                const refused = await failureOf(dynamo.call("UpdateItem", { TableName: "t" }));
                assert.deepEqual([refused.name, refused.message, refused.$metadata], ["ConditionalCheckFailedException", "The conditional request failed", { httpStatusCode: 400, attempts: 1 }]);
                assert.ok(isConditionalCheckFailed(refused));
                // throttled, then answered
                answers.push(error(400, "ProvisionedThroughputExceededException", "slow down"), ok({ Item: { k: { S: "1" } } }));
                assert.deepEqual(await dynamo.call("GetItem", { TableName: "t" }), { Item: { k: { S: "1" } } });
                // failing twice: the second failure is thrown
                answers.push(() => ({ status: 500, body: "" }), error(503, "ServiceUnavailable", "later"));
                const failed = await failureOf(dynamo.call("GetItem", { TableName: "t" }));
                assert.deepEqual([failed.name, failed.$metadata.attempts], ["ServiceUnavailable", 2]);
                // a validation error, once
                answers.push(error(400, "ValidationException", "bad key"));
                assert.equal((await failureOf(dynamo.call("GetItem", { TableName: "t" }))).name, "ValidationException");
                assert.equal(received.length, 1 + 2 + 2 + 1);
                dynamo.destroy();
            });

            it("does not believe an answer that is not JSON, or whose x-amz-crc32 it does not match", async () => {
                const dynamo = client({ maxAttempts: 1 });
                answers.push(() => ({ status: 200, body: "<html>captive portal</html>" }));
                assert.equal((await failureOf(dynamo.call("GetItem", { TableName: "t" }))).name, "InvalidResponse");
                answers.push(() => ({ status: 200, body: '{"Item":{"k":{"S":"2"}}}', headers: { "x-amz-crc32": String(crc32('{"Item":{"k":{"S":"1"}}}')) } }));
                assert.equal((await failureOf(dynamo.call("GetItem", { TableName: "t" }))).name, "CRC32CheckFailed");
                answers.push(() => ({ status: 200, body: '{"Item":{"k":{"S":"1"}}}', headers: { "x-amz-crc32": String(crc32('{"Item":{"k":{"S":"1"}}}')) } }));
                assert.deepEqual(await dynamo.call("GetItem", { TableName: "t" }), { Item: { k: { S: "1" } } });
                dynamo.destroy();
            });

            it("gives up on an attempt at its timeout, and on the call after its attempts", async () => {
                const dynamo = client({ attemptTimeoutMs: 150 });
                answers.push(() => ({ status: 200, body: "{}", holdMs: 1000 }), () => ({ status: 200, body: "{}", holdMs: 1000 }));
                const started = Date.now();
                const failed = await failureOf(dynamo.call("GetItem", { TableName: "t" }));
                assert.deepEqual([failed.name, failed.$metadata.attempts], ["TimeoutError", 2]);
                assert.ok(Date.now() - started < 900, `gave up after ${Date.now() - started} ms`);
                dynamo.destroy();
            });
        });
    });

    it("keeps the runtime on the low-level client: nothing in runtime/ imports the document client", () => {
        // The document client marshals every call through its own middleware and cannot use the middleware cache;
        // the stores build attribute values themselves instead.
        const documentClientImports = runtimeImports().filter((edge) => edge.endsWith("-> @aws-sdk/lib-dynamodb"));
        assert.deepEqual(documentClientImports, []);
    });
});
