/**
 * `npm run bench`: what a request through tollgate costs, how fast it is,
 * and how the limiter holds, measured side by side in one run on loopback.
 * Prints a table and writes bench/results/latest.json (the figures' keys,
 * nested by their dots, plus the details behind each figure).
 *
 * Bounded: every load phase has a fixed duration or request count, and a
 * watchdog ends the run (and every process it started) after five minutes.
 *
 * Flags: --quick shortens the load phases (for a smoke run); --out FILE
 * writes the JSON elsewhere.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { projectDir } from "../specs/stackFile";
import { prices } from "./prices";
import { measureAccuracy } from "./phases/accuracy";
import { measureColdStart } from "./phases/coldStart";
import { measureCommands } from "./phases/commands";
import { costModel } from "./phases/cost";
import { measureDynamoOps } from "./phases/dynamoOps";
import { measureHandlerCpu } from "./phases/handlerCpu";
import { measureBoundary } from "./phases/boundary";
import { measureOverhead } from "./phases/overhead";
import { evaluateStack } from "./phases/program";
import { formatTable } from "./table";

const budgetMs = 5 * 60_000;

async function main(argv: string[]): Promise<number> {
    const { values } = parseArgs({ args: argv, options: { quick: { type: "boolean" }, out: { type: "string" } }, strict: true });
    const quick = values.quick ?? false;
    const outFile = path.resolve(values.out ?? path.join(projectDir, "bench", "results", "latest.json"));
    // The program runs and the naive archive's paths are relative to the project.
    process.chdir(projectDir);
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

    const started = Date.now();
    const phase = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
        process.stderr.write(`bench: ${name}...`);
        const at = Date.now();
        const result = await work();
        process.stderr.write(` ${((Date.now() - at) / 1000).toFixed(1)} s\n`);
        return result;
    };

    const dev = await phase("program under mocks, dev", () => evaluateStack("dev"));
    const prod = await phase("program under mocks, prod", () => evaluateStack("prod"));
    const cold = await phase("cold start, bundled and naive archives", () => measureColdStart(prod.run, quick ? 3 : 7));
    const ddb = await phase("DynamoDB operations per request", () => measureDynamoOps());
    const cost = costModel(ddb);
    const cpu = await phase("handler CPU, DynamoDB answered in memory", () => measureHandlerCpu(quick ? { rounds: 5, requestsPerRound: 300 } : { rounds: 15, requestsPerRound: 600 }));
    const boundary = await phase("assertion signing and upstream body memory", () => measureBoundary(quick ? { rounds: 3, signsPerRound: 500 } : { rounds: 5, signsPerRound: 2000 }));
    const accuracy = await phase("limiter accuracy", () => measureAccuracy());
    const overhead = await phase("gateway overhead under autocannon", () =>
        measureOverhead(quick ? { connections: 10, durationSeconds: 3, warmupSeconds: 1, singleConnectionSeconds: 2 } : { connections: 10, durationSeconds: 10, warmupSeconds: 3, singleConnectionSeconds: 5 }),
    );

    const commands = await phase("command start-up", () => measureCommands(quick ? 1 : 3));

    const results = {
        gateway: { none: overhead.gateway.none, session: overhead.gateway.session },
        direct: overhead.direct,
        overhead_ratio_p50: overhead.overhead_ratio_p50,
        ddb: {
            anonymous: ddb.anonymous,
            session_nocache: ddb.session_nocache,
            session_cache10: ddb.session_cache10,
            flood: ddb.flood,
            login: ddb.login,
            logout: ddb.logout,
            logout_all: ddb.logout_all,
            renewed: ddb.renewed,
        },
        cold,
        accuracy,
        cost,
        program: { dev_ms: dev.elapsedMs, prod_ms: prod.elapsedMs, dev_wall_ms: dev.wallMs, prod_wall_ms: prod.wallMs },
        commands,
        details: {
            overhead: { single_connection: overhead.single_connection, load: overhead.load, gateway_peak_rss_mb: overhead.gateway_peak_rss_mb },
            handler: { ...cpu, ...ddb.handler },
            boundary,
            ddb_workload: ddb.workload,
            prices,
        },
        run: {
            at: new Date(started).toISOString(),
            duration_s: Math.round((Date.now() - started) / 100) / 10,
            quick,
            node: process.version,
            cpus: os.cpus().length,
            load_average_1m: Math.round(os.loadavg()[0] * 100) / 100,
        },
    };
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    fs.writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${formatTable(results)}\nwritten to ${path.relative(process.cwd(), outFile)}\n`);
    return 0;
}

if (require.main === module) {
    const watchdog = setTimeout(() => {
        process.stderr.write(`\nbench: still running after ${budgetMs / 60_000} minutes; stopped\n`);
        process.exit(1);
    }, budgetMs);
    main(process.argv.slice(2)).then(
        (code) => {
            clearTimeout(watchdog);
            process.exit(code);
        },
        (error) => {
            process.stderr.write(`\nbench: ${(error as Error)?.stack ?? String(error)}\n`);
            process.exit(1);
        },
    );
}
