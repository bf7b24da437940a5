/**
 * `npm run policy -- --stack NAME [--program PATH]` as a user runs it: both
 * shipped stacks pass, printing what docs/deploying.md shows; a deliberately
 * bad program fails naming every policy; and a check that cannot run says why
 * and exits 2.
 */
import { strict as assert } from "node:assert";
import * as child_process from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tollgatePolicies } from "../policies/rules";

const projectDir = path.resolve(__dirname, "..");

interface CheckResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

function check(...args: string[]): Promise<CheckResult> {
    return new Promise((resolve, reject) => {
        const npm = process.platform === "win32" ? "npm.cmd" : "npm";
        child_process.execFile(npm, ["run", "-s", "policy", "--", ...args], { cwd: projectDir, timeout: 120_000 }, (error, stdout, stderr) => {
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

/** The rows of the violation table: policy, enforcement and resource columns. */
function rows(stdout: string): { policy: string; enforcement: string; resource: string }[] {
    return stdout
        .split("\n")
        .map((line) => /^(\S+)\s+(mandatory|advisory)\s+(\S+)/.exec(line))
        .filter((match): match is RegExpExecArray => match !== null)
        .map(([, policy, enforcement, resource]) => ({ policy, enforcement, resource }));
}

describe("npm run policy", function () {
    for (const stack of ["dev", "prod"]) {
        it(`passes the ${stack} stack with no mandatory violation`, async () => {
            const result = await check("--stack", stack);
            assert.equal(result.code, 0, result.stdout + result.stderr);
            assert.match(result.stdout, new RegExp(`^PASS stack ${stack}: 0 mandatory, \\d+ advisory violations?; ${tollgatePolicies.length} policies over \\d+ resources in [\\d.]+s$`, "m"));
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

        it("without --stack", () => refuses([], /--stack is required/));
        it("on an unknown flag", () => refuses(["--stack", "dev", "--stak", "prod"], /Unknown option '--stak'/));
        it("on an unknown stack, listing the stacks there are", () => refuses(["--stack", "staging"], /no stack 'staging'.*stacks here: dev, prod/));
        it("on a program that does not exist", () => refuses(["--stack", "dev", "--program", "test/fixtures/no-such-program.ts"], /program test\/fixtures\/no-such-program\.ts does not exist/));
        it("on a program that fails to load, with its error", () =>
            refuses(["--stack", "dev", "--program", "test/fixtures/policy-broken/index.ts"], /failed to load for stack dev:\ntollgate:routes\[0\]\.upstream: must be an http\(s\) URL/));
        it("on a pack config the CLI would refuse, naming the policy", async () => {
            const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-pack-")), "pack.json");
            fs.writeFileSync(file, JSON.stringify({ "dynamodb-deletion-protection": "blocking" }));
            await refuses(["--stack", "dev", "--policy-pack-config", file], /"dynamodb-deletion-protection": "blocking" is not a valid enforcement level/);
        });
    });
});
