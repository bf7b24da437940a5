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
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { configDefaults } from "../specs/config";
import { transformed, type Transform } from "./transform";

export interface BackupArgs {
    /**
     * Prefix of the vault, plan, selection and role names: the vault is `{prefix}-backups`.
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
     * KMS key (in the stack's region) that encrypts the vault.
     * @default the AWS-managed key `aws/backup`
     */
    kmsKeyArn?: pulumi.Input<string>;
    /**
     * KMS key in `copyToRegion` that encrypts the copy vault.
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

function resolveBackupArgs(args: BackupArgs) {
    if (args.tableArns.length === 0) throw new pulumi.RunError("Backup: no tables to back up (tableArns is empty)");
    const defaults = configDefaults().backup;
    return {
        ...args,
        schedule: args.schedule ?? defaults.schedule,
        retentionDays: args.retentionDays ?? defaults.retentionDays,
        tags: args.tags ?? {},
        transform: args.transform ?? {},
        // Vault names allow letters, digits, '-' and '_' only.
        vaultName: `${args.prefix.replace(/[^A-Za-z0-9_-]/g, "-")}-backups`,
    };
}

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

        this.vault = new aws.backup.Vault(...transformed(transform.vault, `${name}-vault`, { name: settings.vaultName, kmsKeyArn: settings.kmsKeyArn, tags }, { ...child }));

        if (settings.copyToRegion) {
            // The resource-level region of provider v7: the stack's provider (its
            // credentials, assumeRole, allowedAccountIds) manages the vault there,
            // where a second provider would read none of the stack's aws:* config.
            this.copyVault = new aws.backup.Vault(
                ...transformed(transform.copyVault, `${name}-copy-vault`, { name: settings.vaultName, kmsKeyArn: settings.copyKmsKeyArn, region: settings.copyToRegion, tags }, { ...child }),
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
                { ...child },
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
