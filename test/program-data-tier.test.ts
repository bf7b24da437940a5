/**
 * The data tier's infrastructure under mocks: global tables (replicas with
 * point-in-time recovery and their own KMS keys, rate-limits kept regional,
 * replication-latency alarms) and AWS Backup (vaults in two regions, the
 * plan's rule and copy action, the selection of the stack's tables, the
 * service role); bad replica and backup config refused naming the key; and
 * the pack passing a stack that has both.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { evaluatePolicies, type Evaluation } from "../policies/offline/evaluate";
import { fakeAccount, fakeRegion } from "../policies/offline/fakes";
import { runProgramIsolated } from "../policies/offline/harness";
import { iamDefaults, packEnforcementLevel, tollgatePolicies } from "../policies/rules";
import devPackConfig from "../policies/config/dev.json";
import prodPackConfig from "../policies/config/prod.json";
import { backupServicePolicies, backupVaultName } from "../components/backup";
import { replicationLatencyAlarm } from "../components/tables";
import { resolveSettings, type TollgateConfigInput } from "../specs/config";
import { rateLimitsTable, replicaRegionsOf, sessionsTable } from "../specs/tables";
import { devConfigWith, runEachWithConfig, runStack, StackRun } from "./support/program";

const T = {
    table: "aws:dynamodb/table:Table",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    dashboard: "aws:cloudwatch/dashboard:Dashboard",
    vault: "aws:backup/vault:Vault",
    plan: "aws:backup/plan:Plan",
    selection: "aws:backup/selection:Selection",
    role: "aws:iam/role:Role",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    provider: "pulumi:providers:aws",
    tableReplica: "aws:dynamodb/tableReplica:TableReplica",
    scalingTarget: "aws:appautoscaling/target:Target",
    scalingPolicy: "aws:appautoscaling/policy:Policy",
    backup: "tollgate:backup:Backup",
} as const;

const tableArn = (name: string) => `arn:aws:dynamodb:${fakeRegion}:${fakeAccount}:table/${name}`;
const vaultArn = (region: string, name: string) => `arn:aws:backup:${region}:${fakeAccount}:backup-vault:${name}`;
const kmsKey = (region: string) => `arn:aws:kms:${region}:${fakeAccount}:key/tollgate-${region}`;
const managedPolicy = (name: string) => `arn:aws:iam::aws:policy/service-role/${name}`;

/** The table registered with physical name `name`. */
const tableNamed = (run: StackRun, name: string) => run.where(T.table, "name", name).inputs;

/** Replication-latency alarms as `table -> region`, sorted. */
function latencyAlarms(run: StackRun): string[] {
    return run
        .ofType(T.alarm)
        .filter((alarm) => alarm.inputs.metricName === "ReplicationLatency")
        .map((alarm) => `${alarm.inputs.dimensions.TableName} -> ${alarm.inputs.dimensions.ReceivingRegion}`)
        .sort();
}

async function policyEvaluation(run: StackRun, packConfig: Record<string, unknown>): Promise<Evaluation> {
    return evaluatePolicies(run.resources, { policies: tollgatePolicies, packEnforcementLevel, config: packConfig });
}

describe("the prod stack's data tier, evaluated under mocks", function () {
    const prefix = "tollgate-prod";
    const replicated = ["sessions", "products", "users"].map((name) => `${prefix}-${name}`);
    let run: StackRun;

    before(async function () {
        this.timeout(180_000);
        run = await runStack("prod");
        assert.equal(run.error, undefined, `the program failed: ${run.error}`);
    });

    describe("global tables", () => {
        it("replicates sessions and the app tables to eu-central-1 with point-in-time recovery, deletion protection and tags on the replica", () => {
            for (const name of replicated) {
                const table = tableNamed(run, name);
                assert.deepEqual(table.replicas, [{ regionName: "eu-central-1", pointInTimeRecovery: true, deletionProtectionEnabled: true, propagateTags: true }], name);
                assert.deepEqual(table.pointInTimeRecovery, { enabled: true }, name);
            }
        });

        it("streams NEW_AND_OLD_IMAGES from every replicated table, as global tables require", () => {
            for (const name of replicated) {
                const table = tableNamed(run, name);
                assert.deepEqual([table.streamEnabled, table.streamViewType], [true, "NEW_AND_OLD_IMAGES"], name);
            }
        });

        it("keeps the rate-limits table regional: no replicas, no stream, no replication alarm", () => {
            const table = tableNamed(run, `${prefix}-rate-limits`);
            assert.equal(table.replicas, undefined);
            assert.equal(table.streamEnabled, false);
            assert.ok(!latencyAlarms(run).some((alarm) => alarm.startsWith(`${prefix}-rate-limits`)));
        });

        it("alarms on ReplicationLatency to each replica region, per table, notifying the alarm topic", () => {
            assert.deepEqual(latencyAlarms(run), replicated.map((name) => `${name} -> eu-central-1`).sort());
            const alarm = run.where(T.alarm, "name", `${prefix}-sessions-replication-latency-eu-central-1`).inputs;
            assert.deepEqual([alarm.namespace, alarm.metricName, alarm.statistic], ["AWS/DynamoDB", "ReplicationLatency", "Average"]);
            assert.deepEqual(alarm.dimensions, { TableName: `${prefix}-sessions`, ReceivingRegion: "eu-central-1" });
            assert.deepEqual([alarm.threshold, alarm.period, alarm.evaluationPeriods], [replicationLatencyAlarm.thresholdMs, 300, 2]);
            assert.equal(alarm.comparisonOperator, "GreaterThanOrEqualToThreshold");
            assert.equal(alarm.treatMissingData, "notBreaching", "no writes, no metric: not a replication problem");
            assert.deepEqual(alarm.alarmActions, [`arn:aws:sns:${fakeRegion}:${fakeAccount}:${prefix}-alarms`]);
        });

        it("draws the replication latency of each replicated table on the dashboard", () => {
            const widgets = JSON.parse(run.one(T.dashboard, "tollgate-logging-dashboard").inputs.dashboardBody).widgets;
            const widget = widgets.find((w: any) => w.properties?.title === "DynamoDB replication latency (ms)");
            assert.ok(widget, "no replication latency widget");
            assert.deepEqual(
                widget.properties.metrics.map((m: any[]) => m.slice(0, 6).join(" ")).sort(),
                replicated.map((name) => `AWS/DynamoDB ReplicationLatency TableName ${name} ReceivingRegion eu-central-1`).sort(),
            );
        });
    });

    describe("AWS Backup", () => {
        it("keeps recovery points in a vault in the stack's region, on the AWS-managed backup key when no customer key is set", () => {
            const vault = run.one(T.vault, "tollgate-backup-vault");
            assert.equal(vault.inputs.name, `${prefix}-backups`);
            assert.equal(vault.inputs.kmsKeyArn, undefined);
            assert.equal(vault.provider, undefined, "the primary vault uses the stack's default provider");
            assert.equal(vault.parent, run.one(T.backup, "tollgate-backup").urn);
        });

        it("makes the copy vault in eu-central-1 with the stack's own provider, through the vault's region argument, and no second provider", () => {
            const copyVault = run.one(T.vault, "tollgate-backup-copy-vault");
            assert.equal(copyVault.inputs.name, `${prefix}-backups`);
            assert.equal(copyVault.inputs.region, "eu-central-1");
            assert.equal(copyVault.provider, undefined, "the copy vault names a provider of its own");
            assert.equal(run.one(T.vault, "tollgate-backup-vault").inputs.region, undefined, "the primary vault stays in the stack's region");
            assert.deepEqual(run.ofType(T.provider).map((p) => p.name), [], "an explicit provider reads none of the stack's aws:* config");
        });

        it("runs one daily rule at 02:00 UTC into the vault, keeps each point 30 days and copies it, kept as long, to the eu-central-1 vault", () => {
            const plan = run.one(T.plan, "tollgate-backup-plan").inputs;
            assert.equal(plan.name, `${prefix}-tables`);
            assert.equal(plan.rules.length, 1);
            const [rule] = plan.rules;
            assert.equal(rule.schedule, "cron(0 2 * * ? *)");
            assert.equal(rule.targetVaultName, `${prefix}-backups`);
            assert.deepEqual(rule.lifecycle, { deleteAfter: 30 });
            assert.deepEqual(rule.copyActions, [{ destinationVaultArn: vaultArn("eu-central-1", `${prefix}-backups`), lifecycle: { deleteAfter: 30 } }]);
            assert.notEqual(rule.copyActions[0].destinationVaultArn, vaultArn(fakeRegion, `${prefix}-backups`));
        });

        it("selects exactly the stack's tables, by ARN, for the plan, as the backup role", () => {
            const selection = run.one(T.selection, "tollgate-backup-selection");
            const stackTables = run.ofType(T.table).map((table) => tableArn(table.inputs.name));
            assert.equal(stackTables.length, 4);
            assert.deepEqual([...selection.inputs.resources].sort(), stackTables.sort());
            assert.equal(selection.inputs.planId, "tollgate-backup-plan-id");
            assert.equal(selection.inputs.iamRoleArn, `arn:aws:iam::${fakeAccount}:role/${prefix}-backup`);
        });

        it("gives AWS Backup a role only it can assume, with the AWS managed backup and restore policies, attached before the selection exists", () => {
            const role = run.one(T.role, "tollgate-backup-role").inputs;
            assert.equal(role.name, `${prefix}-backup`);
            assert.deepEqual(JSON.parse(role.assumeRolePolicy).Statement, [{ Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" }]);
            const attachments = ["tollgate-backup-backup-policy", "tollgate-backup-restores-policy"].map((name) => run.one(T.attachment, name));
            assert.deepEqual(
                attachments.map((a) => [a.inputs.role, a.inputs.policyArn]),
                [
                    [`${prefix}-backup`, managedPolicy("AWSBackupServiceRolePolicyForBackup")],
                    [`${prefix}-backup`, managedPolicy("AWSBackupServiceRolePolicyForRestores")],
                ],
            );
            const selection = run.one(T.selection, "tollgate-backup-selection");
            for (const attachment of attachments) assert.ok(selection.dependencies.includes(attachment.urn), `the selection does not wait for ${attachment.name}`);
        });

        it("exports the vault's name", () => assert.equal(run.outputs.backupVaultName, `${prefix}-backups`));
    });

    it("passes the policy pack under the prod pack config, the backup role's managed policies included", async () => {
        const evaluation = await policyEvaluation(run, prodPackConfig);
        assert.deepEqual(evaluation.violations.map((v) => `${v.policyName} ${v.resourceName}: ${v.message}`), []);
    });

    it("has iam-no-wildcard-dynamodb read the backup role's attachments: they pass because AWS Backup's policies are not on its forbidden list", async () => {
        const forbidden = [...iamDefaults.forbiddenManagedPolicies, backupServicePolicies.backup, backupServicePolicies.restores];
        const evaluation = await policyEvaluation(run, { ...prodPackConfig, "iam-no-wildcard-dynamodb": { forbiddenManagedPolicies: forbidden } });
        const iam = evaluation.violations.filter((v) => v.policyName === "iam-no-wildcard-dynamodb");
        assert.deepEqual(iam.map((v) => v.resourceName).sort(), ["tollgate-backup-backup-policy", "tollgate-backup-restores-policy"]);
        assert.match(iam[0].message, /attaches the AWS managed policy AWSBackupServiceRolePolicyFor(Backup|Restores)/);
    });
});

describe("the dev stack: single-region tables and no AWS Backup", function () {
    let run: StackRun;

    before(async function () {
        this.timeout(180_000);
        run = await runStack("dev");
        assert.equal(run.error, undefined, `the program failed: ${run.error}`);
    });

    it("has no replica, no replication alarm or widget, and no backup resource", () => {
        for (const table of run.ofType(T.table)) assert.equal(table.inputs.replicas, undefined, table.inputs.name);
        assert.deepEqual(latencyAlarms(run), []);
        const titles = JSON.parse(run.one(T.dashboard, "tollgate-logging-dashboard").inputs.dashboardBody).widgets.map((w: any) => w.properties?.title);
        assert.ok(!titles.includes("DynamoDB replication latency (ms)"));
        assert.deepEqual(
            run.created.filter((r) => r.type.startsWith("aws:backup/") || r.type === T.backup || r.type === T.provider).map((r) => r.name),
            [],
        );
        assert.equal(run.outputs.backupVaultName, undefined);
    });
});

describe("a stack with a customer KMS key, two replica regions and a weekly backup, evaluated under mocks", function () {
    const prefix = "tollgate-dev";
    const regions = ["eu-central-1", "us-east-1"];
    let run: StackRun;

    before(async function () {
        this.timeout(180_000);
        run = await runStack("dev", {
            override: {
                "tollgate:tables": JSON.stringify({
                    kmsKeyArn: kmsKey(fakeRegion),
                    replicaRegions: regions,
                    replicaKmsKeyArns: Object.fromEntries(regions.map((region) => [region, kmsKey(region)])),
                }),
                "tollgate:appTables": JSON.stringify([
                    { name: "orders", hashKey: { name: "order_id", type: "S" }, stream: "NEW_AND_OLD_IMAGES" },
                    { name: "audit", hashKey: { name: "id", type: "S" }, replicaRegions: [] },
                    { name: "catalogue", hashKey: { name: "id", type: "S" }, replicaRegions: ["us-east-1"] },
                ]),
                "tollgate:backup": JSON.stringify({ enabled: true, schedule: "cron(30 4 ? * SUN *)", retentionDays: 90, copyToRegion: "us-east-1" }),
            },
        });
        assert.equal(run.error, undefined, `the program failed: ${run.error}`);
    });

    it("encrypts each replica with the key of its own region", () => {
        for (const name of ["sessions", "orders"]) {
            const table = tableNamed(run, `${prefix}-${name}`);
            assert.deepEqual(table.serverSideEncryption, { enabled: true, kmsKeyArn: kmsKey(fakeRegion) });
            assert.deepEqual(
                table.replicas.map((r: any) => [r.regionName, r.kmsKeyArn, r.pointInTimeRecovery]),
                regions.map((region) => [region, kmsKey(region), true]),
                name,
            );
        }
    });

    it("lets an app table name its own replica regions, or none", () => {
        assert.equal(tableNamed(run, `${prefix}-audit`).replicas, undefined);
        assert.equal(tableNamed(run, `${prefix}-audit`).streamEnabled, false);
        assert.deepEqual(tableNamed(run, `${prefix}-catalogue`).replicas.map((r: any) => r.regionName), ["us-east-1"]);
        assert.equal(tableNamed(run, `${prefix}-rate-limits`).replicas, undefined);
        assert.deepEqual(latencyAlarms(run), [
            `${prefix}-catalogue -> us-east-1`,
            `${prefix}-orders -> eu-central-1`,
            `${prefix}-orders -> us-east-1`,
            `${prefix}-sessions -> eu-central-1`,
            `${prefix}-sessions -> us-east-1`,
        ]);
    });

    it("encrypts the vault with the tables' key and the copy vault with the copy region's key, each named after its key", () => {
        assert.equal(run.one(T.vault, "tollgate-backup-vault").inputs.kmsKeyArn, kmsKey(fakeRegion));
        assert.equal(run.one(T.vault, "tollgate-backup-vault").inputs.name, backupVaultName(prefix, kmsKey(fakeRegion)));
        assert.equal(run.one(T.vault, "tollgate-backup-copy-vault").inputs.name, backupVaultName(prefix, kmsKey("us-east-1")));
        assert.equal(run.one(T.vault, "tollgate-backup-copy-vault").inputs.kmsKeyArn, kmsKey("us-east-1"));
        assert.equal(run.one(T.vault, "tollgate-backup-copy-vault").inputs.region, "us-east-1");
    });

    it("takes the schedule and retention from tollgate:backup, even outside prod when enabled is set", () => {
        const [rule] = run.one(T.plan, "tollgate-backup-plan").inputs.rules;
        assert.equal(rule.schedule, "cron(30 4 ? * SUN *)");
        assert.deepEqual(rule.lifecycle, { deleteAfter: 90 });
        assert.deepEqual(rule.copyActions, [{ destinationVaultArn: vaultArn("us-east-1", backupVaultName(prefix, kmsKey("us-east-1"))), lifecycle: { deleteAfter: 90 } }]);
        assert.equal(run.one(T.selection, "tollgate-backup-selection").inputs.resources.length, 5);
    });

    it("passes dynamodb-encryption with requireCustomerManagedKey and dynamodb-point-in-time-recovery, replicas included", async () => {
        const evaluation = await policyEvaluation(run, { ...prodPackConfig, "dynamodb-encryption": { requireCustomerManagedKey: true } });
        // This variant is the dev stack, without deletion protection: only the key and PITR rules are in question.
        const dynamodb = evaluation.violations.filter((v) => v.policyName === "dynamodb-encryption" || v.policyName === "dynamodb-point-in-time-recovery");
        assert.deepEqual(dynamodb.map((v) => v.message), []);
    });
});

describe("a PROVISIONED app table replicated to two regions, with a customer key, evaluated under mocks", function () {
    const prefix = "tollgate-dev";
    const regions = ["eu-central-1", "us-east-1"];
    const ledger = `${prefix}-ledger`;
    let run: StackRun;

    before(async function () {
        this.timeout(180_000);
        run = await runStack("dev", {
            override: {
                "tollgate:tables": JSON.stringify({
                    kmsKeyArn: kmsKey(fakeRegion),
                    deletionProtection: true,
                    replicaRegions: regions,
                    replicaKmsKeyArns: Object.fromEntries(regions.map((region) => [region, kmsKey(region)])),
                }),
                "tollgate:appTables": JSON.stringify([
                    {
                        name: "ledger",
                        hashKey: { name: "id", type: "S" },
                        globalSecondaryIndexes: [{ name: "ByAccount", hashKey: { name: "account", type: "S" } }],
                        billingMode: "PROVISIONED",
                        readCapacity: 5,
                        writeCapacity: 5,
                        tags: { owner: "ledger-team" },
                    },
                ]),
            },
        });
        assert.equal(run.error, undefined, `the program failed: ${run.error}`);
    });

    const replicasOf = (tableName: string) => run.ofType(T.tableReplica).filter((r) => r.inputs.globalTableArn === tableArn(tableName));

    it("creates the table without replica blocks, streaming NEW_AND_OLD_IMAGES as a global table does", () => {
        const table = tableNamed(run, ledger);
        assert.equal(table.billingMode, "PROVISIONED");
        assert.equal(table.replicas, undefined, "replica blocks are added while the table is created, before its autoscaling exists");
        assert.deepEqual([table.streamEnabled, table.streamViewType], [true, "NEW_AND_OLD_IMAGES"]);
    });

    it("makes one TableReplica per region, in that region, with its key, point-in-time recovery, deletion protection and the table's tags", () => {
        const replicas = replicasOf(ledger);
        assert.deepEqual(replicas.map((r) => r.inputs.region).sort(), regions);
        for (const replica of replicas) {
            const region = replica.inputs.region;
            assert.equal(replica.inputs.kmsKeyArn, kmsKey(region), region);
            assert.equal(replica.inputs.pointInTimeRecovery, true, region);
            assert.equal(replica.inputs.deletionProtectionEnabled, true, region);
            assert.equal(replica.inputs.tags.owner, "ledger-team", region);
            assert.equal(replica.inputs.tags["tollgate:environment"], "dev", region);
            assert.equal(replica.provider, undefined, "the stack's own provider makes it, through region");
        }
    });

    it("makes each replica only after every autoscaling target and policy of the table and its index exists", () => {
        const scaling = [...run.ofType(T.scalingTarget), ...run.ofType(T.scalingPolicy)].filter((r) => String(r.inputs.resourceId).startsWith(`table/${ledger}`));
        assert.deepEqual(
            run.ofType(T.scalingPolicy)
                .filter((p) => String(p.inputs.resourceId).startsWith(`table/${ledger}`))
                .map((p) => `${p.inputs.resourceId} ${p.inputs.scalableDimension}`)
                .sort(),
            [
                `table/${ledger} dynamodb:table:ReadCapacityUnits`,
                `table/${ledger} dynamodb:table:WriteCapacityUnits`,
                `table/${ledger}/index/ByAccount dynamodb:index:ReadCapacityUnits`,
                `table/${ledger}/index/ByAccount dynamodb:index:WriteCapacityUnits`,
            ],
        );
        assert.equal(scaling.length, 8);
        for (const replica of replicasOf(ledger)) {
            const missing = scaling.filter((r) => !replica.dependencies.includes(r.urn)).map((r) => r.name);
            assert.deepEqual(missing, [], `the replica in ${replica.inputs.region} does not wait for them`);
            assert.ok(replica.propertyDependencies.globalTableArn?.includes(run.where(T.table, "name", ledger).urn));
        }
        const order = run.resources.map((r) => r.urn);
        const lastScaling = Math.max(...scaling.map((r) => order.indexOf(r.urn)));
        for (const replica of replicasOf(ledger)) assert.ok(order.indexOf(replica.urn) > lastScaling, "registered before the autoscaling it depends on");
    });

    it("keeps the on-demand tables' replicas as blocks of the table, and alarms on replication latency to each region of every global table", () => {
        assert.deepEqual(tableNamed(run, `${prefix}-sessions`).replicas.map((r: any) => r.regionName), regions);
        assert.deepEqual(run.ofType(T.tableReplica).filter((r) => r.inputs.globalTableArn !== tableArn(ledger)), []);
        assert.ok(regions.every((region) => latencyAlarms(run).includes(`${ledger} -> ${region}`)));
    });

    it("passes the pack with customer keys required and deletion protection mandatory, the replicas' keys, recovery and protection included", async () => {
        const evaluation = await policyEvaluation(run, { ...devPackConfig, "dynamodb-encryption": { requireCustomerManagedKey: true }, "dynamodb-deletion-protection": "mandatory" });
        assert.deepEqual(evaluation.violations.map((v) => `${v.policyName} ${v.resourceName}: ${v.message}`), []);
    });
});

describe("the program with bad replica or backup config", function () {
    const badConfigs: { title: string; config: Record<string, string>; names: string }[] = [
        {
            title: "a replica region without a KMS key while the tables use a customer key",
            config: devConfigWith({ "tollgate:tables": { kmsKeyArn: kmsKey(fakeRegion), replicaRegions: ["eu-central-1"] } }),
            names: "tollgate:tables.replicaKmsKeyArns: no key for replica region 'eu-central-1'",
        },
        {
            title: "a replicated app table asking for another stream view",
            config: devConfigWith({
                "tollgate:tables": { replicaRegions: ["eu-central-1"] },
                "tollgate:appTables": [{ name: "orders", hashKey: { name: "id", type: "S" }, stream: "NEW_IMAGE" }],
            }),
            names: "tollgate:appTables[orders].stream: 'orders' is replicated to eu-central-1, and a global table streams NEW_AND_OLD_IMAGES",
        },
        {
            title: "a replica in the stack's own region",
            config: devConfigWith({ "tollgate:tables": { replicaRegions: [fakeRegion] } }),
            names: `tollgate:tables.replicaRegions[0]: '${fakeRegion}' is the stack's own region`,
        },
        {
            title: "an app table whose alarm would take the name of another table's index alarm",
            config: devConfigWith({
                "tollgate:appTables": [
                    { name: "orders", hashKey: { name: "id", type: "S" }, globalSecondaryIndexes: [{ name: "byUser", hashKey: { name: "user", type: "S" } }] },
                    { name: "orders-byUser", hashKey: { name: "id", type: "S" } },
                ],
            }),
            names: "tollgate:appTables[orders-byUser].name: the alarm {prefix}-orders-byUser-read-throttles would be both this table's and table 'orders''s",
        },
        {
            title: "a backup schedule that is not an AWS cron expression",
            config: devConfigWith({ "tollgate:backup": { enabled: true, schedule: "cron(0 2 * * * *)" } }),
            names: "tollgate:backup.schedule: 'cron(0 2 * * * *)' is not an AWS cron expression",
        },
    ];
    let runs: StackRun[];

    before(async function () {
        this.timeout(300_000);
        runs = await runEachWithConfig("dev", badConfigs.map((bad) => bad.config));
    });

    badConfigs.forEach((bad, i) => {
        it(`stops on ${bad.title}, naming the key, with no resource created`, () => {
            const run = runs[i];
            assert.ok(run.error, "the program should have failed");
            assert.ok(run.error.includes(bad.names), `the error does not say '${bad.names}':\n${run.error}`);
            assert.deepEqual(run.created.map((r) => `${r.type} ${r.name}`), []);
        });
    });
});

describe("resolveSettings on replica and backup keys", () => {
    const problemsOf = (raw: TollgateConfigInput, region = "eu-west-1"): string => {
        try {
            resolveSettings(raw as Record<string, unknown>, { region });
        } catch (error: any) {
            return error.message;
        }
        assert.fail("the settings were accepted");
    };

    it("turns backup on by default in prod only, and lets the stack say otherwise", () => {
        assert.equal(resolveSettings({ environment: "prod" }).backup.enabled, true);
        assert.equal(resolveSettings({ environment: "staging" }).backup.enabled, false);
        assert.equal(resolveSettings({}).backup.enabled, false);
        assert.equal(resolveSettings({ environment: "prod", backup: { enabled: false } }).backup.enabled, false);
        assert.deepEqual(resolveSettings({}).backup, { enabled: false, schedule: "cron(0 2 * * ? *)", retentionDays: 30 });
    });

    it("accepts AWS cron forms: weekdays by name, last day of the month, nth weekday, hourly", () => {
        for (const schedule of ["cron(0 5 ? * MON-FRI *)", "cron(15 3 L * ? *)", "cron(0 1 ? * 2#1 *)", "cron(0 * * * ? *)"]) {
            assert.equal(resolveSettings({ backup: { schedule } }).backup.schedule, schedule);
        }
    });

    it("refuses schedules AWS Backup would refuse, naming tollgate:backup.schedule", () => {
        assert.match(problemsOf({ backup: { schedule: "rate(1 day)" } }), /tollgate:backup\.schedule: 'rate\(1 day\)' must be cron\(minutes hours/);
        assert.match(problemsOf({ backup: { schedule: "cron(0 25 * * ? *)" } }), /tollgate:backup\.schedule: .*hours field is bigger than upper limit '23'/);
        assert.match(problemsOf({ backup: { schedule: "cron(0 2 * *)" } }), /tollgate:backup\.schedule: .*Expected 6 values/);
        assert.match(problemsOf({ backup: { schedule: "cron(*/15 * * * ? *)" } }), /tollgate:backup\.schedule: .*runs more than once an hour/);
        assert.match(problemsOf({ backup: { retentionDays: 0 } }), /tollgate:backup\.retentionDays: /);
    });

    it("refuses a copy region equal to the stack's region, and region names AWS does not use", () => {
        assert.match(problemsOf({ backup: { copyToRegion: "eu-west-1" } }), /tollgate:backup\.copyToRegion: 'eu-west-1' is the stack's own region/);
        assert.match(problemsOf({ backup: { copyToRegion: "Frankfurt" } }), /tollgate:backup\.copyToRegion: must be an AWS region name/);
        assert.match(problemsOf({ tables: { replicaRegions: ["eu_central_1"] } }), /tollgate:tables\.replicaRegions\[0\]: must be an AWS region name/);
    });

    it("refuses a region listed twice, and an app table replicated to the stack's region", () => {
        assert.match(problemsOf({ tables: { replicaRegions: ["eu-central-1", "eu-central-1"] } }), /tollgate:tables\.replicaRegions\[1\]: 'eu-central-1' is listed twice/);
        assert.match(
            problemsOf({ appTables: [{ name: "orders", hashKey: { name: "id", type: "S" }, replicaRegions: ["eu-west-1"] }] }),
            /tollgate:appTables\[orders\]\.replicaRegions\[0\]: 'eu-west-1' is the stack's own region/,
        );
    });

    it("refuses replica keys without a table key, and a replica key from another region", () => {
        assert.match(problemsOf({ tables: { replicaRegions: ["eu-central-1"], replicaKmsKeyArns: { "eu-central-1": kmsKey("eu-central-1") } } }), /tollgate:tables\.replicaKmsKeyArns: only used with tables\.kmsKeyArn/);
        assert.match(
            problemsOf({ tables: { kmsKeyArn: kmsKey("eu-west-1"), replicaRegions: ["eu-central-1"], replicaKmsKeyArns: { "eu-central-1": kmsKey("us-east-1") } } }),
            /tollgate:tables\.replicaKmsKeyArns\.eu-central-1: the key is in 'us-east-1'/,
        );
    });

    it("needs a replica key for an app table's own replica region too", () => {
        const problems = problemsOf({
            tables: { kmsKeyArn: kmsKey("eu-west-1") },
            appTables: [{ name: "orders", hashKey: { name: "id", type: "S" }, replicaRegions: ["ap-southeast-2"] }],
        });
        assert.match(problems, /tollgate:tables\.replicaKmsKeyArns: no key for replica region 'ap-southeast-2'/);
    });

    it("keeps rate-limits regional whatever the stack-wide list says, and gives the other built-in table the list", () => {
        assert.deepEqual(replicaRegionsOf(rateLimitsTable, ["eu-central-1"]), []);
        assert.deepEqual(replicaRegionsOf(sessionsTable, ["eu-central-1"]), ["eu-central-1"]);
    });
});

describe("Tables and Backup used outside index.ts", function () {
    const fixture = path.join(__dirname, "fixtures", "program-data-tier", "index.ts");
    const runFixture = async (config: Record<string, string> = {}) => new StackRun(await runProgramIsolated({ program: fixture, stack: "components", config, timeoutMs: 180_000 }));
    let runs: StackRun[];

    before(async function () {
        this.timeout(300_000);
        runs = await Promise.all([runFixture(), runFixture({ "fixture:case": "stream" })]);
        runs.push(...(await Promise.all([runFixture({ "fixture:case": "key" }), runFixture({ "fixture:case": "alarm" })])));
    });

    it("backs up daily at 02:00 for 30 days into one vault, with no copy and no extra provider, when only the tables are given", () => {
        const [run] = runs;
        assert.equal(run.error, undefined, run.error);
        const [rule] = run.one(T.plan, "vault-plan").inputs.rules;
        assert.deepEqual([rule.schedule, rule.lifecycle, rule.copyActions], ["cron(0 2 * * ? *)", { deleteAfter: 30 }, undefined]);
        assert.deepEqual(run.ofType(T.vault).map((v) => v.name), ["vault-vault"]);
        assert.deepEqual(run.ofType(T.provider), []);
        assert.deepEqual(run.one(T.plan, "vault-plan").inputs.tags, { owner: "data-team" }, "the plan's transform applies");
        assert.deepEqual(run.one(T.selection, "vault-selection").inputs.resources, [tableArn("demo-things"), tableArn("demo-local")]);
    });

    it("replicates a spec with no list of its own, and not one that says []", () => {
        const [run] = runs;
        assert.deepEqual(run.one(T.table, "store-things").inputs.replicas, [{ regionName: "eu-central-1", pointInTimeRecovery: true, deletionProtectionEnabled: false, propagateTags: true }]);
        assert.equal(run.one(T.table, "store-local").inputs.replicas, undefined);
    });

    it("refuses a replicated spec with another stream view, a customer key with no replica key, and two tables with one alarm name, naming the tables", () => {
        assert.match(runs[1].error ?? "", /Tables: 'things' has replicas, so it streams NEW_AND_OLD_IMAGES; its spec asks for KEYS_ONLY/);
        assert.match(runs[2].error ?? "", /Tables: 'things' is encrypted with a customer key, and replicaKmsKeyArns has no key for eu-central-1/);
        assert.match(runs[3].error ?? "", /Tables: tables 'things' and 'things-local' would both have the alarm demo-things-local-read-throttles; rename a table or an index/);
        for (const run of runs.slice(1)) assert.deepEqual(run.ofType(T.table), []);
    });
});
