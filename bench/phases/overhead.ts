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
 *
 * Whichever target runs first after start-up runs slower (the gateway's
 * store and JIT are still warming), so both gateway routes are warmed first,
 * and each target's time is split in two rounds taken in opposite orders
 * (direct, none, session; then session, none, direct) and combined.
 */
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createSessions } from "../../runtime/sessions";
import { loadStackConfig, projectDir } from "../../specs/stackFile";
import { physicalTableName, sessionsTable } from "../../specs/tables";
import { figuresOf, measureLoad, runLoad, type LoadFigures, type LoadRun } from "../support/load";
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
        const { token } = await createSessions({ dynamo: client, tableName: physicalTableName(settings.prefix, sessionsTable) }).create({
            userId: "bench-user",
            roles: ["bench"],
        });
        client.destroy();

        const targets = {
            direct: { url: `${echo.url}/items/42`, headers: {} },
            none: { url: `${gateway.url}/open/items/42`, headers: {} },
            session: { url: `${gateway.url}/account/items/42`, headers: { authorization: `Bearer ${token}` } },
        };
        type Target = keyof typeof targets;
        const check = (target: Target, figures: LoadFigures) => {
            if (figures.non2xx || figures.errors) {
                throw new Error(`${target}: ${figures.non2xx} non-2xx answers and ${figures.errors} errors under load:\n${gateway!.output().slice(-2000)}`);
            }
            return figures;
        };
        const load = (target: Target, connections: number, duration: number) => runLoad({ url: targets[target].url, headers: targets[target].headers, connections, duration });

        for (const target of ["none", "session"] as const) await load(target, options.connections, options.warmupSeconds);
        const rounds: Record<Target, LoadRun[]> = { direct: [], none: [], session: [] };
        const half = options.durationSeconds / 2;
        for (const order of [["direct", "none", "session"], ["session", "none", "direct"]] as const) {
            for (const target of order) rounds[target].push(await load(target, options.connections, half));
        }
        const direct = check("direct", figuresOf(rounds.direct));
        const none = check("none", figuresOf(rounds.none));
        const session = check("session", figuresOf(rounds.session));
        const single = {
            direct: check("direct", await measureLoad({ ...targets.direct, connections: 1, duration: options.singleConnectionSeconds })),
            gateway_none: check("none", await measureLoad({ ...targets.none, connections: 1, duration: options.singleConnectionSeconds })),
            gateway_session: check("session", await measureLoad({ ...targets.session, connections: 1, duration: options.singleConnectionSeconds })),
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
