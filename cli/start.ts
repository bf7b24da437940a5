/**
 * `tollgate start`: the local gateway (local/), and what it cannot do alone:
 * `--program DIR` evaluates a Pulumi program under the runtime mocks (as
 * `tollgate policy --program` does), takes the args its Tollgate was given,
 * and serves that gateway as `npm start` serves a stack file's. An upstream
 * that resolves only at deploy (another resource's output) reads as a stand-in
 * here, and becomes an echo server like every upstream not on this machine.
 */
import * as path from "node:path";
import { UsageError } from "../data/commandLine";
import type { LocalOptions } from "../local/options";
import { runStartCommand as startLocalGateway } from "../local/main";
import { localViewsKey, type LocalView } from "../specs/args";
import { ConfigError, resolveSettings } from "../specs/config";
import { programEntry, projectFile, readStackConfig, type StackConfig } from "../specs/stackFile";

/** The stack `tollgate start --program` serves: the program's Tollgate, its args read as a stack file's keys are. */
export async function programStack(options: LocalOptions): Promise<StackConfig> {
    const program = programEntry(options.program!);
    const dir = path.dirname(program);
    const raw = readStackConfig(options.stack, { dir, optional: true });
    // Loaded here: the harness brings in @pulumi/pulumi, which a plain start does without.
    const { runProgramIsolated } = await import("../policies/offline/harness");
    const run = await runProgramIsolated({
        program,
        project: projectFile(dir).name,
        stack: options.stack,
        config: raw.pulumiConfig,
        secretKeys: raw.secureKeys,
        collect: localViewsKey,
        timeoutMs: 180_000,
    });
    if (run.error) throw new ConfigError([`program ${options.program} failed under mocks for stack ${options.stack}:\n${run.error}`]);
    const views = (run.collected as LocalView[] | undefined) ?? [];
    const names = views.map((view) => `'${view.name}'`).join(", ");
    if (views.length === 0) throw new ConfigError([`program ${options.program} creates no Tollgate`]);
    const view = options.gateway === undefined ? (views.length === 1 ? views[0] : undefined) : views.find((candidate) => candidate.name === options.gateway);
    if (!view) {
        throw new UsageError(
            options.gateway === undefined ? `--gateway: the program creates ${views.length} Tollgates (${names}); name the one to run` : `--gateway: the program creates no Tollgate '${options.gateway}' (it creates ${names})`,
        );
    }
    const region = view.region ?? raw.pulumiConfig["aws:region"];
    const settings = resolveSettings(view.args, { region, purpose: "local", keys: "args" });
    return { ...raw, file: program, settings, region };
}

/** `tollgate start` with these arguments, in this process. */
export function runStartCommand(argv: string[]): void {
    startLocalGateway(argv, { programStack });
}
