/**
 * 3. Cold start: the real program's CallbackFunction archive (index.ts under
 * mocks with the prod stack's config) against the same function left on
 * default packaging (bench/naive/index.ts): bytes of each archive zipped,
 * and the time a fresh Node process takes to load `__index.js` (which runs
 * the factory) and answer `/health/live`, median of several runs taken in
 * turn.
 */
import * as path from "node:path";
import { fakeRegion } from "../../policies/offline/fakes";
import { runProgramIsolated, type ProgramRun } from "../../policies/offline/harness";
import { environmentNames } from "../../specs/lambda";
import { projectDir } from "../../specs/stackFile";
import { coldStart, unpackArchive, zippedBytes, type ColdStartSample, type RecordedArchive } from "../support/archive";
import { gatewayEvent } from "../support/inProcess";
import { median, round } from "../support/stats";

export interface ArchiveFigures {
    archive_bytes: number;
    unpacked_bytes: number;
    files: number;
    init_ms: number;
    load_ms: number;
    first_invoke_ms: number;
    node_boot_ms: number;
}

export interface ColdStartResult {
    archive_bytes: number;
    init_ms: number;
    naive_archive_bytes: number;
    naive_init_ms: number;
    bundled: ArchiveFigures;
    naive: ArchiveFigures;
    runs: number;
}

const naiveProgram = path.join(projectDir, "bench", "naive", "index.ts");

function functionCode(run: ProgramRun, name: string): RecordedArchive {
    const fn = run.resources.find((resource) => resource.type === "aws:lambda/function:Function" && resource.name === name);
    if (!fn) throw new Error(`no aws:lambda/function:Function named ${name} in the ${run.stack} run`);
    return fn.inputs.code;
}

/**
 * What the Gateway component sets on the Lambda; nothing is called at
 * /health/live. The container starts reading the gateway's keys at once;
 * Secrets Manager is a closed loopback port here, so that read fails at once
 * and leaves the timing alone.
 */
const lambdaEnv = {
    [environmentNames.rateLimitTable]: "tollgate-prod-rate-limits",
    [environmentNames.sessionTable]: "tollgate-prod-sessions",
    [environmentNames.region]: fakeRegion,
    [environmentNames.logLevel]: "INFO",
    [environmentNames.gatewayKeysSecretArn]: `arn:aws:secretsmanager:${fakeRegion}:123456789012:secret:tollgate-prod-gateway-keys-AbCdEf`,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: "http://127.0.0.1:9",
    AWS_REGION: fakeRegion,
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
};

export async function measureColdStart(prodRun: ProgramRun, runs: number): Promise<ColdStartResult> {
    const naiveRun = await runProgramIsolated({ program: naiveProgram, stack: "naive", config: { "aws:region": fakeRegion }, timeoutMs: 180_000 });
    if (naiveRun.error) throw new Error(`the naive program failed under mocks: ${naiveRun.error}`);
    const bundled = unpackArchive(functionCode(prodRun, "tollgate-gateway-function"));
    const naive = unpackArchive(functionCode(naiveRun, "naive-function"));
    try {
        const health = gatewayEvent({ path: "/health/live", sourceIp: "198.51.100.1" });
        const samples: { bundled: ColdStartSample[]; naive: ColdStartSample[] } = { bundled: [], naive: [] };
        for (let i = 0; i < runs; i++) {
            samples.bundled.push(coldStart(bundled.dir, lambdaEnv, health));
            samples.naive.push(coldStart(naive.dir, lambdaEnv, health));
        }
        const figures = async (archive: typeof bundled, taken: ColdStartSample[]): Promise<ArchiveFigures> => ({
            archive_bytes: await zippedBytes(archive),
            unpacked_bytes: archive.bytes,
            files: archive.files.length,
            init_ms: round(median(taken.map((s) => s.init_ms)), 1),
            load_ms: round(median(taken.map((s) => s.load_ms)), 1),
            first_invoke_ms: round(median(taken.map((s) => s.first_invoke_ms)), 1),
            node_boot_ms: round(median(taken.map((s) => s.node_boot_ms)), 1),
        });
        const bundledFigures = await figures(bundled, samples.bundled);
        const naiveFigures = await figures(naive, samples.naive);
        return {
            archive_bytes: bundledFigures.archive_bytes,
            init_ms: bundledFigures.init_ms,
            naive_archive_bytes: naiveFigures.archive_bytes,
            naive_init_ms: naiveFigures.init_ms,
            bundled: bundledFigures,
            naive: naiveFigures,
            runs,
        };
    } finally {
        bundled.remove();
        naive.remove();
    }
}
