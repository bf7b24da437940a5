/** The benchmark's results as a plain-text table: figure, value, and what it is. */

type Row = [figure: string, value: string, note: string];

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
const usd = (value: number) => `$${value.toFixed(2)}`;
const kib = (bytes: number) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function formatTable(r: any): string {
    const load = r.details.overhead.load;
    const single = r.details.overhead.single_connection;
    const rows: Row[] = [
        ["gateway.none", `${r.gateway.none.rps} req/s, p50 ${ms(r.gateway.none.p50_ms)}, p99 ${ms(r.gateway.none.p99_ms)}`, `npm start, auth none, ${load.connections} connections, ${load.duration_s} s`],
        ["gateway.session", `${r.gateway.session.rps} req/s, p50 ${ms(r.gateway.session.p50_ms)}, p99 ${ms(r.gateway.session.p99_ms)}`, "npm start, session token, same load"],
        ["direct", `${r.direct.rps} req/s, p50 ${ms(r.direct.p50_ms)}, p99 ${ms(r.direct.p99_ms)}`, "the echo upstream without the gateway"],
        ["overhead_ratio_p50", `${r.overhead_ratio_p50}x`, `gateway none p50 / direct p50; one connection: ${single.overhead_ratio_p50}x (${ms(single.gateway_none.p50_ms)} vs ${ms(single.direct.p50_ms)})`],
        ["ddb.anonymous", `${r.ddb.anonymous.writes_per_req} writes, ${r.ddb.anonymous.reads_per_req} reads /req`, "prod products route (sliding, by ip)"],
        ["ddb.session_nocache", `${r.ddb.session_nocache.writes_per_req} writes, ${r.ddb.session_nocache.reads_per_req} reads /req`, "prod users route, sessionCacheSeconds 0"],
        ["ddb.session_cache10", `${r.ddb.session_cache10.writes_per_req} writes, ${r.ddb.session_cache10.reads_per_req} reads /req`, "sessionCacheSeconds 10 (prod)"],
        ["ddb.flood.ops_per_refused", `${r.ddb.flood.ops_per_refused}`, `${r.ddb.flood.operations} operations for ${r.ddb.flood.refused} refusals, ${r.ddb.flood.concurrency} in flight`],
        ["ddb.login", `${r.ddb.login.writes_per_req} writes, ${r.ddb.login.reads_per_req} reads /login`, "issuing route: its counter and the new session"],
        ["ddb.logout", `${r.ddb.logout.writes_per_req} writes, ${r.ddb.logout.reads_per_req} reads /logout`, "{revoke: current}: session read, counter, delete (prod session cache)"],
        ["ddb.logout_all", `${r.ddb.logout_all.writes_per_req} writes, ${r.ddb.logout_all.reads_per_req} reads /logout`, `{revoke: all} for a user with ${r.ddb.logout_all.sessions_per_user} sessions`],
        ["ddb.renewed", `${r.ddb.renewed.writes_per_req} writes, ${r.ddb.renewed.reads_per_req} reads /req`, "a request whose session is due for renewal (prod users route)"],
        ["cold.archive_bytes", `${r.cold.archive_bytes} (${kib(r.cold.archive_bytes)})`, `bundled: ${r.cold.bundled.files} files zipped`],
        ["cold.init_ms", ms(r.cold.init_ms), `load __index.js + factory + /health/live, median of ${r.cold.runs}`],
        ["cold.naive_archive_bytes", `${r.cold.naive_archive_bytes} (${kib(r.cold.naive_archive_bytes)})`, `default packaging: ${r.cold.naive.files} files`],
        ["cold.naive_init_ms", ms(r.cold.naive_init_ms), "same measure, default packaging"],
        ["accuracy.fixed.max_ratio", `${r.accuracy.fixed.max_ratio}`, `most admitted in any ${r.accuracy.policy.window_s} s / limit ${r.accuracy.policy.limit} (steady ${r.accuracy.fixed.steady.max_ratio}, bursty ${r.accuracy.fixed.bursty.max_ratio})`],
        ["accuracy.sliding.max_ratio", `${r.accuracy.sliding.max_ratio}`, `(steady ${r.accuracy.sliding.steady.max_ratio}, bursty ${r.accuracy.sliding.bursty.max_ratio})`],
        ["cost.usd_per_million", usd(r.cost.usd_per_million), `prod stack, ${r.cost.inputs.memory_mb} MB ${r.cost.inputs.architecture}, ${r.cost.inputs.prices.region} prices of ${r.cost.inputs.prices.as_of}; seed estimate $${r.cost.seed_estimate_usd_per_million.low}-${r.cost.seed_estimate_usd_per_million.high}`],
        ["  with all logs", usd(r.cost.usd_per_million_all_logs), "every byte of every log group, each at its class's price"],
        ...Object.entries(r.cost.logs_by_group).map(([name, group]: [string, any]): Row => [
            `    logs.${name}`,
            `${group.bytes_per_req} B/req, $${group.usd_per_million.toFixed(3)}`,
            `${group.group} (${group.class}, $${group.usd_per_gb}/GB, ${group.source})`,
        ]),
        ["  per 10 ms upstream", usd(r.cost.per_10ms_upstream_usd_per_million), "Lambda duration added by each 10 ms spent waiting on the upstream"],
        [
            "details.handler.cpu_us_per_req",
            `${r.details.handler.cpu_us_per_req} µs`,
            `DynamoDB and the upstream answered in memory; minimal one-UpdateItem gateway ${r.details.handler.baseline_cpu_us_per_req} µs (${r.details.handler.cpu_ratio}x)`,
        ],
        [
            "  by workload, assertion on",
            `anonymous ${r.details.handler.by_workload_cpu_us_per_req.anonymous} µs (${r.details.handler.by_workload_ratio.anonymous}x), session ${r.details.handler.by_workload_cpu_us_per_req.session_cache10} µs (${r.details.handler.by_workload_ratio.session_cache10}x)`,
            "each workload's CPU over the minimal gateway's, round by round",
        ],
        [
            "  minimal gateway, logging",
            `${r.details.handler.baseline_logging_cpu_us_per_req} µs`,
            `the same floor writing one log line per request as tollgate does: anonymous ${r.details.handler.by_workload_ratio_to_logging_baseline.anonymous}x, session ${r.details.handler.by_workload_ratio_to_logging_baseline.session_cache10}x of it`,
        ],
        [
            "  minimal gateway, tollgate's store client",
            `${r.details.handler.baseline_store_client_cpu_us_per_req} µs`,
            `the same floor calling DynamoDB through runtime/awsClient.ts instead of the SDK's client: anonymous ${r.details.handler.by_workload_ratio_to_store_client_baseline.anonymous}x, session ${r.details.handler.by_workload_ratio_to_store_client_baseline.session_cache10}x of it`,
        ],
        [
            "  in the runtime",
            `minimal gateway ${r.details.handler.in_runtime.baseline_cpu_us_per_req} µs; anonymous ${r.details.handler.in_runtime.by_workload_cpu_us_per_req.anonymous} µs (${r.details.handler.in_runtime.by_workload_ratio.anonymous}x), session ${r.details.handler.in_runtime.by_workload_cpu_us_per_req.session_cache10} µs (${r.details.handler.in_runtime.by_workload_ratio.session_cache10}x)`,
            "each invocation between a write for the Runtime API's next event and one for its answer, as Lambda's runtime makes them",
        ],
        [
            "details.handler.assertion_cpu_us_per_req",
            `${r.details.handler.assertion_cpu_us_per_req} µs`,
            `what x-gateway-assertion adds to an anonymous request, reused as deployed (${r.details.handler.by_workload_cpu_us_per_req.anonymous_without_assertion} µs without it; signed for every request: ${r.details.handler.assertion_signed_every_request_cpu_us_per_req} µs)`,
        ],
        [
            "details.handler.proxy",
            `${r.details.handler.proxy.node_http_cpu_us_per_req} µs (node:http) vs ${r.details.handler.proxy.fetch_cpu_us_per_req} µs (fetch)`,
            `anonymous requests, the same handler with each transport: ${r.details.handler.proxy.change_pct} %`,
        ],
        [
            "details.boundary.assertion",
            `${r.details.boundary.assertion.sign_us} µs per signature`,
            `ES256 through node:crypto, prepared key and header; jose SignJWT: ${r.details.boundary.assertion.jose_sign_us} µs`,
        ],
        [
            "details.boundary.upstream_memory",
            `${r.details.boundary.upstream_memory.at_limit_mb} MB at the limit`,
            `resident growth proxying a ${(r.details.boundary.upstream_memory.limit_bytes / 1e6).toFixed(1)} MB body; 400 MB: ${r.details.boundary.upstream_memory.over_limit_400mb_content_length_mb} MB (Content-Length), ${r.details.boundary.upstream_memory.over_limit_400mb_chunked_mb} MB (chunked); fetch, 40 MB: ${r.details.boundary.upstream_memory.before_fetch_40mb_mb} MB`,
        ],
        ["program.dev_ms", ms(r.program.dev_ms), `index.ts under mocks (wall ${ms(r.program.dev_wall_ms)} with the process)`],
        ["program.prod_ms", ms(r.program.prod_ms), `(wall ${ms(r.program.prod_wall_ms)})`],
        ["commands.*_help_ms", `start ${r.commands.start_help_ms}, sessions ${r.commands.sessions_help_ms}, data ${r.commands.data_help_ms}, policy ${r.commands.policy_help_ms} ms`, `npm run --silent <command> -- --help, prompt to exit, median of ${r.commands.runs} (sessions through ts-node: ${r.commands.ts_node_sessions_help_ms} ms)`],
        ["commands.sessions_create_local_ms", `${r.commands.sessions_create_local_ms} ms`, "npm run --silent sessions -- create --local against a running npm start"],
    ];
    if (r.details.overhead.gateway_peak_rss_mb !== undefined) rows.push(["gateway peak RSS", `${r.details.overhead.gateway_peak_rss_mb} MB`, "local gateway process, embedded store included"]);
    const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column].length)));
    const line = (row: Row) => `${row[0].padEnd(widths[0])}  ${row[1].padEnd(widths[1])}  ${row[2]}`;
    const title = `tollgate bench, ${r.run.at} (${r.run.cpus} CPUs, load average ${r.run.load_average_1m}, ${r.run.duration_s} s)`;
    return [title, "", ...rows.map(line)].join("\n");
}
