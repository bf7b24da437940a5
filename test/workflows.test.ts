/**
 * The CI workflows, checked before GitHub sees them: every
 * `.github/workflows/*.yml` parsed by @actions/workflow-parser, the parser
 * behind GitHub's Actions language server (its schema, and the reusable
 * workflow each job `uses`), and the stacks they run on taken from the
 * Pulumi.<stack>.yaml files through `.ci/stacks`, never written by name, so a
 * new stack is checked, previewed and deployed once its files exist.
 */
import { strict as assert } from "node:assert";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { projectDir } from "../specs/stackFile";
import { projectCopy } from "./support/projectCopy";

const workflowsDir = path.join(projectDir, ".github", "workflows");
const workflowFiles = fs
    .readdirSync(workflowsDir)
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => `.github/workflows/${name}`);

/** `{ file: [error, ...] }` from GitHub's workflow parser, for `files` under `root` (test/support/parseWorkflows.mjs). */
function parseWithGitHubParser(root: string, files: string[]): Promise<Record<string, string[]>> {
    return new Promise((resolve, reject) => {
        execFile(process.execPath, [path.join(projectDir, "test", "support", "parseWorkflows.mjs"), root, ...files], { cwd: projectDir, timeout: 60_000 }, (error, stdout, stderr) => {
            if (error) reject(new Error(`the workflow parser failed: ${error.message}\n${stderr}`));
            else resolve(JSON.parse(stdout));
        });
    });
}

/** A copy of the workflows in a directory of its own, `edit` applied to one of them. */
function workflowsWith(file: string, edit: (text: string) => string): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-workflows-"));
    fs.mkdirSync(path.join(root, ".github", "workflows"), { recursive: true });
    for (const name of workflowFiles) fs.copyFileSync(path.join(projectDir, name), path.join(root, name));
    const target = path.join(root, file);
    const edited = edit(fs.readFileSync(target, "utf8"));
    assert.notEqual(edited, fs.readFileSync(target, "utf8"), "the edit changed nothing");
    fs.writeFileSync(target, edited);
    return root;
}

function workflow(file: string): any {
    return parseYaml(fs.readFileSync(path.join(projectDir, file), "utf8"));
}

describe("CI workflows: GitHub's own parser", function () {
    this.timeout(120_000);

    it("parses every workflow, and the workflows they call, with no errors", async () => {
        assert.deepEqual(workflowFiles.sort(), [".github/workflows/checks.yml", ".github/workflows/deploy.yml", ".github/workflows/pull-request.yml"]);
        const errors = await parseWithGitHubParser(projectDir, workflowFiles);
        assert.deepEqual(errors, Object.fromEntries(workflowFiles.map((file) => [file, []])));
    });

    it("catches a misspelled key, naming it and its line", async () => {
        // given checks.yml with `runs-on` of its tests job written `runs_on`
        const root = workflowsWith(".github/workflows/checks.yml", (text) => text.replace("  checks:\n    name: tests\n    runs-on:", "  checks:\n    name: tests\n    runs_on:"));
        try {
            // when it is parsed
            const errors = (await parseWithGitHubParser(root, [".github/workflows/checks.yml"]))[".github/workflows/checks.yml"];
            // then the parser says so
            assert.ok(errors.some((error) => /\(Line: \d+, Col: \d+\): Unexpected value 'runs_on'/.test(error)), errors.join("\n"));
            assert.ok(errors.some((error) => /Required property is missing: runs-on/.test(error)), errors.join("\n"));
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });

    it("catches a misspelled key in a called workflow from the workflow that calls it", async () => {
        const root = workflowsWith(".github/workflows/checks.yml", (text) => text.replace("\n  workflow_call:\n", "\n  workflow_cal:\n"));
        try {
            const errors = (await parseWithGitHubParser(root, [".github/workflows/deploy.yml"]))[".github/workflows/deploy.yml"];
            assert.ok(errors.some((error) => /checks\.yml \(Line: \d+, Col: \d+\): Unexpected value 'workflow_cal'/.test(error)), errors.join("\n"));
            assert.ok(errors.some((error) => /workflow_call key is not defined in the referenced workflow/.test(error)), errors.join("\n"));
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });

    it("reads only outputs of a called workflow that it declares", () => {
        // The parser leaves expressions to the language server; the outputs of checks.yml are few enough to check here.
        const declared = Object.keys(workflow(".github/workflows/checks.yml").on.workflow_call.outputs);
        for (const file of workflowFiles) {
            const text = fs.readFileSync(path.join(projectDir, file), "utf8");
            for (const [, output] of text.matchAll(/needs\.checks\.outputs\.([\w-]+)/g)) assert.ok(declared.includes(output), `${file} reads needs.checks.outputs.${output}; checks.yml declares ${declared.join(", ")}`);
        }
    });
});

describe("CI workflows: the stacks come from the Pulumi.<stack>.yaml files", function () {
    this.timeout(120_000);

    /** `.ci/stacks` run in `dir`: its outputs by name, or its exit code and message. */
    function listStacks(dir: string): { code: number | null; outputs: Record<string, string[]>; stderr: string } {
        const run = spawnSync("bash", [path.join(dir, ".ci", "stacks")], { cwd: os.tmpdir(), encoding: "utf8" });
        const outputs = Object.fromEntries(
            run.stdout
                .split("\n")
                .filter(Boolean)
                .map((line) => [line.slice(0, line.indexOf("=")), JSON.parse(line.slice(line.indexOf("=") + 1))]),
        );
        return { code: run.status, outputs, stderr: run.stderr };
    }

    it("lists every stack, and every stack but prod as the ones deployed before it", () => {
        const listed = listStacks(projectDir);
        assert.equal(listed.code, 0, listed.stderr);
        const stacks = fs.readdirSync(projectDir).flatMap((name) => /^Pulumi\.(.+)\.yaml$/.exec(name)?.[1] ?? []);
        assert.deepEqual(listed.outputs, { all: stacks.sort(), "before-prod": stacks.filter((stack) => stack !== "prod").sort() });
    });

    it("takes in a new stack with its pack config, and refuses one without, naming the file", () => {
        const copy = projectCopy("tollgate-stacks-");
        try {
            // given a new stack file and its pack config
            fs.copyFileSync(path.join(copy, "Pulumi.dev.yaml"), path.join(copy, "Pulumi.staging.yaml"));
            fs.writeFileSync(path.join(copy, "policies", "config", "staging.json"), "{}\n");
            // then it is checked and previewed, and deployed before prod
            const listed = listStacks(copy);
            assert.equal(listed.code, 0, listed.stderr);
            assert.deepEqual(listed.outputs, { all: ["dev", "prod", "staging"], "before-prod": ["dev", "staging"] });
            // and without its pack config the list fails, saying what to add
            fs.rmSync(path.join(copy, "policies", "config", "staging.json"));
            const refused = listStacks(copy);
            assert.equal(refused.code, 1);
            assert.match(refused.stderr, /^Pulumi\.staging\.yaml: stack staging has no pack config; add policies\/config\/staging\.json/);
            assert.deepEqual(refused.outputs, {}, "no stack list is handed on");
        } finally {
            fs.rmSync(copy, { recursive: true, force: true });
        }
    });

    it("runs the policy check and the preview on every listed stack, and deploys prod after every other stack", () => {
        const checks = workflow(".github/workflows/checks.yml");
        const pullRequest = workflow(".github/workflows/pull-request.yml");
        const deploy = workflow(".github/workflows/deploy.yml");
        // the list: .ci/stacks, passed on as checks.yml's outputs
        assert.match(checks.jobs.stacks.steps.map((step: { run?: string }) => step.run ?? "").join("\n"), /^bash \.ci\/stacks >> "\$GITHUB_OUTPUT"$/m);
        assert.deepEqual(checks.on.workflow_call.outputs.stacks.value, "${{ jobs.stacks.outputs.all }}");
        assert.deepEqual(checks.on.workflow_call.outputs["stacks-before-prod"].value, "${{ jobs.stacks.outputs.before-prod }}");
        // every stack: the offline check with its pack config (npm run policy reads policies/config/<stack>.json), the preview with it
        assert.equal(checks.jobs.policy.strategy.matrix.stack, "${{ fromJSON(needs.stacks.outputs.all) }}");
        assert.equal(pullRequest.jobs.preview.strategy.matrix.stack, "${{ fromJSON(needs.checks.outputs.stacks) }}");
        const preview = pullRequest.jobs.preview.steps.find((step: { uses?: string }) => step.uses?.startsWith("pulumi/actions@")).with;
        assert.deepEqual([preview["stack-name"], preview.policyPackConfigs], ["${{ matrix.stack }}", "policies/config/${{ matrix.stack }}.json"]);
        // deploy: every stack but prod, each in its environment, then prod behind its own
        assert.equal(deploy.jobs["before-prod"].strategy.matrix.stack, "${{ fromJSON(needs.checks.outputs.stacks-before-prod) }}");
        assert.equal(deploy.jobs["before-prod"].environment.name, "${{ matrix.stack }}");
        const up = deploy.jobs["before-prod"].steps.find((step: { uses?: string }) => step.uses?.startsWith("pulumi/actions@")).with;
        assert.deepEqual([up.command, up["stack-name"], up.policyPackConfigs], ["up", "${{ matrix.stack }}", "policies/config/${{ matrix.stack }}.json"]);
        assert.equal(deploy.jobs.prod.needs, "before-prod");
        assert.equal(deploy.jobs.prod.environment.name, "prod");
        // and no stack is named anywhere else
        for (const file of workflowFiles) {
            const text = fs.readFileSync(path.join(projectDir, file), "utf8");
            assert.doesNotMatch(text, /--stack (dev|prod)\b|stack-name: dev\b|config\/dev\.json/, file);
        }
    });
});
