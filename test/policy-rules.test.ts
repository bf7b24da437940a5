/**
 * The tollgate policies, one family at a time, against resources that small
 * programs (test/fixtures/policy-*) register under mocks; then the offline
 * evaluator's engine-like behaviour (enforcement levels, pack config,
 * isType/asType, notApplicable, stack resources).
 *
 * Each fixture program runs once, in a child process, and is shared by the
 * tests that read it.
 */
import { strict as assert } from "node:assert";
import * as child_process from "node:child_process";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationArgs, type ResourceValidationPolicy, type StackValidationArgs, type StackValidationPolicy } from "@pulumi/policy";
import { evaluatePolicies, PackConfigError, resolvePackConfig, type Evaluation, type PackConfigFile } from "../policies/offline/evaluate";
import { runProgramIsolated, type ProgramRun } from "../policies/offline/harness";
import { packEnforcementLevel, tollgatePolicies } from "../policies/rules";
import prodPackConfig from "../policies/config/prod.json";

const runs = new Map<string, Promise<ProgramRun>>();

/** Runs test/fixtures/<name>/index.ts under mocks once per distinct config. */
function runFixture(name: string, config: Record<string, string> = {}): Promise<ProgramRun> {
    const key = `${name} ${JSON.stringify(config)}`;
    if (!runs.has(key)) {
        runs.set(
            key,
            runProgramIsolated({ program: path.join(__dirname, "fixtures", name, "index.ts"), stack: "test", config }).then((run) => {
                assert.equal(run.error, undefined, `fixture ${name} failed: ${run.error}`);
                return run;
            }),
        );
    }
    return runs.get(key)!;
}

async function evaluate(name: string, packConfig: PackConfigFile = {}, config: Record<string, string> = {}): Promise<Evaluation> {
    const run = await runFixture(name, config);
    return evaluatePolicies(run.resources, { policies: tollgatePolicies, packEnforcementLevel, config: packConfig });
}

/** The resources a policy reported, by Pulumi name, sorted. */
function reported(evaluation: Evaluation, policyName: string): string[] {
    return evaluation.violations
        .filter((v) => v.policyName === policyName)
        .map((v) => v.resourceName ?? "(stack)")
        .sort();
}

function messageFor(evaluation: Evaluation, policyName: string, resourceName: string): string {
    const found = evaluation.violations.filter((v) => v.policyName === policyName && v.resourceName === resourceName);
    assert.equal(found.length, 1, `expected one ${policyName} violation on ${resourceName}, got ${found.length}`);
    return found[0].message;
}

describe("policies: DynamoDB tables", function () {
    it("dynamodb-encryption refuses a table left on the AWS-owned key and accepts AWS managed and customer managed keys", async () => {
        const evaluation = await evaluate("policy-dynamodb");
        assert.deepEqual(reported(evaluation, "dynamodb-encryption"), ["defaults-only", "encryption-disabled"]);
        assert.match(messageFor(evaluation, "dynamodb-encryption", "encryption-disabled"), /DynamoDB table "encryption-disabled" \(fixture-encryption-disabled\).*set serverSideEncryption = \{ enabled: true \}/);
    });

    it("dynamodb-encryption with requireCustomerManagedKey also refuses the AWS managed key, naming kmsKeyArn", async () => {
        const evaluation = await evaluate("policy-dynamodb", { "dynamodb-encryption": { requireCustomerManagedKey: true } });
        assert.deepEqual(reported(evaluation, "dynamodb-encryption"), ["aws-managed-key", "defaults-only", "encryption-disabled", "replica-resource-without-key", "replica-without-key"]);
        assert.match(messageFor(evaluation, "dynamodb-encryption", "aws-managed-key"), /set serverSideEncryption\.kmsKeyArn/);
        assert.match(
            messageFor(evaluation, "dynamodb-encryption", "replica-resource-without-key"),
            /DynamoDB table replica "replica-resource-without-key": the replica in us-east-1 has no customer managed key; set kmsKeyArn to a KMS key ARN in us-east-1/,
        );
        assert.match(messageFor(evaluation, "dynamodb-encryption", "replica-without-key"), /replica in eu-central-1 has no customer managed key; set replicas\[0\]\.kmsKeyArn to a KMS key ARN in eu-central-1/);
    });

    it("dynamodb-point-in-time-recovery refuses a table or replica without PITR, naming the property", async () => {
        const evaluation = await evaluate("policy-dynamodb");
        assert.deepEqual(reported(evaluation, "dynamodb-point-in-time-recovery"), ["defaults-only", "no-pitr", "replica-resource-without-pitr", "replica-without-pitr"]);
        assert.match(messageFor(evaluation, "dynamodb-point-in-time-recovery", "replica-resource-without-pitr"), /point-in-time recovery is off on the replica in us-west-2; set pointInTimeRecovery = true/);
        assert.match(messageFor(evaluation, "dynamodb-point-in-time-recovery", "no-pitr"), /set pointInTimeRecovery = \{ enabled: true \}/);
        assert.match(messageFor(evaluation, "dynamodb-point-in-time-recovery", "replica-without-pitr"), /replica in eu-central-1.*set replicas\[0\]\.pointInTimeRecovery = true/);
    });

    it("dynamodb-on-demand-billing refuses every PROVISIONED table (an unset billingMode included) unless pack config allows them", async () => {
        const evaluation = await evaluate("policy-dynamodb");
        assert.deepEqual(reported(evaluation, "dynamodb-on-demand-billing"), [
            "defaults-only",
            "provisioned-autoscaled",
            "provisioned-early-replica",
            "provisioned-global",
            "provisioned-inline-replicas",
            "provisioned-read-scaled",
        ]);
        assert.match(messageFor(evaluation, "dynamodb-on-demand-billing", "defaults-only"), /billingMode is unset, which means PROVISIONED.*set billingMode = "PAY_PER_REQUEST"/);
        const run = await runFixture("policy-dynamodb");
        const table = run.resources.find((r) => r.type === "aws:dynamodb/table:Table" && r.name === "defaults-only")!;
        assert.equal(evaluation.violations.find((v) => v.policyName === "dynamodb-on-demand-billing" && v.resourceName === "defaults-only")!.urn, table.urn);
    });

    it("dynamodb-on-demand-billing with allowProvisioned accepts a PROVISIONED table only with read and write autoscaling targets on the table and each index", async () => {
        const evaluation = await evaluate("policy-dynamodb", { "dynamodb-on-demand-billing": { allowProvisioned: true } });
        assert.deepEqual(reported(evaluation, "dynamodb-on-demand-billing"), ["defaults-only", "provisioned-early-replica-replica", "provisioned-inline-replicas", "provisioned-read-scaled"]);
        const message = messageFor(evaluation, "dynamodb-on-demand-billing", "provisioned-read-scaled");
        assert.match(
            message,
            /no autoscaling target for table\/fixture-provisioned-read-scaled dynamodb:table:WriteCapacityUnits, table\/fixture-provisioned-read-scaled\/index\/ByOwner dynamodb:index:ReadCapacityUnits, table\/fixture-provisioned-read-scaled\/index\/ByOwner dynamodb:index:WriteCapacityUnits;/,
        );
        assert.doesNotMatch(message, /dynamodb:table:ReadCapacityUnits/);
    });

    it("dynamodb-on-demand-billing with allowProvisioned refuses replica blocks on a PROVISIONED table, and a TableReplica that does not wait for its write autoscaling", async () => {
        const evaluation = await evaluate("policy-dynamodb", { "dynamodb-on-demand-billing": { allowProvisioned: true } });
        assert.match(
            messageFor(evaluation, "dynamodb-on-demand-billing", "provisioned-inline-replicas"),
            /billing mode is PROVISIONED with replica blocks, which are created with the table, before its autoscaling exists, and DynamoDB refuses them .*; set the replicas as aws\.dynamodb\.TableReplica resources that dependOn the table's write-capacity scaling policies/,
        );
        assert.match(
            messageFor(evaluation, "dynamodb-on-demand-billing", "provisioned-early-replica-replica"),
            /DynamoDB table replica "provisioned-early-replica-replica": replicates the PROVISIONED table fixture-provisioned-early-replica without waiting for its write autoscaling \(table\/fixture-provisioned-early-replica dynamodb:table:WriteCapacityUnits, table\/fixture-provisioned-early-replica\/index\/ByOwner dynamodb:index:WriteCapacityUnits\), so DynamoDB may refuse it; set dependsOn/,
        );
        const run = await runFixture("policy-dynamodb");
        const replica = run.resources.find((r) => r.name === "provisioned-early-replica-replica")!;
        assert.equal(evaluation.violations.find((v) => v.resourceName === "provisioned-early-replica-replica")!.urn, replica.urn);
    });

    it("dynamodb-on-demand-billing is not applicable to a stack without tables", async () => {
        const evaluation = await evaluate("policy-compute");
        assert.deepEqual(reported(evaluation, "dynamodb-on-demand-billing"), []);
        assert.ok(evaluation.notApplicable.some((n) => n.policyName === "dynamodb-on-demand-billing" && n.reason === "the stack has no DynamoDB tables"));
    });

    it("dynamodb-ttl-on-expiring-tables refuses a table with an expiry key attribute and TTL off or on another attribute", async () => {
        const evaluation = await evaluate("policy-dynamodb");
        assert.deepEqual(reported(evaluation, "dynamodb-ttl-on-expiring-tables"), ["expiring-without-ttl", "ttl-on-other-attribute"]);
        assert.match(messageFor(evaluation, "dynamodb-ttl-on-expiring-tables", "expiring-without-ttl"), /set ttl = \{ attributeName: "session_expires_at", enabled: true \}/);
        assert.match(messageFor(evaluation, "dynamodb-ttl-on-expiring-tables", "ttl-on-other-attribute"), /set ttl\.attributeName = "expires_at"/);
    });

    it("dynamodb-deletion-protection is advisory by default and mandatory with the prod pack config", async () => {
        const dev = await evaluate("policy-dynamodb");
        assert.deepEqual(reported(dev, "dynamodb-deletion-protection"), ["defaults-only", "no-deletion-protection", "replica-resource-without-protection", "replica-without-deletion-protection", "unguarded"]);
        assert.match(messageFor(dev, "dynamodb-deletion-protection", "replica-resource-without-protection"), /deletion protection is off on the replica in ap-southeast-2; set deletionProtectionEnabled = true/);
        assert.ok(dev.violations.filter((v) => v.policyName === "dynamodb-deletion-protection").every((v) => v.enforcementLevel === "advisory"));
        assert.match(messageFor(dev, "dynamodb-deletion-protection", "no-deletion-protection"), /set deletionProtectionEnabled = true/);
        assert.match(
            messageFor(dev, "dynamodb-deletion-protection", "replica-without-deletion-protection"),
            /deletion protection is off on the replica in eu-central-1; set replicas\[0\]\.deletionProtectionEnabled = true/,
        );

        const prod = await evaluate("policy-dynamodb", prodPackConfig);
        assert.ok(prod.violations.filter((v) => v.policyName === "dynamodb-deletion-protection").every((v) => v.enforcementLevel === "mandatory"));
    });

    it("dynamodb-protect refuses a table or TableReplica with deletion protection that Pulumi does not protect, advisory by default and mandatory with the prod pack config", async () => {
        const dev = await evaluate("policy-dynamodb");
        assert.deepEqual(reported(dev, "dynamodb-protect"), ["unprotected", "unprotected-replica"]);
        assert.match(
            messageFor(dev, "dynamodb-protect", "unprotected"),
            /DynamoDB table "unprotected" \(fixture-unprotected\): deletion protection is on but Pulumi does not protect it, so a change that replaces it runs until AWS refuses to delete it, part-way through the update; set the resource option protect: true\./,
        );
        assert.match(messageFor(dev, "dynamodb-protect", "unprotected-replica"), /DynamoDB table replica "unprotected-replica": deletion protection is on but Pulumi does not protect it/);
        assert.ok(dev.violations.filter((v) => v.policyName === "dynamodb-protect").every((v) => v.enforcementLevel === "advisory"));
        const run = await runFixture("policy-dynamodb");
        const unguarded = run.resources.find((r) => r.name === "unguarded")!;
        assert.ok(dev.notApplicable.some((n) => n.policyName === "dynamodb-protect" && n.urn === unguarded.urn), "a table without deletion protection is dynamodb-deletion-protection's business");

        const prod = await evaluate("policy-dynamodb", prodPackConfig);
        assert.deepEqual(
            prod.violations.filter((v) => v.policyName === "dynamodb-protect").map((v) => v.enforcementLevel),
            ["mandatory", "mandatory"],
        );
    });

    it("fixed-name-delete-before-replace refuses a table replica of a tollgate component that would be replaced create-first", async () => {
        const evaluation = await evaluate("policy-dynamodb");
        assert.deepEqual(reported(evaluation, "fixed-name-delete-before-replace"), ["tollgate-replica-created-first"]);
        assert.match(
            messageFor(evaluation, "fixed-name-delete-before-replace", "tollgate-replica-created-first"),
            /DynamoDB table replica "tollgate-replica-created-first": a region holds one replica of a table \(me-south-1\), and it is not deleted before its replacement, so a change that replaces it would fail creating the second one; set the resource option deleteBeforeReplace: true/,
        );
        const run = await runFixture("policy-dynamodb");
        const programsOwn = run.resources.find((r) => r.name === "replica-resource-without-key")!;
        assert.ok(evaluation.notApplicable.some((n) => n.policyName === "fixed-name-delete-before-replace" && n.urn === programsOwn.urn));
    });

    it("reports nothing against the compliant tables: the global table with a keyed, PITR-enabled, protected replica, and the PROVISIONED one whose TableReplica waits for its autoscaling", async () => {
        const evaluation = await evaluate("policy-dynamodb", { "dynamodb-encryption": { requireCustomerManagedKey: true }, "dynamodb-on-demand-billing": { allowProvisioned: true } });
        const compliant = ["compliant", "provisioned-autoscaled", "global-table", "provisioned-global", "provisioned-global-replica", "replicated-by-resource"];
        assert.deepEqual(
            evaluation.violations.filter((v) => compliant.includes(v.resourceName ?? "")),
            [],
        );
    });
});

describe("policies: Lambda and IAM", function () {
    it("lambda-supported-runtime refuses Node.js below 24 (nodejs22.x included) and other deprecated runtimes, and accepts nodejs24.x", async () => {
        const evaluation = await evaluate("policy-compute");
        assert.deepEqual(reported(evaluation, "lambda-supported-runtime"), ["deprecated-node-runtime", "deprecated-python-runtime", "previous-lts-runtime"]);
        assert.match(messageFor(evaluation, "lambda-supported-runtime", "deprecated-node-runtime"), /runtime nodejs18\.x is older than this stack accepts \(Node\.js 24 or later\).*set runtime = "nodejs24\.x"/);
        assert.match(messageFor(evaluation, "lambda-supported-runtime", "previous-lts-runtime"), /runtime nodejs22\.x is older than this stack accepts/);
    });

    it("lambda-supported-runtime follows minimumNodeMajor from pack config", async () => {
        const evaluation = await evaluate("policy-compute", { "lambda-supported-runtime": { minimumNodeMajor: 22 } });
        assert.deepEqual(reported(evaluation, "lambda-supported-runtime"), ["deprecated-node-runtime", "deprecated-python-runtime"]);
        const stricter = await evaluate("policy-compute", { "lambda-supported-runtime": { minimumNodeMajor: 26 } });
        assert.deepEqual(reported(stricter, "lambda-supported-runtime"), ["current-runtime", "deprecated-node-runtime", "deprecated-python-runtime", "previous-lts-runtime"]);
    });

    it("iam-no-wildcard-dynamodb refuses wildcard actions and resources, NotAction, and DynamoDB full-access managed policies", async () => {
        const evaluation = await evaluate("policy-compute");
        assert.deepEqual(reported(evaluation, "iam-no-wildcard-dynamodb"), ["dynamodb-full-access", "inline-wildcard-role", "not-action-grant", "wildcard-action-grant", "wildcard-resource-grant"]);
        assert.match(messageFor(evaluation, "iam-no-wildcard-dynamodb", "wildcard-action-grant"), /statement 0 \(Sid "AllTableActions"\).*wildcard action dynamodb:\*; set policy:/);
        assert.match(messageFor(evaluation, "iam-no-wildcard-dynamodb", "wildcard-resource-grant"), /wildcard resource \*;/);
        assert.match(messageFor(evaluation, "iam-no-wildcard-dynamodb", "inline-wildcard-role"), /table\/\*; set inlinePolicies\[0\]\.policy:/);
        assert.match(messageFor(evaluation, "iam-no-wildcard-dynamodb", "dynamodb-full-access"), /AmazonDynamoDBFullAccess.*set policyArn/);
    });

    it("lambda-permission-source-arn refuses a service permission without a sourceArn or with a wildcard one", async () => {
        const evaluation = await evaluate("policy-compute");
        assert.deepEqual(reported(evaluation, "lambda-permission-source-arn"), ["unscoped-permission", "wildcard-api-permission"]);
        assert.match(messageFor(evaluation, "lambda-permission-source-arn", "unscoped-permission"), /from any source; set sourceArn/);
        const run = await runFixture("policy-compute");
        const accountPermission = run.resources.find((r) => r.name === "account-permission")!;
        assert.ok(evaluation.notApplicable.some((n) => n.policyName === "lambda-permission-source-arn" && n.urn === accountPermission.urn));
    });

    it("fixed-name-delete-before-replace refuses a tollgate component's named function, role or log group that is not deleted before its replacement", async () => {
        const evaluation = await evaluate("policy-replacement");
        assert.deepEqual(reported(evaluation, "fixed-name-delete-before-replace"), ["tollgate-function-created-first", "tollgate-log-group-order-unset", "tollgate-role-order-unset"]);
        assert.match(
            messageFor(evaluation, "fixed-name-delete-before-replace", "tollgate-function-created-first"),
            /Lambda function "tollgate-function-created-first" \(fixture-gateway-2\): its name is fixed, and it is not deleted before its replacement, so a change that replaces it would fail creating the second one; set the resource option deleteBeforeReplace: true \(tollgate's components set it: a transform that changes opts\.deleteBeforeReplace undoes it\)\./,
        );
        assert.match(messageFor(evaluation, "fixed-name-delete-before-replace", "tollgate-role-order-unset"), /IAM role "tollgate-role-order-unset" \(fixture-gateway-2\): its name is fixed/);
        const run = await runFixture("policy-replacement");
        for (const name of ["tollgate-function-auto-named", "own-named-function"]) {
            const resource = run.resources.find((r) => r.name === name)!;
            assert.ok(evaluation.notApplicable.some((n) => n.policyName === "fixed-name-delete-before-replace" && n.urn === resource.urn), `${name}: not applicable`);
        }
    });

    it("reports nothing against the compliant function, grants and permission", async () => {
        const evaluation = await evaluate("policy-compute");
        const compliant = ["current-runtime", "function-role", "scoped-grant", "basic-execution", "scoped-permission"];
        assert.deepEqual(evaluation.violations.filter((v) => compliant.includes(v.resourceName ?? "")), []);
        const replacement = await evaluate("policy-replacement");
        assert.deepEqual(replacement.violations.filter((v) => ["tollgate-function", "tollgate-role", "tollgate-log-group"].includes(v.resourceName ?? "")), []);
    });
});

describe("policies: API Gateway and CloudWatch", function () {
    it("apigateway-stage-throttling refuses a stage without both limits above 0, stage-wide or per route", async () => {
        const evaluation = await evaluate("policy-edge");
        assert.deepEqual(reported(evaluation, "apigateway-stage-throttling"), ["burst-only", "no-settings", "route-unthrottled", "zero-rate"]);
        assert.match(messageFor(evaluation, "apigateway-stage-throttling", "burst-only"), /defaultRouteSettings\.throttlingRateLimit is unset.*set defaultRouteSettings = /);
        assert.match(messageFor(evaluation, "apigateway-stage-throttling", "route-unthrottled"), /routeSettings\[0\] \(ANY \/admin\)/);
    });

    it("apigateway-access-logging refuses HTTP and REST stages without access logs", async () => {
        const evaluation = await evaluate("policy-edge");
        assert.deepEqual(reported(evaluation, "apigateway-access-logging"), ["no-access-logs", "no-settings", "rest-without-logs"]);
        assert.match(messageFor(evaluation, "apigateway-access-logging", "no-access-logs"), /access logging is off; set accessLogSettings = /);
    });

    it("cloudwatch-log-retention refuses a log group that keeps logs forever", async () => {
        const evaluation = await evaluate("policy-edge");
        assert.deepEqual(reported(evaluation, "cloudwatch-log-retention"), ["kept-forever", "zero-retention"]);
        assert.match(messageFor(evaluation, "cloudwatch-log-retention", "kept-forever"), /\(\/fixture\/kept-forever\): has no retention.*set retentionInDays/);
    });

    it("cloudwatch-log-retention holds prod to its 30-day minimum", async () => {
        const sevenDays = await evaluate("policy-edge", prodPackConfig);
        assert.deepEqual(reported(sevenDays, "cloudwatch-log-retention"), ["access-logs", "kept-forever", "zero-retention"]);
        assert.match(messageFor(sevenDays, "cloudwatch-log-retention", "access-logs"), /keeps logs 7 days, less than the 30/);

        const thirtyDays = await evaluate("policy-edge", prodPackConfig, { "fixture:retentionDays": "30" });
        assert.deepEqual(reported(thirtyDays, "cloudwatch-log-retention"), ["kept-forever", "zero-retention"]);
    });

    it("apigateway-domain-tls refuses HTTP and REST custom domains below TLS 1.2, or with no security policy, and accepts TLS_1_2 and an enhanced TLS 1.3 policy", async () => {
        const evaluation = await evaluate("policy-edge");
        assert.deepEqual(reported(evaluation, "apigateway-domain-tls"), ["http-tls10-domain", "rest-tls10-domain", "rest-unset-domain"]);
        assert.match(
            messageFor(evaluation, "apigateway-domain-tls", "http-tls10-domain"),
            /API Gateway v2 domain name "http-tls10-domain" \(old\.fixture\.example\.com\): security policy is TLS_1_0, which accepts TLS below 1\.2; set domainNameConfiguration\.securityPolicy = "TLS_1_2"/,
        );
        assert.match(messageFor(evaluation, "apigateway-domain-tls", "rest-unset-domain"), /no security policy is set.*; set securityPolicy = "TLS_1_2"/);
        assert.ok(evaluation.violations.filter((v) => v.policyName === "apigateway-domain-tls").every((v) => v.enforcementLevel === "mandatory"));
    });

    it("reports nothing against the compliant stages, log group and domains", async () => {
        const evaluation = await evaluate("policy-edge");
        assert.deepEqual(
            evaluation.violations.filter((v) => ["throttled", "access-logs", "rest-with-logs", "api", "http-tls12-domain", "rest-tls12-domain", "rest-tls13-domain"].includes(v.resourceName ?? "")),
            [],
        );
    });
});

describe("policies: Secrets Manager", function () {
    it("secretsmanager-customer-key is not applicable unless the pack config requires customer keys", async () => {
        const evaluation = await evaluate("policy-secrets");
        assert.deepEqual(reported(evaluation, "secretsmanager-customer-key"), []);
        assert.ok(evaluation.notApplicable.some((n) => n.policyName === "secretsmanager-customer-key" && n.reason === "customer managed keys are not required"));
    });

    it("secretsmanager-customer-key with requireCustomerManagedKey refuses a secret on the AWS managed key, by default or by alias, naming kmsKeyId", async () => {
        const evaluation = await evaluate("policy-secrets", { "secretsmanager-customer-key": { requireCustomerManagedKey: true } });
        assert.deepEqual(reported(evaluation, "secretsmanager-customer-key"), ["aws-managed-alias-secret", "default-key-secret"]);
        assert.match(
            messageFor(evaluation, "secretsmanager-customer-key", "default-key-secret"),
            /Secrets Manager secret "default-key-secret" \(fixture-default-key-\): encrypted with the AWS managed key aws\/secretsmanager, but this stack requires a customer managed key; set kmsKeyId to a customer managed KMS key ARN/,
        );
        assert.match(messageFor(evaluation, "secretsmanager-customer-key", "aws-managed-alias-secret"), /kmsKeyId alias\/aws\/secretsmanager is the AWS managed key/);
    });
});

describe("offline evaluation behaves as the engine", function () {
    const probe = (name: string, validate: (args: ResourceValidationArgs) => void, extra: Partial<ResourceValidationPolicy> = {}): ResourceValidationPolicy => ({
        name,
        description: `probe ${name}`,
        validateResource: (args, reportViolation) => {
            validate(args);
            reportViolation(`${args.name} seen`);
        },
        ...extra,
    });

    it("applies an `all` level to every policy, a policy's own entry over it, and reports remediate as mandatory", async () => {
        const evaluation = await evaluate("policy-dynamodb", { all: "advisory", "dynamodb-encryption": "mandatory", "dynamodb-point-in-time-recovery": { enforcementLevel: "remediate" } });
        const levels = (policy: string) => [...new Set(evaluation.violations.filter((v) => v.policyName === policy).map((v) => v.enforcementLevel))];
        assert.deepEqual(levels("dynamodb-encryption"), ["mandatory"]);
        assert.deepEqual(levels("dynamodb-point-in-time-recovery"), ["mandatory"]);
        assert.deepEqual(levels("dynamodb-ttl-on-expiring-tables"), ["advisory"]);
        assert.deepEqual(levels("dynamodb-deletion-protection"), ["advisory"]);
    });

    it("does not run a disabled policy", async () => {
        const evaluation = await evaluate("policy-dynamodb", { "dynamodb-point-in-time-recovery": "disabled" });
        assert.deepEqual(reported(evaluation, "dynamodb-point-in-time-recovery"), []);
        assert.ok(!evaluation.policiesRun.includes("dynamodb-point-in-time-recovery"));
        assert.equal(evaluation.policiesRun.length, tollgatePolicies.length - 1);
    });

    it("getConfig returns the schema defaults overlaid by the file, without enforcementLevel", async () => {
        const run = await runFixture("policy-dynamodb");
        const seen: object[] = [];
        const policy = probe("probe-config", (args) => seen.push(args.getConfig()), {
            configSchema: { properties: { limit: { type: "integer", default: 5 }, mode: { type: "string", default: "strict" }, tags: { type: "array", items: { type: "string" } } } },
        });
        await evaluatePolicies(run.resources.slice(0, 1), { policies: [policy], config: { "probe-config": { enforcementLevel: "mandatory", mode: "lenient" } } });
        assert.deepEqual(seen, [{ limit: 5, mode: "lenient" }]);
    });

    it("isType and asType go by the resource's type token; notApplicable records the policy as not applicable", async () => {
        const run = await runFixture("policy-dynamodb");
        const policy = probe("probe-types", (args) => {
            if (!args.isType(aws.dynamodb.Table)) args.notApplicable("not a table");
            assert.equal(args.asType(aws.lambda.Function), undefined);
            assert.equal(args.asType(aws.dynamodb.Table)!.hashKey, args.props.hashKey);
        });
        const evaluation = await evaluatePolicies(run.resources, { policies: [policy] });
        const tables = run.resources.filter((r) => r.type === "aws:dynamodb/table:Table");
        assert.equal(evaluation.violations.length, tables.length);
        assert.equal(evaluation.notApplicable.filter((n) => n.reason === "not a table").length, run.resources.length - tables.length);
        assert.ok(evaluation.violations.every((v) => v.enforcementLevel === "advisory"), "a policy and pack with no level default to advisory, as in the SDK");
    });

    it("skips a validator typed to another resource type without calling it", async () => {
        const run = await runFixture("policy-dynamodb");
        let calls = 0;
        const policy: ResourceValidationPolicy = {
            name: "probe-skip",
            description: "probe",
            validateResource: validateResourceOfType(aws.lambda.Function, () => void calls++),
        };
        const evaluation = await evaluatePolicies(run.resources, { policies: [policy] });
        assert.equal(calls, 0);
        assert.equal(evaluation.notApplicable.length, run.resources.length);
        assert.equal(evaluation.notApplicable[0].reason, "Policy only applies to resources of type 'aws:lambda/function:Function'");
    });

    it("gives stack policies every resource with outputs, parent and dependencies resolved, and the stack tags", async () => {
        const run = await runFixture("policy-dynamodb");
        let seen: StackValidationArgs | undefined;
        const policy: StackValidationPolicy = { name: "probe-stack", description: "probe", validateStack: (args) => void (seen = args) };
        await evaluatePolicies(run.resources, { policies: [policy], stackTags: { "pulumi:project": "tollgate" } });
        assert.ok(seen);
        assert.equal(seen.resources.length, run.resources.length);
        assert.equal(seen.stackTags.get("pulumi:project"), "tollgate");
        const table = seen.resources.find((r) => r.name === "provisioned-autoscaled")!;
        assert.equal(table.asType(aws.dynamodb.Table)!.arn, "arn:aws:dynamodb:eu-west-1:123456789012:table/fixture-provisioned-autoscaled");
        assert.equal(table.parent?.type, "pulumi:pulumi:Stack");
        const target = seen.resources.find((r) => r.name === "provisioned-autoscaled-read")!;
        assert.deepEqual(target.propertyDependencies.resourceId.map((r) => r.urn), [table.urn]);
        assert.ok(target.dependencies.includes(table));
    });

    it("refuses a pack config the CLI would refuse, naming the policy and key", () => {
        const refused = (config: PackConfigFile, pattern: RegExp) => assert.throws(() => resolvePackConfig(tollgatePolicies, packEnforcementLevel, config), (e: Error) => e instanceof PackConfigError && pattern.test(e.message));
        refused({ "dynamodb-encryption": { requireCustomerManagedKey: "yes" } }, /dynamodb-encryption\.requireCustomerManagedKey: .*boolean/);
        refused({ "cloudwatch-log-retention": { minimumRetentionDays: 0 } }, /cloudwatch-log-retention\.minimumRetentionDays/);
        refused({ "dynamodb-deletion-protection": "blocking" }, /"dynamodb-deletion-protection": "blocking" is not a valid enforcement level/);
        refused({ "dynamodb-encrypton": "mandatory" }, /"dynamodb-encrypton" is not a policy of this pack/);
    });

    it("fails the evaluation, naming the policy, when a policy throws", async () => {
        const run = await runFixture("policy-dynamodb");
        const policy = probe("probe-throws", () => {
            throw new Error("boom");
        });
        await assert.rejects(evaluatePolicies(run.resources, { policies: [policy] }), /with policy 'probe-throws'.*boom/s);
    });
});

/**
 * The pack as the Pulumi CLI runs it: @pulumi/pulumi's run-policy-pack loads
 * policies/ (type-checking it with the pack's own ts-node settings) and
 * @pulumi/policy serves the analyzer over gRPC. The test plays the engine:
 * it configures the pack with a stack's pack config, sends every resource of
 * the fixture programs to Analyze and the whole stack to AnalyzeStack, and
 * expects exactly the violations the offline evaluator reports.
 */
describe("the pack served by @pulumi/policy agrees with the offline evaluator", function () {
    this.timeout(180_000);
    const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    const grpc: typeof import("@grpc/grpc-js") = require(require.resolve("@grpc/grpc-js", { paths: [pulumiDir] }));
    const analyzerProto: typeof import("@pulumi/pulumi/proto/analyzer_pb") = require("@pulumi/pulumi/proto/analyzer_pb");
    const { AnalyzerClient }: typeof import("@pulumi/pulumi/proto/analyzer_grpc_pb") = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
    const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [pulumiDir] }));
    const { Empty } = require(require.resolve("google-protobuf/google/protobuf/empty_pb", { paths: [pulumiDir] }));
    const { fakeState } = require("../policies/offline/fakes");
    const levels = { advisory: analyzerProto.EnforcementLevel.ADVISORY, mandatory: analyzerProto.EnforcementLevel.MANDATORY, disabled: analyzerProto.EnforcementLevel.DISABLED, remediate: analyzerProto.EnforcementLevel.REMEDIATE };
    const levelNames = Object.fromEntries(Object.entries(levels).map(([name, level]) => [level, name]));

    let pack: child_process.ChildProcess | undefined;
    let client: InstanceType<typeof AnalyzerClient>;
    const call = <T>(method: string, request: unknown): Promise<T> =>
        new Promise((resolve, reject) => (client as any)[method](request, (error: Error | null, response: T) => (error ? reject(error) : resolve(response))));
    const struct = (value: unknown) => Struct.fromJavaScript(JSON.parse(JSON.stringify(value ?? {})));

    before(async function () {
        const runPolicyPack = path.join(pulumiDir, "cmd", "run-policy-pack", "index.js");
        const policiesDir = path.resolve(__dirname, "..", "policies");
        pack = child_process.spawn(process.execPath, [runPolicyPack, "--pwd", policiesDir, "engine-address-unused", "."], { cwd: policiesDir, stdio: ["ignore", "pipe", "pipe"] });
        const port = await new Promise<string>((resolve, reject) => {
            let stderr = "";
            pack!.stderr!.on("data", (chunk) => (stderr += chunk));
            pack!.stdout!.once("data", (chunk) => resolve(String(chunk).trim()));
            pack!.once("exit", (code) => reject(new Error(`the policy pack exited ${code} before serving:\n${stderr}`)));
        });
        client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        pack?.kill();
    });

    it("describes every policy with its enforcement level, kind and config schema", async () => {
        const info = await call<import("@pulumi/pulumi/proto/analyzer_pb").AnalyzerInfo>("getAnalyzerInfo", new Empty());
        assert.equal(info.getName(), "tollgate");
        assert.equal(info.getVersion(), "0.1.0");
        const policies = info.getPoliciesList();
        assert.deepEqual(policies.map((p) => p.getName()), tollgatePolicies.map((p) => p.name));
        for (const [index, policy] of policies.entries()) {
            const local = tollgatePolicies[index];
            assert.equal(levelNames[policy.getEnforcementlevel()], local.enforcementLevel, local.name);
            assert.ok(policy.getDescription().length > 20, local.name);
            const kind = "validateStack" in local ? analyzerProto.PolicyType.POLICY_TYPE_STACK : analyzerProto.PolicyType.POLICY_TYPE_RESOURCE;
            assert.equal(policy.getPolicyType(), kind, local.name);
            assert.deepEqual(policy.getConfigschema()?.getProperties()?.toJavaScript() ?? {}, JSON.parse(JSON.stringify(local.configSchema?.properties ?? {})), local.name);
        }
    });

    const prodWithCustomerKeys = {
        ...prodPackConfig,
        "dynamodb-encryption": { requireCustomerManagedKey: true },
        "secretsmanager-customer-key": { requireCustomerManagedKey: true },
    };
    const packConfigs: [string, PackConfigFile][] = [
        ["the dev pack config", require("../policies/config/dev.json")],
        ["the prod pack config", prodPackConfig],
        ["the prod pack config with customer keys required", prodWithCustomerKeys],
    ];
    for (const [label, packConfigFile] of packConfigs) {
        it(`reports what the offline evaluator reports, under ${label}`, async () => {
            const packConfig = resolvePackConfig(tollgatePolicies, packEnforcementLevel, packConfigFile);
            const silentByConfig = new Set<string>();
            const configure = new analyzerProto.ConfigureAnalyzerRequest();
            for (const [name, config] of packConfig) {
                configure.getPolicyconfigMap().set(name, new analyzerProto.PolicyConfig().setEnforcementlevel(levels[config.enforcementLevel]).setProperties(struct(config.properties)));
            }
            await call("configure", configure);

            const served: string[] = [];
            const offline: string[] = [];
            const key = (policy: string, urn: string | undefined, level: string, message: string) => `${policy} | ${urn ?? "(stack)"} | ${level} | ${message}`;
            for (const fixture of ["bad-program", "policy-dynamodb", "policy-compute", "policy-edge", "policy-secrets", "policy-replacement"]) {
                const run = await runFixture(fixture);
                // As the engine sends them: deleteBeforeReplace only when the program set it.
                const options = (resource: (typeof run.resources)[number]) =>
                    new analyzerProto.AnalyzerResourceOptions()
                        .setProtect(resource.protect)
                        .setDeletebeforereplace(resource.deleteBeforeReplace ?? false)
                        .setDeletebeforereplacedefined(resource.deleteBeforeReplace !== undefined)
                        .setCustomtimeouts(new analyzerProto.AnalyzerResourceOptions.CustomTimeouts())
                        .setParent(resource.parent ?? "");
                const collect = (response: import("@pulumi/pulumi/proto/analyzer_pb").AnalyzeResponse, urn?: string) => {
                    for (const d of response.getDiagnosticsList()) {
                        // The SDK prefixes the policy description to the message.
                        const message = d.getMessage().slice(d.getDescription().length + 1);
                        served.push(key(d.getPolicyname(), urn ?? (d.getUrn() || undefined), levelNames[d.getEnforcementlevel()], message));
                    }
                };
                for (const resource of run.resources) {
                    const request = new analyzerProto.AnalyzeRequest().setType(resource.type).setName(resource.name).setUrn(resource.urn).setProperties(struct(resource.inputs)).setOptions(options(resource));
                    collect(await call("analyze", request), resource.urn);
                }
                const stackRequest = new analyzerProto.AnalyzeStackRequest().setResourcesList(
                    run.resources.map((resource) => {
                        const analyzed = new analyzerProto.AnalyzerResource()
                            .setType(resource.type)
                            .setName(resource.name)
                            .setUrn(resource.urn)
                            .setProperties(struct(resource.custom ? fakeState(resource.type, resource.name, resource.inputs) : resource.inputs))
                            .setOptions(options(resource))
                            .setParent(resource.parent ?? "")
                            .setDependenciesList(resource.dependencies);
                        for (const [property, urns] of Object.entries(resource.propertyDependencies)) {
                            analyzed.getPropertydependenciesMap().set(property, new analyzerProto.AnalyzerPropertyDependencies().setUrnsList(urns));
                        }
                        return analyzed;
                    }),
                );
                collect(await call("analyzeStack", stackRequest));

                const evaluation = await evaluatePolicies(run.resources, { policies: tollgatePolicies, packEnforcementLevel, config: packConfig });
                offline.push(...evaluation.violations.map((v) => key(v.policyName, v.urn, v.enforcementLevel, v.message)));
                evaluation.notApplicable.filter((n) => n.reason === "customer managed keys are not required").forEach((n) => silentByConfig.add(n.policyName));
            }
            // Every policy reports something, but one this pack config switches off (customer keys not required).
            const reporting = new Set(offline.map((line) => line.split(" | ")[0]));
            assert.deepEqual(
                tollgatePolicies.map((p) => p.name).filter((name) => !reporting.has(name) && !silentByConfig.has(name)),
                [],
                "every policy reports something",
            );
            assert.deepEqual(served.sort(), offline.sort());
        });
    }
});
