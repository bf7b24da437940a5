/**
 * Runs in a process of its own for the benchmark's memory figures: the
 * gateway's handler (DynamoDB answered in memory) proxying to the upstream at
 * UPSTREAM_URL, whose `/bytes/<n>` answers n bytes. It sends the requests
 * named by REQUESTS (JSON: [{ path, label }]) one after the other, samples its
 * resident memory every 2 ms meanwhile, and prints one JSON line: per label
 * the status and how far the resident set grew over what it was before the
 * request, at its highest, in MB. TRANSPORT=fetch puts the transport tollgate
 * had before (bench/baseline/fetchUpstream.ts) behind the same handler.
 */
import { generateKeyMaterial } from "../../local/keys";
import { createHandler } from "../../runtime/handler";
import { fetchUpstreamClient } from "../baseline/fetchUpstream";
import { gatewayEvent } from "./inProcess";
import { memoryDynamo } from "./memoryDynamo";

async function main(): Promise<void> {
    const upstream = process.env.UPSTREAM_URL!;
    const requests: { path: string; label: string }[] = JSON.parse(process.env.REQUESTS!);
    const tables = { rateLimits: "bench-memory-rate-limits", sessions: "bench-memory-sessions" };
    const handler = createHandler(
        {
            routes: [{ name: "big", pathPrefix: "/big", upstream, auth: "none", permissions: [] }],
            defaultRateLimit: { by: "ip", limit: 1_000_000, windowSeconds: 60, algorithm: "fixed" },
            sessionCacheSeconds: 0,
            rateLimitFailureMode: "open",
            upstreamTimeoutMs: 60_000,
            jwt: { maxLifetimeSeconds: 86_400, scopesAsPermissions: false },
            identity: { assertion: true, headers: true, issuer: "urn:tollgate:bench" },
            tables,
            region: "eu-west-1",
            logLevel: "ERROR",
            jwtSecret: undefined,
            gatewayKeys: { value: generateKeyMaterial() },
        },
        { dynamo: memoryDynamo({ sessionsTable: tables.sessions, userId: "bench" }), log: () => undefined, ...(process.env.TRANSPORT === "fetch" ? { upstream: fetchUpstreamClient() } : {}) },
    );
    // Warm: the JIT, the agent's connection, the keys.
    for (let i = 0; i < 20; i++) await handler(gatewayEvent({ path: "/big/bytes/1000", sourceIp: "198.51.100.1" }));
    const results: Record<string, { status: number; growth_mb: number }> = {};
    for (const request of requests) {
        global.gc?.();
        const baseline = process.memoryUsage().rss;
        let peak = baseline;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
        const [path, query = ""] = request.path.split("?");
        const result = await handler({ ...gatewayEvent({ path, sourceIp: "198.51.100.1" }), rawQueryString: query });
        peak = Math.max(peak, process.memoryUsage().rss);
        clearInterval(sampler);
        results[request.label] = { status: result.statusCode ?? 0, growth_mb: Math.round(((peak - baseline) / 1024 / 1024) * 10) / 10 };
    }
    process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().then(
    () => process.exit(0),
    (error) => {
        process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
        process.exit(1);
    },
);
