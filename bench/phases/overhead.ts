/**
 * 1. Gateway overhead: the local gateway (`npm start` as a child process,
 * bench/stacks/Pulumi.bench.yaml) under autocannon on a `none` route and on a
 * `session` route, and the echo upstream behind it hit directly, with the same
 * connections and duration, one after the other in the same run.
 *
 * With N connections the generator keeps N requests in flight (closed loop),
 * so req/s is each target's saturation throughput and p50/p99 include the
 * queueing at that throughput. A second, shorter run per target with one
 * connection gives the latency of one request with nothing queued before it.
 */
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createSessions } from "../../runtime/sessions";
import { loadStackConfig, projectDir } from "../../runtime/specs/stackFile";
import { physicalTableName, sessionsTable } from "../../runtime/specs/tables";
import { measureLoad, type LoadFigures } from "../support/load";
import { startEchoProcess, startLocalGateway } from "../support/processes";
import { round } from "../support/stats";

export const benchStackFile = path.join(projectDir, "bench", "stacks", "Pulumi.bench.yaml");

export interface OverheadResult {
    gateway: { none: LoadFigures; session: LoadFigures };
    direct: LoadFigures;
    overhead_ratio_p50: number;
    /** The same targets with one connection: no queueing. */
    single_connection: { gateway_none: LoadFigures; gateway_session: LoadFigures; direct: LoadFigures; overhead_ratio_p50: number };
    load: { connections: number; duration_s: number; warmup_s: number; single_connection_duration_s: number };
    /** Peak resident memory of the local gateway process (handler, emulation and embedded store) over the runs. */
    gateway_peak_rss_mb?: number;
}

export interface OverheadOptions {
    connections: number;
    durationSeconds: number;
    warmupSeconds: number;
    singleConnectionSeconds: number;
}

export async function measureOverhead(options: OverheadOptions): Promise<OverheadResult> {
    const { settings } = loadStackConfig("bench", { file: benchStackFile });
    const echo = await startEchoProcess();
    let gateway: Awaited<ReturnType<typeof startLocalGateway>> | undefined;
    try {
        gateway = await startLocalGateway({ configFile: benchStackFile, upstreams: { open: echo.url, account: echo.url } });
        const client = new DynamoDBClient({ endpoint: gateway.dynamoEndpoint, region: "eu-west-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
        const { token } = await createSessions({ dynamo: DynamoDBDocumentClient.from(client), tableName: physicalTableName(settings.prefix, sessionsTable) }).create({
            userId: "bench-user",
            roles: ["bench"],
        });
        client.destroy();

        const targets = {
            direct: { url: `${echo.url}/items/42`, headers: {} },
            none: { url: `${gateway.url}/open/items/42`, headers: {} },
            session: { url: `${gateway.url}/account/items/42`, headers: { authorization: `Bearer ${token}` } },
        };
        const run = async (target: keyof typeof targets, connections: number, duration: number) => {
            const { url, headers } = targets[target];
            // Warm first: connections open, caches and JIT warm, as in a container that has served before.
            await measureLoad({ url, headers, connections, duration: options.warmupSeconds });
            const figures = await measureLoad({ url, headers, connections, duration });
            if (figures.non2xx || figures.errors) {
                throw new Error(`${target}: ${figures.non2xx} non-2xx answers and ${figures.errors} errors under load:\n${gateway!.output().slice(-2000)}`);
            }
            return figures;
        };
        const direct = await run("direct", options.connections, options.durationSeconds);
        const none = await run("none", options.connections, options.durationSeconds);
        const session = await run("session", options.connections, options.durationSeconds);
        const single = {
            direct: await run("direct", 1, options.singleConnectionSeconds),
            gateway_none: await run("none", 1, options.singleConnectionSeconds),
            gateway_session: await run("session", 1, options.singleConnectionSeconds),
        };
        const gatewayPeakRssMb = gateway.peakRssMb();
        return {
            gateway_peak_rss_mb: gatewayPeakRssMb,
            gateway: { none, session },
            direct,
            overhead_ratio_p50: round(none.p50_ms / direct.p50_ms, 1),
            single_connection: { ...single, overhead_ratio_p50: round(single.gateway_none.p50_ms / single.direct.p50_ms, 1) },
            load: {
                connections: options.connections,
                duration_s: options.durationSeconds,
                warmup_s: options.warmupSeconds,
                single_connection_duration_s: options.singleConnectionSeconds,
            },
        };
    } finally {
        await gateway?.stop();
        await echo.stop();
    }
}
