/**
 * The offline policy check: `npm run policy -- --stack NAME [--program PATH]
 * [--policy-pack-config FILE]`.
 *
 * Runs the program (default: the project's index.ts) under runtime mocks with
 * Pulumi.NAME.yaml's config, then puts every resource it registered through
 * the tollgate pack with that stack's pack config (policies/config/NAME.json,
 * the file `pulumi preview --policy-pack-config` is given). Prints one line
 * per violation and a summary.
 *
 * Exit codes: 0 no mandatory violation; 1 at least one mandatory violation;
 * 2 the check could not run (bad arguments, unknown stack, bad config, a
 * program that fails to load).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { helpFlag, helpText, invocationOf, parseCommandLine, usageHint, UsageError, type CommandLineSpec, type FlagTable, type FlagValues } from "../data/commandLine";
import type { Evaluation, PackConfigFile, Violation } from "../policies/offline/evaluate";
import { ConfigError } from "../specs/config";
import { programEntry, projectDir, projectFile } from "../specs/stackFile";

// The pack, the evaluator and the harness load @pulumi/aws and @pulumi/pulumi
// (seconds); they are imported once the command line has been checked, so a
// mistyped flag is answered at once.

const policyFlags = {
    stack: { type: "string", value: "NAME", required: true, help: "the stack whose Pulumi.<NAME>.yaml config the program runs with" },
    program: { type: "string", value: "PATH", help: "a Pulumi TypeScript program to check: its file, or its directory (default this repository's index.ts)" },
    "policy-pack-config": { type: "string", value: "FILE", help: "the pack config (default policies/config/<NAME>.json, else the pack's defaults)" },
    help: helpFlag,
} as const satisfies FlagTable;

/** The policy check's flags, declared once: the parser, the help and every flag error come from this. */
export const policyCommandLine: CommandLineSpec = {
    name: "policy check",
    invocation: invocationOf("npm run policy --", "policy"),
    summary: "Runs the program under mocks with a stack's config and puts every resource it registers through\nthe tollgate CrossGuard pack, with the pack config the preview uses.",
    flags: policyFlags,
    epilogue: "Exit codes: 0 no mandatory violation, 1 at least one mandatory violation, 2 the check could not run.",
};

/** Where a stack's pack config lives; the CI preview passes the same file to `--policy-pack-config`. */
export function packConfigFile(stack: string): string {
    return path.join(projectDir, "policies", "config", `${stack}.json`);
}

/** The check could not run (exit 2); `showUsage` for mistakes in the command line itself. */
class CheckError extends Error {
    constructor(
        message: string,
        readonly showUsage = false,
    ) {
        super(message);
    }
}

function fail(message: string): never {
    throw new CheckError(message);
}

function badArguments(message: string): never {
    throw new CheckError(message, true);
}

function readPackConfig(file: string): PackConfigFile {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (error: any) {
        fail(`pack config ${file} cannot be read (${error.code ?? error.message})`);
    }
    try {
        return text.trim() === "" ? {} : JSON.parse(text);
    } catch (error: any) {
        fail(`pack config ${file} is not valid JSON (${error.message})`);
    }
}

/** Stack tags as the service sets them for a project, from Pulumi.yaml. */
function stackTags(dir: string): Record<string, string> {
    const project = projectFile(dir);
    const runtime = typeof project.runtime === "string" ? project.runtime : project.runtime?.name;
    const tags: Record<string, string> = { "pulumi:project": String(project.name ?? "") };
    if (runtime) tags["pulumi:runtime"] = String(runtime);
    if (project.description) tags["pulumi:description"] = String(project.description);
    return tags;
}

/** A path as the user would type it from here: relative below the working directory, absolute elsewhere. */
function relative(file: string): string {
    const below = path.relative(process.cwd(), file);
    return below && !below.startsWith("..") ? below : file;
}

function resourceColumn(violation: Violation): string {
    if (!violation.urn) return "(stack)";
    return violation.resourceName ? `${violation.resourceName} (${violation.resourceType})` : violation.urn;
}

/** The violations as aligned columns: policy, enforcement, resource, message (mandatory first). */
export function formatTable(violations: readonly Violation[]): string {
    const rank = (v: Violation) => (v.enforcementLevel === "mandatory" ? 0 : 1);
    const rows = [...violations]
        .sort((a, b) => rank(a) - rank(b) || a.policyName.localeCompare(b.policyName) || resourceColumn(a).localeCompare(resourceColumn(b)))
        .map((v) => [v.policyName, v.enforcementLevel, resourceColumn(v), v.message]);
    const header = ["POLICY", "ENFORCEMENT", "RESOURCE", "MESSAGE"];
    const widths = [0, 1, 2].map((column) => Math.max(header[column].length, ...rows.map((row) => row[column].length)));
    return [header, ...rows].map((row) => row.map((cell, column) => (column < 3 ? cell.padEnd(widths[column]) : cell)).join("  ")).join("\n");
}

export function summaryLine(stack: string, evaluation: Evaluation, seconds: number): string {
    const mandatory = evaluation.violations.filter((v) => v.enforcementLevel === "mandatory").length;
    const advisory = evaluation.violations.length - mandatory;
    const verdict = mandatory > 0 ? "FAIL" : "PASS";
    return `${verdict} stack ${stack}: ${mandatory} mandatory, ${advisory} advisory violation${advisory === 1 ? "" : "s"}; ${evaluation.policiesRun.length} policies over ${evaluation.resourceCount} resources in ${seconds.toFixed(1)}s`;
}

/** The program to evaluate: `--program`'s file or directory; default this repository's index.ts. */
function programOf(given: string | undefined): string {
    if (given === undefined) return path.join(projectDir, "index.ts");
    try {
        return programEntry(given);
    } catch (error) {
        fail(error instanceof ConfigError ? error.problems.join("; ") : String(error));
    }
}

async function main(argv: string[]): Promise<number> {
    const started = process.hrtime.bigint();
    let values: FlagValues<typeof policyFlags>;
    try {
        const parsed = parseCommandLine(policyCommandLine, argv);
        if (parsed.help) {
            process.stdout.write(helpText(policyCommandLine));
            return 0;
        }
        values = parsed.values as FlagValues<typeof policyFlags>;
    } catch (error) {
        if (error instanceof UsageError) badArguments(error.message);
        throw error;
    }
    const stack = values.stack!;
    const program = programOf(values.program);
    // A program of a project of its own (its Pulumi.yaml beside it: one that installed
    // tollgate) brings its own stack files; any other program is checked with this
    // repository's stacks, and this repository's program with their pack configs too.
    const ownProgram = path.dirname(program) === projectDir;
    const programDir = fs.existsSync(path.join(path.dirname(program), "Pulumi.yaml")) ? path.dirname(program) : projectDir;
    const configFile = values["policy-pack-config"] ? path.resolve(values["policy-pack-config"]) : packConfigFile(stack);
    const usingConfigFile = values["policy-pack-config"] !== undefined || (ownProgram && fs.existsSync(configFile));
    const packConfigText = usingConfigFile ? readPackConfig(configFile) : {};

    const { loadStackConfig } = await import("../specs/stackFile");
    let stackConfig;
    try {
        stackConfig = loadStackConfig(stack, { purpose: "deploy", dir: programDir });
    } catch (error: any) {
        fail(error.message);
    }

    const { packEnforcementLevel, tollgatePolicies } = await import("../policies/rules");
    const { evaluatePolicies, resolvePackConfig } = await import("../policies/offline/evaluate");
    const { runProgramIsolated } = await import("../policies/offline/harness");
    let packConfig;
    try {
        packConfig = resolvePackConfig(tollgatePolicies, packEnforcementLevel, packConfigText);
    } catch (error: any) {
        if (error instanceof CheckError) throw error;
        fail(`pack config ${usingConfigFile ? relative(configFile) : "(defaults)"}: ${error.message}`);
    }

    const run = await runProgramIsolated({ program, project: projectFile(programDir).name, stack, config: stackConfig.pulumiConfig, secretKeys: stackConfig.secureKeys });
    if (run.error) fail(`program ${relative(program)} failed to load for stack ${stack}:\n${run.error}`);

    const evaluation = await evaluatePolicies(run.resources, { policies: tollgatePolicies, packEnforcementLevel, config: packConfig, stackTags: stackTags(programDir) });
    console.log(`tollgate policy check: program ${relative(program)}, stack ${stack}, pack config ${usingConfigFile ? relative(configFile) : "(pack defaults)"}`);
    if (evaluation.violations.length > 0) console.log(formatTable(evaluation.violations));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(summaryLine(stack, evaluation, seconds));
    return evaluation.violations.some((v) => v.enforcementLevel === "mandatory") ? 1 : 0;
}

/** Runs the check in this process with these arguments and exits with its code. */
export function runPolicyCommand(argv: string[]): void {
    main(argv).then(
        (code) => process.exit(code),
        (error) => {
            if (error instanceof CheckError) {
                console.error(`policy check: ${error.message}`);
                if (error.showUsage) console.error(usageHint(policyCommandLine));
            } else {
                console.error(`policy check: could not run: ${error?.stack ?? error}`);
            }
            process.exit(2);
        },
    );
}

if (require.main === module) runPolicyCommand(process.argv.slice(2));
