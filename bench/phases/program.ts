/**
 * 6. The program under mocks: index.ts evaluated for each shipped stack with
 * that stack's config (policies/offline/harness.ts), the harness's own
 * `elapsedMs` (the program's evaluation) and the wall time of the whole run
 * (a fresh process, ts-node, the SDK, the bundle).
 */
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { runProgramIsolated, type ProgramRun } from "../../policies/offline/harness";
import { loadStackConfig, projectDir } from "../../specs/stackFile";
import { round } from "../support/stats";

export const programEntry = path.join(projectDir, "index.ts");

export interface StackEvaluation {
    run: ProgramRun;
    elapsedMs: number;
    wallMs: number;
}

export async function evaluateStack(stack: string): Promise<StackEvaluation> {
    const started = performance.now();
    const run = await runProgramIsolated({ program: programEntry, stack, config: loadStackConfig(stack).pulumiConfig, timeoutMs: 180_000 });
    const wallMs = performance.now() - started;
    if (run.error) throw new Error(`the ${stack} stack failed under mocks: ${run.error}`);
    return { run, elapsedMs: round(run.elapsedMs, 1), wallMs: round(wallMs, 1) };
}
