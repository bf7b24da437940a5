/**
 * Customer-managed keys end to end, under mocks: with `tables.kmsKeyArn` (and
 * per-replica keys) the gateway's role may have DynamoDB decrypt exactly its
 * two tables with exactly that key, and with `secretsKmsKeyArn` (defaulting
 * to the tables' key) every Secrets Manager secret the Gateway holds is under
 * that key and the role may have Secrets Manager decrypt exactly those
 * secrets. Without keys, the role has no KMS grant at all. Keys in another
 * region, or named by alias, are refused at config load.
 */
import * as assert from "node:assert/strict";
import { evaluatePolicies } from "../policies/offline/evaluate";
import { fakeAccount, fakeRegion } from "../policies/offline/fakes";
import { packEnforcementLevel, tollgatePolicies } from "../policies/rules";
import devPackConfig from "../policies/config/dev.json";
import { resolveSettings, type TollgateConfigInput } from "../specs/config";
import { runStack, runWithConfig, devConfigWith, type StackRun } from "./support/program";

const T = {
    secret: "aws:secretsmanager/secret:Secret",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    gateway: "tollgate:gateway:Gateway",
} as const;

const key = (region: string, id: string) => `arn:aws:kms:${region}:${fakeAccount}:key/${id}`;
const tablesKey = key(fakeRegion, "tollgate-tables-1111");
const secretsKey = key(fakeRegion, "secrets-2222");
const replicaKey = key("eu-central-1", "replica-3333");
const jwtSecretArn = `arn:aws:secretsmanager:${fakeRegion}:${fakeAccount}:secret:tollgate-gateway-jwt-secret-AbCdEf`;

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/** The dev pack config with customer keys required of tables and secrets alike. */
const customerKeysRequired = { ...devPackConfig, "dynamodb-encryption": { requireCustomerManagedKey: true }, "secretsmanager-customer-key": { requireCustomerManagedKey: true } };

/** What the key policies (dynamodb-encryption, secretsmanager-customer-key) report on a run, as `policy resource: message`. */
async function keyViolations(run: StackRun): Promise<string[]> {
    const evaluation = await evaluatePolicies(run.resources, { policies: tollgatePolicies, packEnforcementLevel, config: customerKeysRequired });
    return evaluation.violations.filter((v) => v.policyName === "dynamodb-encryption" || v.policyName === "secretsmanager-customer-key").map((v) => `${v.policyName} ${v.resourceName}: ${v.message}`);
}

/** The gateway role's policy statements, parsed. */
function statementsOf(run: StackRun): any[] {
    return JSON.parse(run.one(T.rolePolicy, "tollgate-gateway-policy").inputs.policy).Statement;
}

/** Every statement that grants a kms: action. */
function kmsStatements(run: StackRun): any[] {
    return statementsOf(run).filter((statement) => list(statement.Action).some((action) => String(action).startsWith("kms:")));
}

/** The secrets whose parent chain leads to the Gateway component. */
function gatewaySecrets(run: StackRun) {
    return run.ofType(T.secret).filter((secret) => secret.urn.includes("tollgate:gateway:Gateway$"));
}

describe("customer-managed keys: the tables' key, with a replica, and the secrets on it by default", function () {
    let run: StackRun;

    before(async function () {
        this.timeout(180_000);
        run = await runStack("dev", {
            override: {
                "tollgate:tables": JSON.stringify({ kmsKeyArn: tablesKey, replicaRegions: ["eu-central-1"], replicaKmsKeyArns: { "eu-central-1": replicaKey } }),
            },
        });
        assert.equal(run.error, undefined, `the program failed: ${run.error}`);
    });

    it("lets DynamoDB decrypt the rate-limits and sessions tables for the role with the tables' key, and nothing more", () => {
        const [tables] = kmsStatements(run).filter((s) => s.Sid === "TablesKey");
        assert.deepEqual(tables, {
            Sid: "TablesKey",
            Effect: "Allow",
            Action: ["kms:Decrypt"],
            Resource: tablesKey,
            Condition: {
                StringEquals: {
                    "kms:ViaService": `dynamodb.${fakeRegion}.amazonaws.com`,
                    "kms:EncryptionContext:aws:dynamodb:tableName": ["tollgate-dev-rate-limits", "tollgate-dev-sessions"],
                },
            },
        });
    });

    it("encrypts the JWT secret with the tables' key when tollgate:secretsKmsKeyArn is unset, and lets Secrets Manager decrypt only the gateway's secrets for the role", () => {
        const secrets = gatewaySecrets(run);
        assert.ok(secrets.length >= 1);
        for (const secret of secrets) assert.equal(secret.inputs.kmsKeyId, tablesKey, secret.name);
        const [statement] = kmsStatements(run).filter((s) => s.Sid === "SecretsKey");
        assert.deepEqual(statement, {
            Sid: "SecretsKey",
            Effect: "Allow",
            Action: ["kms:Decrypt"],
            Resource: tablesKey,
            Condition: {
                StringEquals: {
                    "kms:ViaService": `secretsmanager.${fakeRegion}.amazonaws.com`,
                    "kms:EncryptionContext:SecretARN": secrets.map((secret) => `arn:aws:secretsmanager:${fakeRegion}:${fakeAccount}:secret:${secret.name}-AbCdEf`),
                },
            },
        });
        assert.ok(statement.Condition.StringEquals["kms:EncryptionContext:SecretARN"].includes(jwtSecretArn));
    });

    it("puts the identity assertion's signing keys (the gateway-keys secret) under the customer key too, and lets the role decrypt them", () => {
        const gatewayKeys = run.one(T.secret, "tollgate-gateway-gateway-keys");
        assert.equal(gatewayKeys.inputs.kmsKeyId, tablesKey);
        const [statement] = kmsStatements(run).filter((s) => s.Sid === "SecretsKey");
        assert.ok(statement.Condition.StringEquals["kms:EncryptionContext:SecretARN"].includes(`arn:aws:secretsmanager:${fakeRegion}:${fakeAccount}:secret:tollgate-gateway-gateway-keys-AbCdEf`));
        const reads = statementsOf(run).filter((s) => list(s.Action).includes("secretsmanager:GetSecretValue")).flatMap((s) => list(s.Resource));
        assert.deepEqual([...reads].sort(), statement.Condition.StringEquals["kms:EncryptionContext:SecretARN"].slice().sort(), "the role decrypts exactly the secrets it reads");
    });

    it("grants no other KMS action, no wildcard key, and not the replica's key (the gateway never reaches a replica)", () => {
        const statements = kmsStatements(run);
        assert.deepEqual(statements.map((s) => s.Sid).sort(), ["SecretsKey", "TablesKey"]);
        for (const statement of statements) {
            assert.deepEqual(statement.Action, ["kms:Decrypt"]);
            assert.ok(!String(statement.Resource).includes("*"));
            assert.ok(statement.Condition?.StringEquals?.["kms:ViaService"], `${statement.Sid} is not conditioned on kms:ViaService`);
        }
        assert.ok(!run.one(T.rolePolicy, "tollgate-gateway-policy").inputs.policy.includes(replicaKey));
    });

    it("passes dynamodb-encryption and secretsmanager-customer-key with customer keys required", async () => {
        assert.deepEqual(await keyViolations(run), []);
    });
});

describe("customer-managed keys: a separate key for the secrets", function () {
    let run: StackRun;

    before(async function () {
        this.timeout(180_000);
        run = await runStack("dev", { override: { "tollgate:tables": JSON.stringify({ kmsKeyArn: tablesKey }), "tollgate:secretsKmsKeyArn": secretsKey } });
        assert.equal(run.error, undefined, `the program failed: ${run.error}`);
    });

    it("puts every secret the Gateway holds under tollgate:secretsKmsKeyArn and grants each key only through its own service", () => {
        for (const secret of gatewaySecrets(run)) assert.equal(secret.inputs.kmsKeyId, secretsKey, secret.name);
        const byResource = Object.fromEntries(kmsStatements(run).map((s) => [s.Resource, s.Condition.StringEquals["kms:ViaService"]]));
        assert.deepEqual(byResource, { [tablesKey]: `dynamodb.${fakeRegion}.amazonaws.com`, [secretsKey]: `secretsmanager.${fakeRegion}.amazonaws.com` });
    });
});

describe("no customer-managed keys: the shipped dev stack", function () {
    let run: StackRun;

    before(async function () {
        this.timeout(180_000);
        run = await runStack("dev");
        assert.equal(run.error, undefined, `the program failed: ${run.error}`);
    });

    it("leaves the secrets on the AWS-managed key and grants the role no KMS action", () => {
        for (const secret of gatewaySecrets(run)) assert.equal(secret.inputs.kmsKeyId, undefined, secret.name);
        assert.deepEqual(kmsStatements(run), []);
    });

    it("fails secretsmanager-customer-key where customer keys are required, naming tollgate:secretsKmsKeyArn", async () => {
        const violations = (await keyViolations(run)).filter((v) => v.startsWith("secretsmanager-customer-key"));
        assert.equal(violations.length, gatewaySecrets(run).length);
        assert.match(violations[0], /tollgate-gateway-jwt-secret: .*encrypted with the AWS managed key aws\/secretsmanager, but this stack requires a customer managed key; set tollgate:secretsKmsKeyArn \(or tollgate:tables\.kmsKeyArn, which it defaults to\) in the stack's config/);
    });
});

describe("customer-managed keys refused at config load", () => {
    const problemsOf = (raw: TollgateConfigInput): string => {
        try {
            resolveSettings(raw as Record<string, unknown>, { region: fakeRegion });
        } catch (error: any) {
            return error.message;
        }
        assert.fail("the settings were accepted");
    };

    it("defaults tollgate:secretsKmsKeyArn to the tables' key, and to none without one", () => {
        assert.equal(resolveSettings({ tables: { kmsKeyArn: tablesKey } }, { region: fakeRegion }).secretsKmsKeyArn, tablesKey);
        assert.equal(resolveSettings({ tables: { kmsKeyArn: tablesKey }, secretsKmsKeyArn: secretsKey }, { region: fakeRegion }).secretsKmsKeyArn, secretsKey);
        assert.equal(resolveSettings({}, { region: fakeRegion }).secretsKmsKeyArn, undefined);
    });

    it("refuses a key named by alias, saying to give the key's ARN", () => {
        const alias = `arn:aws:kms:${fakeRegion}:${fakeAccount}:alias/tollgate`;
        assert.match(problemsOf({ secretsKmsKeyArn: alias }), /tollgate:secretsKmsKeyArn: must be the key's ARN \(\.\.\.:key\/<key id>\), not an alias: an IAM policy grants use of a key through its key ARN only/);
        assert.match(problemsOf({ tables: { kmsKeyArn: alias } }), /tollgate:tables\.kmsKeyArn: must be the key's ARN/);
    });

    it("refuses a tables' or secrets' key outside the stack's region, naming the key and the regions", () => {
        assert.match(
            problemsOf({ tables: { kmsKeyArn: key("us-east-1", "k") } }),
            /tollgate:tables\.kmsKeyArn: the key is in 'us-east-1', and the tables are in the stack's region 'eu-west-1' \(aws:region\); a KMS key serves its own region only, so give a key there/,
        );
        assert.match(problemsOf({ secretsKmsKeyArn: key("us-east-1", "k") }), /tollgate:secretsKmsKeyArn: the key is in 'us-east-1', and the gateway's secrets are in the stack's region 'eu-west-1'/);
    });

    it("stops the program on a secrets key in another region before any resource exists", async function () {
        this.timeout(180_000);
        const run = await runWithConfig("dev", devConfigWith({ "tollgate:secretsKmsKeyArn": key("us-east-1", "k") }));
        assert.match(run.error ?? "", /tollgate:secretsKmsKeyArn: the key is in 'us-east-1'/);
        assert.deepEqual(run.created.map((r) => `${r.type} ${r.name}`), []);
    });
});
