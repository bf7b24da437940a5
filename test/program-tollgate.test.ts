/**
 * The Tollgate component as a program of its own uses it
 * (test/fixtures/program-tollgate): args fed from other resources' outputs,
 * `transform`, the child components, and the args it refuses.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runProgramIsolated } from "../policies/offline/harness";
import { materialiseArchive, StackRun } from "./support/program";

const program = path.join(__dirname, "fixtures", "program-tollgate", "index.ts");
const runVariant = async (variant: string) =>
    new StackRun(await runProgramIsolated({ program, project: "shop", stack: "prod", config: { "aws:region": "eu-west-1", "fixture:variant": variant }, timeoutMs: 180_000 }));

describe("a Tollgate in a program of its own, its args from other resources", function () {
    this.timeout(300_000);
    let run: StackRun;

    before(async () => {
        run = await runVariant("good");
        assert.equal(run.error, undefined, `the program failed: ${run.error}`);
    });

    it("encrypts the tables and their replicas with the keys' ARNs once the keys exist", () => {
        const table = run.one("aws:dynamodb/table:Table", "edge-tables-sessions").inputs;
        assert.deepEqual(table.serverSideEncryption, { enabled: true, kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/tables-key" });
        assert.equal(table.replicas[0].kmsKeyArn, "arn:aws:kms:eu-central-1:123456789012:key/replica-key");
    });

    it("runs the Lambda in the program's subnets and security groups, with the network-interface grants", () => {
        const fn = run.one("aws:lambda/function:Function", "edge-gateway-function").inputs;
        assert.deepEqual(fn.vpcConfig, { subnetIds: ["subnet-0123456789abcdef0"], securityGroupIds: ["sg-0123456789abcdef0"] });
        const policy = JSON.parse(run.one("aws:iam/rolePolicy:RolePolicy", "edge-gateway-policy").inputs.policy);
        assert.ok(policy.Statement.some((statement: { Sid: string }) => statement.Sid === "VpcNetworkInterfaces"));
        assert.deepEqual(run.ofType("tollgate:network:Network"), [], "no VPC of tollgate's own");
    });

    it("serves the domain the zone's outputs name, and makes it the assertion's issuer and the JWKS host", () => {
        assert.equal(run.one("aws:apigatewayv2/domainName:DomainName", "edge-domain-domain-name").inputs.domainName, "api.example.com");
        assert.equal(run.one("aws:route53/record:Record", "edge-domain-alias-a").inputs.zoneId, "Z0123456789ABCDEFGHIJ");
        assert.equal(run.outputs.issuer, "https://api.example.com");
        assert.equal(run.outputs.jwksUrl, "https://api.example.com/.well-known/jwks.json");
        assert.equal(run.outputs.domainUrl, "https://api.example.com");
    });

    it("captures the upstreams and the issuer into the Lambda as they resolved, an Output and a Promise alike", () => {
        const archive = materialiseArchive(run.one("aws:lambda/function:Function", "edge-gateway-function").inputs.code);
        try {
            const index = fs.readFileSync(path.join(archive.dir, "__index.js"), "utf8");
            assert.match(index, /upstream = "https:\/\/vpc-id\.orders\.example\.com\/v1"/);
            assert.match(index, /upstream = "https:\/\/catalog\.example\.com"/);
            assert.match(index, /issuer: "https:\/\/api\.example\.com"/);
            assert.doesNotMatch(index, /tollgate\.invalid|deferred-\d/, "no stand-in reaches the function");
        } finally {
            fs.rmSync(archive.dir, { recursive: true, force: true });
        }
    });

    it("subscribes the alarm address an Output gave, and stores the secret JWT key it was given in Secrets Manager only", () => {
        assert.equal(run.one("aws:sns/topicSubscription:TopicSubscription", "edge-logging-alarm-email").inputs.endpoint, "oncall@example.com");
        const version = run.one("aws:secretsmanager/secretVersion:SecretVersion", "edge-gateway-jwt-secret-value").inputs;
        assert.match(JSON.stringify(version.secretString), /a-secret-of-at-least-thirty-two-characters/);
        const elsewhere = run.resources.filter((resource) => resource !== run.one("aws:secretsmanager/secretVersion:SecretVersion", "edge-gateway-jwt-secret-value") && JSON.stringify(resource.inputs).includes("a-secret-of-at-least"));
        assert.deepEqual(elsewhere.map((resource) => resource.name), []);
    });

    it("hands transform every resource the components create through their transforms, named, and keeps what it changes", () => {
        const seen: string[] = run.outputs.transformed;
        const names = new Set(run.resources.map((resource) => resource.name));
        for (const call of seen) assert.ok(names.has(call.split(" ")[1]), `${call} names a registered resource`);
        for (const expected of ["tables/table edge-tables-sessions", "tables/alarm edge-tables-sessions-read-throttles", "gateway/function edge-gateway-function", "gateway/api edge-gateway-api", "logging/dashboard edge-logging-dashboard", "domain/domainName edge-domain-domain-name", "backup/vault edge-backup-vault"]) {
            assert.ok(seen.includes(expected), `transform saw ${expected}`);
        }
        assert.equal(new Set(seen).size, seen.length, "each resource once");
        assert.equal(run.one("aws:dynamodb/table:Table", "edge-tables-rate-limits").inputs.tags["cost-center"], "payments");
        assert.equal(run.one("aws:lambda/function:Function", "edge-gateway-function").inputs.reservedConcurrentExecutions, 50);
        assert.equal(run.one("aws:cloudwatch/dashboard:Dashboard", "edge-logging-dashboard").protect, true);
    });

    it("exposes its child components: the tables by name, the gateway's function, the alarms, the domain and, in prod, the backup", () => {
        assert.deepEqual(run.outputs.children, {
            tables: ["rate-limits", "sessions"],
            gateway: "CallbackFunction",
            logging: ["lambdaErrors", "lambdaThrottles", "api5xx"],
            domain: true,
            backup: true,
        });
    });
});

describe("a Tollgate refusing its args", function () {
    this.timeout(300_000);

    it("refuses an Output where only a plain value will do, naming the arg, before anything of it exists", async () => {
        const run = await runVariant("misplaced");
        assert.match(run.error ?? "", /Tollgate 'edge': invalid Tollgate args:\n {2}- prefix: must be a plain value, not an Output or a Promise/);
        assert.deepEqual(run.resources.filter((resource) => resource.type.startsWith("tollgate:")), []);
    });

    it("refuses a second Tollgate with a prefix the first has", async () => {
        const run = await runVariant("twice");
        assert.match(run.error ?? "", /Tollgate 'edge-again': prefix 'edge' is already the prefix of Tollgate 'edge' in this program/);
    });

    it("fails on a key from another resource once it resolves to another region than the stack's, naming the arg", async () => {
        const run = await runVariant("foreign-key");
        assert.match(run.error ?? "", /Tollgate 'edge': invalid Tollgate args:\n {2}- tables\.kmsKeyArn: the key is in 'eu-central-1', and the tables are in the stack's region 'eu-west-1'/);
    });
});
