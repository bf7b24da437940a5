/**
 * Backup: AWS Backup of the stack's tables (`tollgate:backup`). An encrypted
 * vault in the stack's region, a plan with one scheduled rule that keeps each
 * recovery point `retentionDays`, optionally a copy of every recovery point to
 * a vault in another region (the provider's resource-level `region`, so the
 * copy vault is made with the stack's own provider: its credentials, assumed
 * role and account guards), the selection of the tables by ARN, and the role
 * AWS Backup works as.
 *
 * Point-in-time recovery (on the tables, 35 days) undoes a bad write from the
 * last weeks; these backups are the longer-lived copies, kept apart from the
 * table (a dropped table keeps its recovery points) and, with a copy region,
 * out of the stack's region.
 *
 * A vault's key is fixed when the vault is made: a new key means a new vault,
 * and AWS deletes no vault that holds recovery points. So a vault's name
 * follows its key (`backupVaultName`), the new vault is made beside the old
 * one, and Pulumi lets go of the old vault instead of deleting it
 * (`retainOnDelete`): its recovery points stay restorable until each expires.
 */
import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { configDefaults } from "../specs/config";
import { transformed, type Transform } from "./transform";

export interface BackupArgs {
    /**
     * Prefix of the vault, plan, selection and role names: the vault is
     * `{prefix}-backups`, or with a customer key a name that follows the key
     * (`backupVaultName`).
     * @example "tollgate-prod"
     */
    prefix: string;
    /** ARNs of the tables to back up (the selection names them one by one). */
    tableArns: pulumi.Input<string>[];
    /**
     * When the rule runs: an AWS cron expression, in UTC.
     * @default "cron(0 2 * * ? *)" (every day at 02:00)
     */
    schedule?: string;
    /**
     * Days AWS Backup keeps each recovery point, and each copy, before deleting it.
     * @default 30
     */
    retentionDays?: number;
    /**
     * Region of a second vault every recovery point is copied to (the vault's
     * `region` argument; the stack's provider makes it). DynamoDB copies across regions need AWS Backup's advanced DynamoDB
     * features, on by default in accounts that made their first vault after November 2021.
     * @default no copy
     * @example "eu-central-1"
     */
    copyToRegion?: string;
    /**
     * KMS key (in the stack's region) that encrypts the vault. The vault's name
     * follows it: changing the key makes a new vault and leaves the old one,
     * with its recovery points, outside the stack.
     * @default the AWS-managed key `aws/backup`
     */
    kmsKeyArn?: pulumi.Input<string>;
    /**
     * KMS key in `copyToRegion` that encrypts the copy vault; its name follows the key as the vault's does.
     * @default the AWS-managed key `aws/backup` of that region
     */
    copyKmsKeyArn?: pulumi.Input<string>;
    /** Tags added to the vaults, the plan, the role and every recovery point. @default {} */
    tags?: Record<string, string>;
    /** Change any argument of the resources this component creates. */
    transform?: {
        vault?: Transform<aws.backup.VaultArgs>;
        copyVault?: Transform<aws.backup.VaultArgs>;
        plan?: Transform<aws.backup.PlanArgs>;
        role?: Transform<aws.iam.RoleArgs>;
        /** Applied to both managed-policy attachments (the name tells which). */
        policyAttachment?: Transform<aws.iam.RolePolicyAttachmentArgs>;
        selection?: Transform<aws.backup.SelectionArgs>;
    };
}

/** The AWS managed policies of AWS Backup's service role: take backups, and restore them. */
export const backupServicePolicies = {
    backup: "AWSBackupServiceRolePolicyForBackup",
    restores: "AWSBackupServiceRolePolicyForRestores",
} as const;

/** AWS Backup's longest vault name (CreateBackupVault: `^[a-zA-Z0-9\-\_]{2,50}$`). */
const vaultNameMaxLength = 50;

/**
 * The name of the vault a key encrypts. On the AWS-managed key it is
 * `{prefix}-backups`; with a customer key it ends in the first 8 hex digits of
 * the SHA-256 of the key's ARN, `{prefix}-backups-{8 hex}`, or `{prefix}-{8 hex}`
 * when that would pass the 50 characters a vault name allows (a prefix of more
 * than 33). A vault's key cannot change (a new key replaces the vault), and AWS
 * keeps one name per account and region, so each key's vault has a name of
 * its own and the new vault can be made while the old one still exists.
 * @example backupVaultName("tollgate-prod") === "tollgate-prod-backups"
 */
export function backupVaultName(prefix: string, kmsKeyArn?: string): string {
    // Vault names allow letters, digits, '-' and '_' only.
    const base = prefix.replace(/[^A-Za-z0-9_-]/g, "-");
    if (!kmsKeyArn) return `${base}-backups`;
    const key = createHash("sha256").update(kmsKeyArn).digest("hex").slice(0, 8);
    const named = `${base}-backups-${key}`;
    return named.length <= vaultNameMaxLength ? named : `${base}-${key}`;
}

/** The vault's name as an Input: plain without a key, else once the key's ARN is known. */
function vaultNameFor(prefix: string, kmsKeyArn: pulumi.Input<string> | undefined): pulumi.Input<string> {
    if (kmsKeyArn === undefined || typeof kmsKeyArn === "string") return backupVaultName(prefix, kmsKeyArn || undefined);
    return pulumi.output(kmsKeyArn).apply((arn) => backupVaultName(prefix, arn || undefined));
}

function resolveBackupArgs(args: BackupArgs) {
    if (args.tableArns.length === 0) throw new pulumi.RunError("Backup: no tables to back up (tableArns is empty)");
    const defaults = configDefaults().backup;
    return {
        ...args,
        schedule: args.schedule ?? defaults.schedule,
        retentionDays: args.retentionDays ?? defaults.retentionDays,
        tags: args.tags ?? {},
        transform: args.transform ?? {},
        vaultName: vaultNameFor(args.prefix, args.kmsKeyArn),
        copyVaultName: vaultNameFor(args.prefix, args.copyKmsKeyArn),
    };
}

/**
 * How a vault is replaced (a new key, so a new name): the new vault is made
 * first, then Pulumi forgets the old one rather than delete it. AWS refuses to
 * delete a vault that holds recovery points, and those are what it is for;
 * left in the account, each expires on its own lifecycle.
 */
const vaultOptions = { deleteBeforeReplace: false, retainOnDelete: true } as const;

export class Backup extends pulumi.ComponentResource {
    readonly vault: aws.backup.Vault;
    /** Set with `copyToRegion`: the vault in that region. */
    readonly copyVault?: aws.backup.Vault;
    readonly plan: aws.backup.Plan;
    /** The role AWS Backup assumes to back up and restore the tables. */
    readonly role: aws.iam.Role;
    readonly policyAttachments: { backup: aws.iam.RolePolicyAttachment; restores: aws.iam.RolePolicyAttachment };
    readonly selection: aws.backup.Selection;

    constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tollgate:backup:Backup", name, {}, opts);
        const settings = resolveBackupArgs(args);
        const { prefix, tags, transform } = settings;
        const child = { parent: this };

        this.vault = new aws.backup.Vault(...transformed(transform.vault, `${name}-vault`, { name: settings.vaultName, kmsKeyArn: settings.kmsKeyArn, tags }, { ...child, ...vaultOptions }));

        if (settings.copyToRegion) {
            // The resource-level region of provider v7: the stack's provider (its
            // credentials, assumeRole, allowedAccountIds) manages the vault there,
            // where a second provider would read none of the stack's aws:* config.
            this.copyVault = new aws.backup.Vault(
                ...transformed(
                    transform.copyVault,
                    `${name}-copy-vault`,
                    { name: settings.copyVaultName, kmsKeyArn: settings.copyKmsKeyArn, region: settings.copyToRegion, tags },
                    { ...child, ...vaultOptions },
                ),
            );
        }

        const lifecycle = { deleteAfter: settings.retentionDays };
        this.plan = new aws.backup.Plan(
            ...transformed(
                transform.plan,
                `${name}-plan`,
                {
                    name: `${prefix}-tables`,
                    rules: [
                        {
                            ruleName: "daily",
                            targetVaultName: this.vault.name,
                            schedule: settings.schedule,
                            // Start within the hour the schedule names (AWS Backup's own default is eight hours).
                            startWindow: 60,
                            lifecycle,
                            copyActions: this.copyVault ? [{ destinationVaultArn: this.copyVault.arn, lifecycle }] : undefined,
                            recoveryPointTags: tags,
                        },
                    ],
                    tags,
                },
                { ...child },
            ),
        );

        this.role = new aws.iam.Role(
            ...transformed(
                transform.role,
                `${name}-role`,
                {
                    name: `${prefix}-backup`,
                    description: `AWS Backup backs up and restores the ${prefix} tables as this role.`,
                    assumeRolePolicy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" }],
                    }),
                    tags,
                },
                // Its name is fixed: a replacement must remove the old role before making the new.
                { ...child, deleteBeforeReplace: true },
            ),
        );
        // AWS Backup's documented service role: its managed policies follow the service
        // as it changes (advanced DynamoDB backup, restores), which a copy would not.
        const partition = aws.getPartitionOutput({}, child).partition;
        const attach = (role: keyof typeof backupServicePolicies) =>
            new aws.iam.RolePolicyAttachment(
                ...transformed(
                    transform.policyAttachment,
                    `${name}-${role}-policy`,
                    { role: this.role.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/${backupServicePolicies[role]}` },
                    { ...child },
                ),
            );
        this.policyAttachments = { backup: attach("backup"), restores: attach("restores") };

        this.selection = new aws.backup.Selection(
            ...transformed(
                transform.selection,
                `${name}-selection`,
                { name: `${prefix}-tables`, planId: this.plan.id, iamRoleArn: this.role.arn, resources: settings.tableArns },
                // A selection made before its role can use the policies fails its first job.
                { ...child, dependsOn: [this.policyAttachments.backup, this.policyAttachments.restores] },
            ),
        );

        this.registerOutputs({
            vaultArn: this.vault.arn,
            copyVaultArn: this.copyVault?.arn,
            planArn: this.plan.arn,
            roleArn: this.role.arn,
        });
    }
}
