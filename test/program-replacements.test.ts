/**
 * What a change that replaces one of tollgate's fixed-name resources would do,
 * read off the resource options of the shipped stacks under mocks: the
 * resources that hold no data are deleted before their replacement (AWS keeps
 * one of each name), the tables are protected wherever deletion protection is
 * on (so a replacement stops at preview), and the backup vaults are made
 * before the old one is let go of, and never deleted.
 */
import * as assert from "node:assert/strict";
import { evaluatePolicies } from "../policies/offline/evaluate";
import { packEnforcementLevel, tollgatePolicies } from "../policies/rules";
import prodPackConfig from "../policies/config/prod.json";
import { resolveSettings } from "../specs/config";
import { loadStackConfig } from "../specs/stackFile";
import { runEachWithConfig, runStack, stackConfig, type StackRun } from "./support/program";

const T = {
    table: "aws:dynamodb/table:Table",
    tableReplica: "aws:dynamodb/tableReplica:TableReplica",
    fn: "aws:lambda/function:Function",
    role: "aws:iam/role:Role",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    vault: "aws:backup/vault:Vault",
} as const;

for (const stack of ["dev", "prod"] as const) {
    describe(`the ${stack} stack's fixed-name resources, and what replacing one would do`, function () {
        const { settings } = loadStackConfig(stack);
        let run: StackRun;

        before(async function () {
            this.timeout(180_000);
            run = await runStack(stack);
            assert.equal(run.error, undefined, run.error);
        });

        it("deletes the Lambda function, the IAM roles and the log groups before their replacement, as each keeps its name", () => {
            const named = [...run.ofType(T.fn), ...run.ofType(T.role), ...run.ofType(T.logGroup)];
            assert.deepEqual(
                named.map((resource) => `${resource.name} ${resource.inputs.name}`).sort(),
                [
                    `tollgate-gateway-function ${settings.prefix}-gateway`,
                    `tollgate-gateway-role ${settings.prefix}-gateway`,
                    `tollgate-logging-access /aws/apigateway/${settings.prefix}-api`,
                    `tollgate-logging-lambda /aws/lambda/${settings.prefix}-gateway`,
                    ...(stack === "prod" ? [`tollgate-backup-role ${settings.prefix}-backup`] : []),
                ].sort(),
            );
            for (const resource of named) assert.equal(resource.deleteBeforeReplace, true, resource.name);
        });

        it(`${stack === "prod" ? "protects" : "leaves unprotected"} every table, as its deletion protection is ${stack === "prod" ? "on" : "off"}`, () => {
            assert.equal(settings.tables.protect, stack === "prod");
            const tables = run.ofType(T.table);
            assert.equal(tables.length, 4);
            for (const table of tables) {
                assert.equal(table.protect, stack === "prod", table.inputs.name);
                assert.equal(table.deleteBeforeReplace, undefined, `${table.inputs.name}: the order is left to the provider`);
                assert.equal(table.retainOnDelete, false, table.inputs.name);
            }
        });

        if (stack === "prod") {
            it("makes a new backup vault before letting go of the old one, which it never deletes", () => {
                const vaults = run.ofType(T.vault);
                assert.equal(vaults.length, 2);
                for (const vault of vaults) assert.deepEqual([vault.deleteBeforeReplace, vault.retainOnDelete, vault.protect], [false, true, false], vault.name);
            });
        }
    });
}

describe("tollgate:tables.protect", function () {
    const prodWithTables = (tables: Record<string, unknown>) => stackConfig("prod", { override: { "tollgate:tables": JSON.stringify({ replicaRegions: ["eu-central-1"], ...tables }) } });
    let unprotected: StackRun;
    let protectedDev: StackRun;
    let provisioned: StackRun;

    before(async function () {
        this.timeout(360_000);
        [unprotected, protectedDev, provisioned] = await runEachWithConfig("prod", [
            prodWithTables({ deletionProtection: true, protect: false }),
            prodWithTables({ deletionProtection: false, protect: true }),
            {
                ...prodWithTables({ deletionProtection: true }),
                "tollgate:appTables": JSON.stringify([{ name: "ledger", hashKey: { name: "id", type: "S" }, billingMode: "PROVISIONED", readCapacity: 5, writeCapacity: 5 }]),
            },
        ]);
        for (const run of [unprotected, protectedDev, provisioned]) assert.equal(run.error, undefined, run.error);
    });

    it("defaults to tollgate:tables.deletionProtection, and may be set apart from it", () => {
        assert.equal(resolveSettings({}).tables.protect, false);
        assert.equal(resolveSettings({ tables: { deletionProtection: true } }).tables.protect, true);
        assert.equal(resolveSettings({ tables: { deletionProtection: true, protect: false } }).tables.protect, false);
        assert.equal(resolveSettings({ tables: { protect: true } }).tables.protect, true);
        assert.match(
            (() => {
                try {
                    resolveSettings({ tables: { protect: "yes" } });
                    return "";
                } catch (error) {
                    return (error as Error).message;
                }
            })(),
            /tollgate:tables\.protect: must be true or false, got 'yes'/,
        );
    });

    it("protects the tables as it says, whatever deletion protection says", () => {
        assert.deepEqual([...new Set(unprotected.ofType(T.table).map((table) => table.protect))], [false]);
        assert.deepEqual([...new Set(unprotected.ofType(T.table).map((table) => table.inputs.deletionProtectionEnabled))], [true]);
        assert.deepEqual([...new Set(protectedDev.ofType(T.table).map((table) => table.protect))], [true]);
        assert.deepEqual([...new Set(protectedDev.ofType(T.table).map((table) => table.inputs.deletionProtectionEnabled))], [false]);
    });

    it("protects a PROVISIONED table's TableReplica too, which is still deleted before its replacement once protection is lifted", () => {
        const [replica] = provisioned.ofType(T.tableReplica);
        assert.equal(replica.name, "tollgate-tables-ledger-replica-eu-central-1");
        assert.deepEqual([replica.protect, replica.deleteBeforeReplace], [true, true]);
    });

    it("has the prod pack refuse deletion protection without protect, naming tollgate:tables.protect", async () => {
        const evaluation = await evaluatePolicies(unprotected.resources, { policies: tollgatePolicies, packEnforcementLevel, config: prodPackConfig });
        const refused = evaluation.violations.filter((v) => v.policyName === "dynamodb-protect");
        assert.deepEqual(refused.map((v) => v.resourceName).sort(), ["tollgate-tables-products", "tollgate-tables-rate-limits", "tollgate-tables-sessions", "tollgate-tables-users"]);
        for (const violation of refused) {
            assert.equal(violation.enforcementLevel, "mandatory");
            assert.match(violation.message, /; set tollgate:tables\.protect: true in the stack's config \(resource option: protect: true\)\.$/);
        }
        const passing = await evaluatePolicies(provisioned.resources, { policies: tollgatePolicies, packEnforcementLevel, config: prodPackConfig });
        assert.deepEqual(passing.violations.filter((v) => v.policyName === "dynamodb-protect" || v.policyName === "fixed-name-delete-before-replace"), []);
    });
});
