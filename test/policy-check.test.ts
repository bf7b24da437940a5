/**
 * `npm run policy -- --stack NAME [--program PATH]` as a user runs it: both
 * shipped stacks pass, printing what docs/deploying.md shows; a deliberately
 * bad program fails naming every policy; a violation on tollgate's own
 * resources names the config key to change; and a check that cannot run
 * (a bad command line, a stack config the program would refuse) says why and
 * exits 2.
 */
import { strict as assert } from "node:assert";
import * as child_process from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { evaluatePolicies } from "../policies/offline/evaluate";
import { packEnforcementLevel, tollgatePolicies } from "../policies/rules";
import { runStack } from "./support/program";
import { projectCopy } from "./support/projectCopy";

const projectDir = path.resolve(__dirname, "..");

interface CheckResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

function check(...args: string[]): Promise<CheckResult> {
    return checkIn(projectDir, ...args);
}

/** `npm run -s policy -- ARGS` in a project directory (this one, or a copy with stack files of a test's own). */
function checkIn(dir: string, ...args: string[]): Promise<CheckResult> {
    return new Promise((resolve, reject) => {
        const npm = process.platform === "win32" ? "npm.cmd" : "npm";
        child_process.execFile(npm, ["run", "-s", "policy", "--", ...args], { cwd: dir, timeout: 120_000 }, (error, stdout, stderr) => {
            if (error && typeof error.code !== "number") return reject(error);
            resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
        });
    });
}

/** The dev stack's check, run once for the tests that read its output. */
let devCheck: Promise<CheckResult> | undefined;
const checkDev = () => (devCheck ??= check("--stack", "dev"));

/** The summary line with its time (which varies by machine) written as docs/deploying.md writes it. */
const withoutTime = (line: string) => line.replace(/ in [\d.]+s$/, " in …s");

/** The sample output in docs/deploying.md's offline check section: the fenced block that starts with the check's first line. */
function documentedDevOutput(): string[] {
    const page = fs.readFileSync(path.join(projectDir, "docs", "deploying.md"), "utf8");
    const sample = /^```\n(tollgate policy check: [\s\S]*?)^```$/m.exec(page);
    assert.ok(sample, "docs/deploying.md has no sample output of npm run policy");
    return sample[1].trimEnd().split("\n");
}

/** Writes `Pulumi.<stack>.yaml` into a project copy: the dev stack's config with `edit` applied to it, as a user would edit the file. */
function writeStack(dir: string, stack: string, edit: (config: Record<string, any>) => void): void {
    const document = parseYaml(fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8"));
    edit(document.config);
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stringifyYaml(document));
}

/** The rows of the violation table: policy, enforcement and resource columns. */
function rows(stdout: string): { policy: string; enforcement: string; resource: string }[] {
    return stdout
        .split("\n")
        .map((line) => /^(\S+)\s+(mandatory|advisory)\s+(\S+)/.exec(line))
        .filter((match): match is RegExpExecArray => match !== null)
        .map(([, policy, enforcement, resource]) => ({ policy, enforcement, resource }));
}

describe("npm run policy", function () {
    for (const [column, stack] of ["dev", "prod"].entries()) {
        it(`passes the ${stack} stack with no mandatory violation, over as many resources as docs/deploying.md says it has`, async () => {
            const result = await check("--stack", stack);
            assert.equal(result.code, 0, result.stdout + result.stderr);
            const summary = new RegExp(`^PASS stack ${stack}: 0 mandatory, \\d+ advisory violations?; ${tollgatePolicies.length} policies over (\\d+) resources in [\\d.]+s$`, "m").exec(result.stdout);
            assert.ok(summary, result.stdout);
            const page = fs.readFileSync(path.join(projectDir, "docs", "deploying.md"), "utf8");
            const documented = /^\| resources \(as `npm run policy` counts them[^|]*\| (\d+) \| (\d+) \|$/m.exec(page);
            assert.ok(documented, "docs/deploying.md's table of the shipped stacks has no resources row");
            assert.equal(documented[1 + column], summary[1], `docs/deploying.md gives the ${stack} stack ${documented[1 + column]} resources`);
            assert.match(result.stdout, new RegExp(`pack config policies/config/${stack}\\.json`));
            assert.ok(rows(result.stdout).every((row) => row.enforcement === "advisory"));
        });
    }

    it("prints for the dev stack exactly the sample in docs/deploying.md, the time apart", async () => {
        const result = await checkDev();
        assert.equal(result.code, 0, result.stdout + result.stderr);
        // The whole block: the header, each advisory row, the resource count in the summary.
        assert.deepEqual(result.stdout.trimEnd().split("\n").map(withoutTime), documentedDevOutput());
    });

    it("names the config key a user edits, not only the provider argument, for tollgate's own resources", async () => {
        // given the dev stack, whose tables have no deletion protection (an advisory)
        const result = await checkDev();
        // then each advisory says which tollgate key to set, and still names the provider argument
        const advisories = result.stdout.split("\n").filter((line) => line.startsWith("dynamodb-deletion-protection"));
        assert.ok(advisories.length >= 2, result.stdout);
        for (const line of advisories) {
            assert.match(line, /deletion protection is off; set tollgate:tables\.deletionProtection: true in the stack's config \(provider argument: deletionProtectionEnabled = true\)\./);
        }
    });

    describe("names the config key to change in every message about tollgate's own resources", function () {
        // A copy of the project with a stack of its own: the dev stack with replicas, point-in-time
        // recovery off and a PROVISIONED app table, checked with a pack config that asks for
        // customer keys, on-demand tables and 30-day logs.
        let copy: string;
        let result: CheckResult;

        before(async function () {
            this.timeout(180_000);
            copy = projectCopy("tollgate-policy-");
            writeStack(copy, "careless", (config) => {
                config["tollgate:tables"] = { pointInTimeRecovery: false, deletionProtection: false, replicaRegions: ["eu-central-1"] };
                config["tollgate:appTables"].push({ name: "catalogue", hashKey: { name: "id", type: "S" }, billingMode: "PROVISIONED", readCapacity: 5, writeCapacity: 5 });
            });
            const packConfig = path.join(copy, "strict-pack.json");
            fs.writeFileSync(
                packConfig,
                JSON.stringify({
                    "dynamodb-encryption": { requireCustomerManagedKey: true },
                    "secretsmanager-customer-key": { requireCustomerManagedKey: true },
                    "dynamodb-on-demand-billing": { allowProvisioned: false },
                    "cloudwatch-log-retention": { minimumRetentionDays: 30 },
                }),
            );
            result = await checkIn(copy, "--stack", "careless", "--policy-pack-config", packConfig);
        });
        after(() => fs.rmSync(copy, { recursive: true, force: true }));

        /** The message rows of `policy` whose resource column starts with `resource`. */
        const messages = (policy: string, resource: string) =>
            result.stdout.split("\n").filter((line) => line.startsWith(`${policy} `) && line.split(/\s{2,}/)[2]?.startsWith(`${resource} `));

        // What each policy says, on a table of tollgate's own, on a replica block of one, and on a TableReplica.
        const table = "tollgate-tables-sessions";
        const tableReplica = "tollgate-tables-catalogue-replica-eu-central-1";
        const expected: { policy: string; on: string; resource: string; problem: RegExp; configKey: string }[] = [
            { policy: "dynamodb-point-in-time-recovery", on: "a table", resource: table, problem: /: point-in-time recovery is off;/, configKey: "tollgate:tables.pointInTimeRecovery: true" },
            { policy: "dynamodb-point-in-time-recovery", on: "a replica block", resource: table, problem: /off on the replica in eu-central-1;/, configKey: "tollgate:tables.pointInTimeRecovery: true" },
            { policy: "dynamodb-point-in-time-recovery", on: "a TableReplica", resource: tableReplica, problem: /off on the replica in eu-central-1;/, configKey: "tollgate:tables.pointInTimeRecovery: true" },
            { policy: "dynamodb-encryption", on: "a table", resource: table, problem: /encrypted with the AWS managed key/, configKey: "tollgate:tables.kmsKeyArn" },
            { policy: "dynamodb-encryption", on: "a replica block", resource: table, problem: /replica in eu-central-1 has no customer managed key/, configKey: "tollgate:tables.replicaKmsKeyArns.eu-central-1" },
            { policy: "dynamodb-encryption", on: "a TableReplica", resource: tableReplica, problem: /replica in eu-central-1 has no customer managed key/, configKey: "tollgate:tables.replicaKmsKeyArns.eu-central-1" },
            { policy: "dynamodb-deletion-protection", on: "a replica block", resource: table, problem: /off on the replica in eu-central-1;/, configKey: "tollgate:tables.deletionProtection: true" },
            { policy: "dynamodb-deletion-protection", on: "a TableReplica", resource: tableReplica, problem: /off on the replica in eu-central-1;/, configKey: "tollgate:tables.deletionProtection: true" },
            { policy: "dynamodb-on-demand-billing", on: "a PROVISIONED app table", resource: "tollgate-tables-catalogue", problem: /billing mode is PROVISIONED/, configKey: "billingMode: PAY_PER_REQUEST on its entry in tollgate:appTables (or leave billingMode out)" },
            { policy: "cloudwatch-log-retention", on: "the Lambda's log group", resource: "tollgate-logging-lambda", problem: /keeps logs 7 days, less than the 30 this stack requires/, configKey: "tollgate:logRetentionDays to at least 30" },
            { policy: "cloudwatch-log-retention", on: "the access log group", resource: "tollgate-logging-access", problem: /keeps logs 7 days, less than the 30 this stack requires/, configKey: "tollgate:logRetentionDays to at least 30" },
            { policy: "secretsmanager-customer-key", on: "the JWT secret", resource: "tollgate-gateway-jwt-secret", problem: /encrypted with the AWS managed key aws\/secretsmanager/, configKey: "tollgate:secretsKmsKeyArn (or tollgate:tables.kmsKeyArn, which it defaults to)" },
        ];

        for (const { policy, on, resource, problem, configKey } of expected) {
            it(`${policy} on ${on} (${resource}) names ${configKey}`, () => {
                const lines = messages(policy, resource).filter((line) => problem.test(line));
                assert.ok(lines.length > 0, `no ${policy} row on ${resource} matching ${problem} in:\n${result.stdout}${result.stderr}`);
                for (const line of lines) assert.ok(line.includes(`; set ${configKey} in the stack's config (provider argument: `), line);
            });
        }

        it("names a config key in every row, so no message about tollgate's resources is left with the provider argument alone", () => {
            assert.equal(result.code, 1, result.stdout + result.stderr);
            const violations = result.stdout.split("\n").filter((line) => /^\S+\s+(mandatory|advisory)\s/.test(line));
            assert.ok(violations.length >= expected.length, result.stdout);
            for (const line of violations) assert.match(line, /; set .*tollgate:.* in the stack's config \(provider argument: /, line);
        });
    });

    it("names tollgate:throttle.burstLimit and .rateLimit when a tollgate stage has lost its throttling", async function () {
        this.timeout(180_000);
        // No accepted config leaves the stage unthrottled (the schema wants both limits above 0), so
        // the dev stack's stage is given as a transformation could leave it: with no defaultRouteSettings.
        const run = await runStack("dev");
        assert.equal(run.error, undefined, run.error);
        const stage = run.one("aws:apigatewayv2/stage:Stage", "tollgate-gateway-stage");
        const unthrottled = run.resources.map((resource) => (resource === stage ? { ...resource, inputs: { ...resource.inputs, defaultRouteSettings: undefined } } : resource));
        const evaluation = await evaluatePolicies(unthrottled, { policies: tollgatePolicies, packEnforcementLevel });
        const throttling = evaluation.violations.filter((v) => v.policyName === "apigateway-stage-throttling");
        assert.deepEqual(throttling.map((v) => v.resourceName), ["tollgate-gateway-stage"]);
        assert.match(throttling[0].message, /has no stage throttling .*; set tollgate:throttle\.burstLimit and tollgate:throttle\.rateLimit above 0 in the stack's config \(provider argument: defaultRouteSettings = /);
    });

    it("fails a deliberately bad program with exit 1, naming every policy and the resource it refused", async () => {
        // The prod pack config, and customer keys required, so the policies that need them have their say.
        const result = await check("--stack", "prod", "--program", "test/fixtures/bad-program/index.ts", "--policy-pack-config", "test/fixtures/bad-program/pack-config.json");
        assert.equal(result.code, 1, result.stdout + result.stderr);
        const expected: Record<string, string> = {
            "dynamodb-encryption": "sessions",
            "dynamodb-point-in-time-recovery": "sessions",
            "dynamodb-on-demand-billing": "sessions",
            "dynamodb-ttl-on-expiring-tables": "sessions",
            "dynamodb-deletion-protection": "sessions",
            "lambda-supported-runtime": "gateway",
            "iam-no-wildcard-dynamodb": "gateway-tables",
            "apigateway-stage-throttling": "default",
            "apigateway-access-logging": "default",
            "cloudwatch-log-retention": "gateway-logs",
            "lambda-permission-source-arn": "api-invoke",
            "secretsmanager-customer-key": "jwt-key",
            "apigateway-domain-tls": "api-domain",
            "dynamodb-protect": "orders",
            "fixed-name-delete-before-replace": "careless-gateway-function",
        };
        assert.deepEqual(Object.keys(expected).sort(), tollgatePolicies.map((p) => p.name).sort());
        const found = rows(result.stdout);
        for (const [policy, resource] of Object.entries(expected)) {
            assert.ok(
                found.some((row) => row.policy === policy && row.enforcement === "mandatory" && row.resource === resource),
                `${policy} on ${resource} missing from:\n${result.stdout}`,
            );
        }
        assert.match(result.stdout, new RegExp(`^FAIL stack prod: ${Object.keys(expected).length} mandatory, 0 advisory violations`, "m"));
    });

    describe("exits 2 when the check cannot run", function () {
        const refuses = async (args: string[], message: RegExp) => {
            const result = await check(...args);
            assert.equal(result.code, 2, result.stdout + result.stderr);
            assert.match(result.stderr, message);
            assert.doesNotMatch(result.stdout, /PASS|FAIL/);
        };

        it("without --stack", () => refuses([], /^policy check: --stack: required/m));
        it("on an unknown flag, naming the flag it resembles", () => refuses(["--stack", "dev", "--stak", "prod"], /^policy check: --stak: not a flag of 'policy check'; did you mean --stack\?$/m));
        it("on an unknown stack, listing the stacks there are", () => refuses(["--stack", "staging"], /no stack 'staging'.*stacks here: dev, prod/));
        it("on a program that does not exist", () => refuses(["--stack", "dev", "--program", "test/fixtures/no-such-program.ts"], /program test\/fixtures\/no-such-program\.ts does not exist/));
        it("on a program that fails to load, with its error", () =>
            refuses(["--stack", "dev", "--program", "test/fixtures/policy-broken/index.ts"], /failed to load for stack dev:\ntollgate:routes\[0\]\.upstream: must be an http\(s\) URL/));
        it("on a stack whose routes take JWTs with no tollgate:jwt.issuer or tollgate:jwt.audience, naming both keys", async function () {
            this.timeout(180_000);
            const copy = projectCopy("tollgate-policy-");
            try {
                // given the dev stack (routes orders and admin take JWTs) without its tollgate:jwt block
                writeStack(copy, "nojwt", (config) => delete config["tollgate:jwt"]);
                const result = await checkIn(copy, "--stack", "nojwt");
                assert.equal(result.code, 2, result.stdout + result.stderr);
                assert.match(result.stderr, /tollgate:jwt\.issuer: required because routes 'orders', 'admin' accept JWTs/);
                assert.match(result.stderr, /tollgate:jwt\.audience: required because routes 'orders', 'admin' accept JWTs/);
                assert.doesNotMatch(result.stdout, /PASS|FAIL/);
            } finally {
                fs.rmSync(copy, { recursive: true, force: true });
            }
        });
        it("on a pack config the CLI would refuse, naming the policy", async () => {
            const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-pack-")), "pack.json");
            fs.writeFileSync(file, JSON.stringify({ "dynamodb-deletion-protection": "blocking" }));
            await refuses(["--stack", "dev", "--policy-pack-config", file], /"dynamodb-deletion-protection": "blocking" is not a valid enforcement level/);
        });
    });
});
