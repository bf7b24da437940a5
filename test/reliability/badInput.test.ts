/**
 * Bad input: a property-based fuzzer (fast-check, fixed seed, printed) over
 * malformed API Gateway 2.0 events sent straight to the handler, and over raw
 * HTTP requests sent through the local gateway (`npm start`). Whatever
 * arrives: never a 500, never internal detail in an answer, never an
 * upstream call for a refused request or a forged credential, never an
 * upstream path outside the route's base, never a spoofed gateway header
 * upstream. Every upstream call is recorded by a recording upstream.
 */
import { strict as assert } from "node:assert";
import { testIdentity, testKeyMaterial } from "../support/runtime";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { stringify as toYaml } from "yaml";
import { gatewayEvent } from "../../bench/support/inProcess";
import { startLocalGateway, type LocalGatewayProcess } from "../../bench/support/processes";
import { createHandler, type Handler } from "../../runtime/handler";
import { startEmbeddedStore, type EmbeddedStore } from "../../local/store";
import { ensureTables } from "../../data/createTables";
import { createSessions } from "../../runtime/sessions";
import type { RuntimeSettings } from "../../runtime/settings";
import { physicalTableName, rateLimitsTable, sessionsTable } from "../../specs/tables";
import {
    answerProblems,
    applyMutations,
    bodyArbitrary,
    callProblems,
    credentialHeaders,
    encodeTarget,
    expandHeaders,
    extraHeadersArbitrary,
    fuzzRoutes,
    mayPassAuth,
    methodArbitrary,
    mutationsArbitrary,
    pathArbitrary,
    placementArbitrary,
    queryArbitrary,
    routeOfCall,
    type Placement,
} from "./support/badInput";
import { audience, forgeCredentials, hsSecret, issuer, type JwksServer, type NamedCredential } from "./support/credentials";
import { startRecordingUpstream, type RecordingUpstream } from "./support/recordingUpstream";

const seed = Number(process.env.TOLLGATE_FUZZ_SEED ?? 20261122);
const eventCases = Number(process.env.TOLLGATE_FUZZ_EVENT_CASES ?? 10_000);
const httpCases = Number(process.env.TOLLGATE_FUZZ_HTTP_CASES ?? 2_000);
const permissions = ["orders:read"];
const generous = { by: "ip", limit: 1_000_000, windowSeconds: 60, algorithm: "fixed" } as const;

function tally(counts: Map<string, number>, key: string | number) {
    counts.set(String(key), (counts.get(String(key)) ?? 0) + 1);
}

const show = (counts: Map<string, number>) => [...counts].sort((a, b) => Number(a[0]) - Number(b[0])).map(([key, n]) => `${key}:${n}`).join(" ");

describe("reliability: bad input", function () {
    this.timeout(300_000);
    let recorder: RecordingUpstream;
    let jwks: JwksServer;

    before(async () => {
        recorder = await startRecordingUpstream();
    });
    after(async () => {
        await recorder?.close();
        await jwks?.close();
    });

    describe("malformed 2.0 events, straight to the handler", () => {
        let store: EmbeddedStore;
        let handler: Handler;
        let credentials: NamedCredential[];

        before(async () => {
            store = await startEmbeddedStore({});
            const admin = new DynamoDBClient({ endpoint: store.endpoint, region: "eu-west-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
            const names = await ensureTables(admin, "fuzz", [rateLimitsTable, sessionsTable], { enableTtl: false });
            const sessions = createSessions({ dynamo: admin, tableName: names[sessionsTable.name] });
            const validSessions = [];
            for (const user of ["fuzz-a", "fuzz-b"]) validSessions.push((await sessions.create({ userId: user, permissions })).token);
            admin.destroy();
            const forged = await forgeCredentials({ validSessions, permissions });
            credentials = forged.credentials;
            jwks = forged.jwks;
            const settings: RuntimeSettings = {
                routes: fuzzRoutes.map((route) => ({ ...route, upstream: `${recorder.url}/base/${route.name}`, permissions: route.auth === "none" ? [] : permissions, rateLimit: generous })),
                defaultRateLimit: generous,
                sessionCacheSeconds: 10,
                rateLimitFailureMode: "closed",
                upstreamTimeoutMs: 5_000,
                jwt: { issuer, audience, jwksUrl: jwks.url, maxLifetimeSeconds: 86_400, scopesAsPermissions: false },
                identity: { ...testIdentity },
                gatewayKeys: { value: testKeyMaterial },
                tables: { rateLimits: names[rateLimitsTable.name], sessions: names[sessionsTable.name] },
                region: "eu-west-1",
                logLevel: "INFO",
                jwtSecret: { value: hsSecret },
                dynamoEndpoint: store.endpoint,
            };
            handler = createHandler(settings, { log: () => undefined });
        });
        after(async () => {
            await store?.close();
        });

        it(`never answers 500 or with internal detail, and never calls an upstream for a refused request or outside the route (${eventCases} cases)`, async () => {
            const statuses = new Map<string, number>();
            let upstreamCalls = 0;
            let malformed = 0;
            const caseArbitrary = fc.oneof(
                {
                    weight: 30,
                    arbitrary: fc.record({
                        method: methodArbitrary,
                        path: pathArbitrary,
                        query: queryArbitrary,
                        placement: placementArbitrary(credentials),
                        headers: extraHeadersArbitrary,
                        body: bodyArbitrary,
                        sourceIp: fc.constantFrom("198.51.100.1", "198.51.100.2", "2001:db8::1", "203.0.113.9"),
                        mutations: mutationsArbitrary,
                    }),
                },
                { weight: 1, arbitrary: fc.constantFrom<unknown>(null, undefined, 42, "event", [], {}, { requestContext: null }, { rawPath: "/pub" }).map((raw) => ({ raw })) },
            );
            const property = fc.asyncProperty(caseArbitrary, async (input: any) => {
                let event: any;
                let placement: Placement = { kind: "none" };
                if ("raw" in input) {
                    event = input.raw;
                    malformed++;
                } else {
                    placement = input.placement;
                    event = gatewayEvent({ path: input.path, sourceIp: input.sourceIp, method: input.method, headers: { ...expandHeaders(input.headers), ...credentialHeaders(placement, credentials) } });
                    event.rawQueryString = input.query;
                    Object.assign(event, input.body);
                    if (placement.kind === "cookie") {
                        // API Gateway moves cookies out of the headers into `cookies`.
                        event.cookies = event.headers.cookie.split("; ");
                        delete event.headers.cookie;
                    }
                    if (input.mutations.length) malformed++;
                    applyMutations(event, input.mutations);
                }
                const callsBefore = recorder.calls.length;
                const result = await handler(event, { getRemainingTimeInMillis: () => 29_000 });
                const calls = recorder.calls.slice(callsBefore);
                upstreamCalls += calls.length;
                tally(statuses, result.statusCode ?? "none");

                const headers = (result.headers ?? {}) as Record<string, string>;
                const problems = answerProblems(result.statusCode ?? 0, headers["content-type"], result.body ?? "");
                if (calls.length > 0 && result.statusCode !== 200) problems.push(`answered ${result.statusCode} after calling the upstream`);
                if (calls.length > 1) problems.push(`${calls.length} upstream calls for one request`);
                for (const call of calls) {
                    problems.push(...callProblems(call));
                    const route = fuzzRoutes.find((r) => r.name === routeOfCall(call));
                    if (route && route.auth !== "none" && !mayPassAuth(placement, credentials)) problems.push(`${route.name} called with ${placement.kind === "none" || placement.kind === "raw-authorization" ? placement.kind : placement.credential}`);
                }
                if (problems.length) throw new Error(`${problems.join("; ")}\nanswer: ${result.statusCode} ${String(result.body).slice(0, 300)}`);
            });
            await fc.assert(property, { seed, numRuns: eventCases, endOnFailure: true });
            assert.ok(upstreamCalls > 0 && statuses.has("200") && statuses.has("401") && statuses.has("400"), `the cases reached too little: ${show(statuses)}`);
            console.log(
                `      bad-input/events: ${eventCases} cases tried (seed ${seed}; ${malformed} malformed events), statuses ${show(statuses)}, ` +
                    `upstream calls ${upstreamCalls}; 500 = 0, internal detail = 0, refused-but-forwarded = 0, outside prefix = 0`,
            );
        });
    });

    describe("raw HTTP requests through the local gateway", () => {
        let gateway: LocalGatewayProcess;
        let credentials: NamedCredential[];
        let stackDir: string;

        before(async () => {
            const validSessionsPlaceholder: string[] = [];
            const forged = await forgeCredentials({ validSessions: validSessionsPlaceholder, permissions });
            await jwks?.close();
            jwks = forged.jwks;
            stackDir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-fuzz-stack-"));
            const stackFile = path.join(stackDir, "Pulumi.fuzz.yaml");
            fs.writeFileSync(
                stackFile,
                toYaml({
                    config: {
                        "aws:region": "eu-west-1",
                        "tollgate:prefix": "tollgate-fuzz",
                        "tollgate:sessionCacheSeconds": 10,
                        "tollgate:rateLimitFailureMode": "closed",
                        "tollgate:jwt": { issuer, audience, jwksUrl: jwks.url },
                        "tollgate:defaultRateLimit": generous,
                        "tollgate:routes": fuzzRoutes.map((route) => ({
                            name: route.name,
                            pathPrefix: route.pathPrefix,
                            upstream: `https://${route.name}.fuzz.invalid`,
                            auth: route.auth,
                            permissions: route.auth === "none" ? [] : permissions,
                            rateLimit: generous,
                        })),
                    },
                }),
            );
            gateway = await startLocalGateway({
                configFile: stackFile,
                upstreams: Object.fromEntries(fuzzRoutes.map((route) => [route.name, `${recorder.url}/base/${route.name}`])),
                env: { TOLLGATE_JWT_SECRET: hsSecret },
            });
            const client = new DynamoDBClient({ endpoint: gateway.dynamoEndpoint, region: "eu-west-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
            const sessions = createSessions({ dynamo: client, tableName: physicalTableName("tollgate-fuzz", sessionsTable) });
            const valid = [(await sessions.create({ userId: "http-fuzz", permissions })).token];
            client.destroy();
            credentials = [...valid.map((token, i) => ({ name: `session-${i}`, kind: "valid" as const, token })), ...forged.credentials];
        });
        after(async () => {
            await gateway?.stop();
            if (stackDir) fs.rmSync(stackDir, { recursive: true, force: true });
        });

        it(`never answers 500 or with internal detail, and never calls an upstream for a refused request or outside the route (${httpCases} requests)`, async () => {
            const statuses = new Map<string, number>();
            let upstreamCalls = 0;
            const port = Number(new URL(gateway.url).port);
            const caseArbitrary = fc.record({
                method: methodArbitrary,
                path: pathArbitrary,
                query: queryArbitrary,
                placement: placementArbitrary(credentials),
                headers: extraHeadersArbitrary,
                body: fc.option(fc.string({ unit: "binary", maxLength: 64 }), { nil: undefined }),
                rawTarget: fc.boolean(),
            });
            const property = fc.asyncProperty(caseArbitrary, async (input) => {
                // Half the targets go raw (non-ASCII, spaces, control characters: Node's parser refuses most), half encoded as a client would.
                const rawTarget = `${input.path || "/"}${input.query ? `?${input.query}` : ""}`;
                const target = input.rawTarget ? rawTarget : encodeTarget(rawTarget);
                const headerLines = Object.entries({ ...expandHeaders(input.headers, 12 * 1024), ...credentialHeaders(input.placement, credentials) }).map(([name, value]) => `${name}: ${value}`);
                const body = input.body === undefined ? Buffer.alloc(0) : Buffer.from(input.body);
                const head = [`${input.method} ${target} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close", ...headerLines, ...(body.length ? [`Content-Length: ${body.length}`] : []), "", ""].join("\r\n");
                const callsBefore = recorder.calls.length;
                const raw = await exchange(port, Buffer.concat([Buffer.from(head, "utf8"), body]));
                const calls = recorder.calls.slice(callsBefore);
                upstreamCalls += calls.length;
                const parsed = parseResponse(raw);
                // Answers without apigw-requestid come from Node's HTTP parser, before the emulation.
                tally(statuses, parsed ? `${parsed.status}${parsed.headers.has("apigw-requestid") ? "" : "(node)"}` : "closed");
                if (!parsed) {
                    if (calls.length) throw new Error(`no answer, but the upstream was called: ${JSON.stringify(calls.map((c) => c.target))}`);
                    // Node's HTTP server answers 431 to an oversized head and closes at once; the client may lose that answer while still writing.
                    if (head.length < 64 * 1024) throw new Error(`no answer to a ${head.length}-byte request: ${JSON.stringify(head.slice(0, 300))}`);
                    return;
                }
                const problems = answerProblems(parsed.status, parsed.headers.get("content-type"), parsed.body, { head: input.method === "HEAD", localRoutes: fuzzRoutes });
                if (calls.length > 0 && parsed.status !== 200) problems.push(`answered ${parsed.status} after calling the upstream`);
                for (const call of calls) {
                    problems.push(...callProblems(call));
                    const route = fuzzRoutes.find((r) => r.name === routeOfCall(call));
                    if (route && route.auth !== "none" && !mayPassAuth(input.placement, credentials)) problems.push(`${route.name} called without a valid credential`);
                }
                if (problems.length) throw new Error(`${problems.join("; ")}\nrequest: ${JSON.stringify(head.slice(0, 300))}\nanswer: ${raw.slice(0, 400)}`);
            });
            await fc.assert(property, { seed, numRuns: httpCases, endOnFailure: true });
            assert.ok(gateway.alive(), "the local gateway exited");
            assert.ok(upstreamCalls > 0 && statuses.has("200") && statuses.has("401"), `the cases reached too little: ${show(statuses)}`);
            console.log(
                `      bad-input/http: ${httpCases} raw requests tried through npm start (seed ${seed}), statuses ${show(statuses)}, ` +
                    `upstream calls ${upstreamCalls}; 500 = 0, internal detail = 0, refused-but-forwarded = 0, outside prefix = 0`,
            );
        });
    });
});

/** Sends raw bytes on a new connection and returns everything read until the server closes it. */
function exchange(port: number, request: Buffer): Promise<string> {
    return new Promise((resolve) => {
        const chunks: Buffer[] = [];
        // Written, not ended: a half-closed connection makes Node's server drop the answer.
        const socket = net.connect(port, "127.0.0.1", () => socket.write(request));
        socket.setTimeout(15_000, () => socket.destroy());
        socket.on("data", (chunk) => chunks.push(chunk));
        socket.on("error", () => undefined);
        socket.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
}

function parseResponse(raw: string): { status: number; headers: Map<string, string>; body: string } | undefined {
    const split = raw.indexOf("\r\n\r\n");
    if (split < 0) return undefined;
    const [statusLine, ...headerLines] = raw.slice(0, split).split("\r\n");
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
    if (!status) return undefined;
    const headers = new Map<string, string>();
    for (const line of headerLines) {
        const colon = line.indexOf(":");
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    return { status: Number(status), headers, body: raw.slice(split + 4) };
}
