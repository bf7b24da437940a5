/**
 * A customer key added or changed on a stack with backup and replicas, under
 * mocks: the names of what a key change replaces, before and after. A vault's
 * key and a TableReplica's key cannot change in place, so each is replaced;
 * what makes the replacement possible is a vault name that follows the key (the
 * new vault is made beside the old one, which Pulumi lets go of rather than
 * delete) and a replica that goes before its successor comes.
 */
import * as assert from "node:assert/strict";
import { backupVaultName } from "../components/backup";
import { fakeAccount, fakeRegion } from "../policies/offline/fakes";
import { devConfigWith, runEachWithConfig, type StackRun } from "./support/program";

const T = {
    table: "aws:dynamodb/table:Table",
    vault: "aws:backup/vault:Vault",
    plan: "aws:backup/plan:Plan",
    tableReplica: "aws:dynamodb/tableReplica:TableReplica",
} as const;

const copyRegion = "eu-central-1";
const keys = {
    a: `arn:aws:kms:${fakeRegion}:${fakeAccount}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    b: `arn:aws:kms:${fakeRegion}:${fakeAccount}:key/0987dcba-09ba-87dc-65fe-0987654321fe`,
    copyA: `arn:aws:kms:${copyRegion}:${fakeAccount}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    copyB: `arn:aws:kms:${copyRegion}:${fakeAccount}:key/0987dcba-09ba-87dc-65fe-0987654321fe`,
};

describe("backupVaultName: a vault's name follows its key", () => {
    it("keeps {prefix}-backups on the AWS-managed key, the name every stack without a customer key has always had", () => {
        assert.equal(backupVaultName("tollgate-prod"), "tollgate-prod-backups");
    });

    it("ends in the first 8 hex digits of the SHA-256 of the key's ARN with a customer key", () => {
        // printf '%s' <key ARN> | sha256sum | cut -c1-8
        assert.equal(backupVaultName("tollgate-prod", keys.a), "tollgate-prod-backups-32a89154");
        assert.equal(backupVaultName("tollgate-prod", keys.b), "tollgate-prod-backups-e6fc6c92");
        assert.equal(backupVaultName("tollgate-prod", keys.copyA), "tollgate-prod-backups-439b3b64", "the same key id in another region is another key");
    });

    it("stays within AWS's 50 characters for every prefix the schema allows, leaving out '-backups' past a 33-character prefix", () => {
        const at33 = "p".repeat(33);
        const at34 = "p".repeat(34);
        const at40 = "p".repeat(40);
        assert.equal(backupVaultName(at33, keys.a), `${at33}-backups-32a89154`);
        assert.equal(backupVaultName(at34, keys.a), `${at34}-32a89154`);
        for (const prefix of [at33, at34, at40, "a"]) {
            for (const key of [undefined, keys.a]) {
                const name = backupVaultName(prefix, key);
                assert.match(name, /^[A-Za-z0-9_-]{2,50}$/, `${name} (${name.length} characters)`);
            }
        }
    });
});

describe("a customer key added, then changed, on a stack with backup, a copy region and replicas", function () {
    const prefix = "tollgate-dev";
    const ledger = `${prefix}-ledger`;
    /** The dev stack with backup copied to eu-central-1, every table replicated there, and a PROVISIONED app table (so a TableReplica). */
    const withKeys = (tables: Record<string, unknown>) =>
        devConfigWith({
            "tollgate:tables": { replicaRegions: [copyRegion], ...tables },
            "tollgate:backup": { enabled: true, copyToRegion: copyRegion },
            "tollgate:appTables": [{ name: "ledger", hashKey: { name: "id", type: "S" }, billingMode: "PROVISIONED", readCapacity: 5, writeCapacity: 5 }],
        });
    const steps = [
        { title: "no customer key", config: withKeys({}) },
        { title: "key A, copy key A", config: withKeys({ kmsKeyArn: keys.a, replicaKmsKeyArns: { [copyRegion]: keys.copyA } }) },
        { title: "key B, copy key A", config: withKeys({ kmsKeyArn: keys.b, replicaKmsKeyArns: { [copyRegion]: keys.copyA } }) },
        { title: "key B, copy key B", config: withKeys({ kmsKeyArn: keys.b, replicaKmsKeyArns: { [copyRegion]: keys.copyB } }) },
    ];
    let runs: StackRun[];

    before(async function () {
        this.timeout(360_000);
        runs = await runEachWithConfig("dev", steps.map((step) => step.config));
        runs.forEach((run, i) => assert.equal(run.error, undefined, `${steps[i].title}: ${run.error}`));
    });

    /** Per step: the Pulumi name of a resource of `type` and the physical name (or other input) it gets. */
    const across = (type: string, name: string, input: string) => runs.map((run) => run.inputs(type, name)[input]);

    it("names each vault after its own key, so the vault of a new key never takes the old one's name", () => {
        assert.deepEqual(across(T.vault, "tollgate-backup-vault", "name"), [
            `${prefix}-backups`,
            `${prefix}-backups-32a89154`,
            `${prefix}-backups-e6fc6c92`,
            `${prefix}-backups-e6fc6c92`,
        ]);
        assert.deepEqual(across(T.vault, "tollgate-backup-vault", "kmsKeyArn"), [undefined, keys.a, keys.b, keys.b]);
        assert.deepEqual(across(T.vault, "tollgate-backup-copy-vault", "name"), [
            `${prefix}-backups`,
            `${prefix}-backups-439b3b64`,
            `${prefix}-backups-439b3b64`,
            `${prefix}-backups-133f189b`,
        ]);
        assert.deepEqual(across(T.vault, "tollgate-backup-copy-vault", "kmsKeyArn"), [undefined, keys.copyA, keys.copyA, keys.copyB]);
        assert.deepEqual(
            runs.map((run) => run.outputs.backupVaultName),
            across(T.vault, "tollgate-backup-vault", "name"),
        );
    });

    it("keeps each vault under its Pulumi name, made before the old one goes, and lets go of the old one instead of deleting it", () => {
        for (const run of runs) {
            for (const vault of run.ofType(T.vault)) {
                assert.equal(vault.deleteBeforeReplace, false, `${vault.name}: the new vault is made first`);
                assert.equal(vault.retainOnDelete, true, `${vault.name}: the old vault, and its recovery points, stay in the account`);
            }
            assert.deepEqual(run.ofType(T.vault).map((vault) => vault.name).sort(), ["tollgate-backup-copy-vault", "tollgate-backup-vault"]);
        }
    });

    it("points the plan's rule at the new vault and its copy action at the new copy vault", () => {
        runs.forEach((run, i) => {
            const [rule] = run.inputs(T.plan, "tollgate-backup-plan").rules;
            const vault = run.inputs(T.vault, "tollgate-backup-vault").name;
            const copyVault = run.inputs(T.vault, "tollgate-backup-copy-vault").name;
            assert.equal(rule.targetVaultName, vault, steps[i].title);
            assert.equal(rule.copyActions[0].destinationVaultArn, `arn:aws:backup:${copyRegion}:${fakeAccount}:backup-vault:${copyVault}`, steps[i].title);
        });
    });

    it("replaces the PROVISIONED table's replica on a copy-region key change by deleting it first, as its region holds one replica of the table", () => {
        const replicaName = "tollgate-tables-ledger-replica-eu-central-1";
        assert.deepEqual(across(T.tableReplica, replicaName, "kmsKeyArn"), [undefined, keys.copyA, keys.copyA, keys.copyB]);
        for (const run of runs) assert.equal(run.one(T.tableReplica, replicaName).deleteBeforeReplace, true);
    });

    it("keeps every table's name: a table's key changes in place", () => {
        const names = runs.map((run) => run.ofType(T.table).map((table) => `${table.name} ${table.inputs.name}`).sort());
        for (const later of names.slice(1)) assert.deepEqual(later, names[0]);
        assert.ok(names[0].includes(`tollgate-tables-ledger ${ledger}`));
        assert.deepEqual(
            runs.map((run) => run.inputs(T.table, "tollgate-tables-sessions").serverSideEncryption),
            [{ enabled: true }, { enabled: true, kmsKeyArn: keys.a }, { enabled: true, kmsKeyArn: keys.b }, { enabled: true, kmsKeyArn: keys.b }],
        );
    });
});
