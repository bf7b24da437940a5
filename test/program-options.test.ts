/**
 * The options the shipped stacks leave off, turned on in one variant of the
 * dev stack: a VPC, a PROVISIONED app table with a stream, a customer KMS key,
 * a JWT secret given in config, a domain on an existing certificate, an
 * x86_64 Lambda, DEBUG logs with a sample rate, and throttle/CORS left to
 * their defaults.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fakeAccount, fakeRegion } from "../policies/offline/fakes";
import { materialiseArchive, runStack, type StackRun } from "./support/program";

const kmsKeyArn = `arn:aws:kms:${fakeRegion}:${fakeAccount}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const certificateArn = `arn:aws:acm:${fakeRegion}:${fakeAccount}:certificate/existing`;
const jwtSecret = "given-jwt-secret-0123456789abcdefghijklmnop";

const ordersTable = {
    name: "orders",
    hashKey: { name: "order_id", type: "S" },
    rangeKey: { name: "placed_at", type: "N" },
    globalSecondaryIndexes: [{ name: "ByCustomer", hashKey: { name: "customer_id", type: "S" }, projection: "INCLUDE", nonKeyAttributes: ["total"] }],
    ttlAttribute: "expires_at",
    stream: "NEW_AND_OLD_IMAGES",
    tableClass: "STANDARD_INFREQUENT_ACCESS",
    billingMode: "PROVISIONED",
    readCapacity: 5,
    writeCapacity: 2,
    maxReadCapacity: 50,
};

describe("the dev stack with every optional feature on, evaluated under mocks", function () {
    const prefix = "tollgate-dev";
    let run: StackRun;

    before(async function () {
        this.timeout(180_000);
        run = await runStack("dev", {
            override: {
                "tollgate:vpc": JSON.stringify({ enabled: true, natGateways: 2 }),
                "tollgate:appTables": JSON.stringify([ordersTable]),
                "tollgate:tables": JSON.stringify({ pointInTimeRecovery: true, deletionProtection: true, kmsKeyArn }),
                "tollgate:jwtSecret": jwtSecret,
                "tollgate:domain": JSON.stringify({ name: "api.dev.example.com", hostedZoneId: "Z0DEVZONE", certificateArn }),
                "tollgate:lambda": JSON.stringify({ memoryMb: 256, timeoutSeconds: 20, architecture: "x86_64", tracing: true }),
                "tollgate:logLevel": "DEBUG",
                "tollgate:logSampleRate": "0.25",
                "tollgate:identity": JSON.stringify({ headers: false, keyGeneration: 3 }),
            },
            remove: ["tollgate:throttle", "tollgate:cors"],
            secretKeys: ["tollgate:jwtSecret"],
        });
        assert.equal(run.error, undefined, `the program failed: ${run.error}`);
    });

    describe("VPC placement", () => {
        it("builds an awsx VPC over two zones with one NAT gateway in each", () => {
            const vpc = run.one("awsx:ec2:Vpc", "tollgate-gateway-network-vpc").inputs;
            assert.equal(vpc.numberOfAvailabilityZones, 2);
            assert.deepEqual(vpc.natGateways, { strategy: "OnePerAz" });
            assert.deepEqual(vpc.subnetSpecs.map((s: any) => s.type), ["Public", "Private"]);
            assert.equal(run.one("tollgate:network:Network", "tollgate-gateway-network").parent, run.one("tollgate:gateway:Gateway", "tollgate-gateway").urn);
        });

        it("puts the Lambda in the private subnets behind an egress-only security group", () => {
            const fn = run.one("aws:lambda/function:Function", "tollgate-gateway-function").inputs;
            assert.deepEqual(fn.vpcConfig, { subnetIds: ["subnet-private-a", "subnet-private-b"], securityGroupIds: ["tollgate-gateway-network-lambda-id"] });
            const group = run.one("aws:ec2/securityGroup:SecurityGroup", "tollgate-gateway-network-lambda").inputs;
            assert.equal(group.ingress, undefined);
            assert.deepEqual(group.egress.map((e: any) => e.protocol), ["-1"]);
            assert.equal(group.egress[0].description, "All outbound: upstreams on any port through NAT, DynamoDB through the gateway endpoint");
        });

        it("routes DynamoDB traffic through a gateway endpoint on the private route tables", () => {
            const endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint", "tollgate-gateway-network-dynamodb").inputs;
            assert.equal(endpoint.vpcEndpointType, "Gateway");
            assert.equal(endpoint.serviceName, `com.amazonaws.${fakeRegion}.dynamodb`);
            assert.equal(endpoint.vpcId, "vpc-tollgate-gateway-network-vpc-id");
            assert.deepEqual(endpoint.routeTableIds, ["rtb-private-a", "rtb-private-b"]);
        });

        it("adds the network-interface actions Lambda needs in a VPC, and no DynamoDB wildcard", () => {
            const document = JSON.parse(run.one("aws:iam/rolePolicy:RolePolicy", "tollgate-gateway-policy").inputs.policy);
            const vpc = document.Statement.filter((s: any) => s.Sid === "VpcNetworkInterfaces");
            assert.equal(vpc[0].Resource, "*");
            assert.equal(vpc.length, 1);
            assert.deepEqual([...vpc[0].Action].sort(), [
                "ec2:AssignPrivateIpAddresses",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:UnassignPrivateIpAddresses",
            ]);
        });
    });

    describe("a PROVISIONED application table", () => {
        it("gets its capacity, index projection, stream, table class and TTL from the spec", () => {
            const table = run.where("aws:dynamodb/table:Table", "name", `${prefix}-orders`).inputs;
            assert.equal(table.billingMode, "PROVISIONED");
            assert.deepEqual([table.readCapacity, table.writeCapacity], [5, 2]);
            assert.deepEqual([table.hashKey, table.rangeKey], ["order_id", "placed_at"]);
            assert.deepEqual(table.globalSecondaryIndexes, [
                { name: "ByCustomer", keySchemas: [{ attributeName: "customer_id", keyType: "HASH" }], projectionType: "INCLUDE", nonKeyAttributes: ["total"], readCapacity: 5, writeCapacity: 2 },
            ]);
            assert.deepEqual([table.streamEnabled, table.streamViewType], [true, "NEW_AND_OLD_IMAGES"]);
            assert.equal(table.tableClass, "STANDARD_INFREQUENT_ACCESS");
            assert.deepEqual(table.ttl, { attributeName: "expires_at", enabled: true });
        });

        it("autoscales reads and writes of the table and of its index, from the starting capacity up to the maximum", () => {
            const targets = run.ofType("aws:appautoscaling/target:Target").map((t) => t.inputs);
            assert.deepEqual(
                targets.map((t) => [t.resourceId, t.scalableDimension, t.minCapacity, t.maxCapacity]).sort(),
                [
                    [`table/${prefix}-orders`, "dynamodb:table:ReadCapacityUnits", 5, 50],
                    [`table/${prefix}-orders`, "dynamodb:table:WriteCapacityUnits", 2, 20],
                    [`table/${prefix}-orders/index/ByCustomer`, "dynamodb:index:ReadCapacityUnits", 5, 50],
                    [`table/${prefix}-orders/index/ByCustomer`, "dynamodb:index:WriteCapacityUnits", 2, 20],
                ].sort(),
            );
            for (const target of targets) assert.equal(target.serviceNamespace, "dynamodb");
            const policies = run.ofType("aws:appautoscaling/policy:Policy").map((p) => p.inputs);
            assert.equal(policies.length, 4);
            for (const policy of policies) {
                assert.equal(policy.policyType, "TargetTrackingScaling");
                assert.equal(policy.targetTrackingScalingPolicyConfiguration.targetValue, 70);
                const direction = policy.scalableDimension.includes("Read") ? "Read" : "Write";
                assert.equal(policy.targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType, `DynamoDB${direction}CapacityUtilization`);
            }
        });

        it("leaves the on-demand built-in tables without autoscaling", () => {
            for (const name of ["rate-limits", "sessions"]) {
                assert.equal(run.where("aws:dynamodb/table:Table", "name", `${prefix}-${name}`).inputs.billingMode, "PAY_PER_REQUEST");
            }
        });
    });

    it("encrypts every table with the customer KMS key from tollgate:tables.kmsKeyArn and honours deletion protection", () => {
        const tables = run.ofType("aws:dynamodb/table:Table");
        assert.equal(tables.length, 3);
        for (const table of tables) {
            assert.deepEqual(table.inputs.serverSideEncryption, { enabled: true, kmsKeyArn }, table.inputs.name);
            assert.equal(table.inputs.deletionProtectionEnabled, true, table.inputs.name);
        }
    });

    describe("tollgate:identity", () => {
        it("keeps this generation's signing key and the one before after a rotation, signing with the new one, and restarts containers on it", () => {
            assert.deepEqual(run.ofType("tls:index/privateKey:PrivateKey").map((r) => r.name), ["tollgate-gateway-signing-key-3", "tollgate-gateway-signing-key-2"]);
            const version = run.one("aws:secretsmanager/secretVersion:SecretVersion", "tollgate-gateway-gateway-keys-value");
            const keyUrns = run.ofType("tls:index/privateKey:PrivateKey").map((r) => r.urn);
            assert.ok(keyUrns.every((urn) => version.propertyDependencies.secretString?.includes(urn)));
            assert.equal(JSON.parse(version.inputs.secretString.value).signingKeys.length, 2);
            const fn = run.one("aws:lambda/function:Function", "tollgate-gateway-function").inputs;
            assert.equal(fn.environment.variables.GATEWAY_KEY_GENERATION, "3");
        });

        it("captures headers: false into the Lambda, and names the custom domain as the issuer and JWKS host", () => {
            const archive = materialiseArchive(run.one("aws:lambda/function:Function", "tollgate-gateway-function").inputs.code);
            try {
                const index = fs.readFileSync(path.join(archive.dir, "__index.js"), "utf8");
                assert.ok(index.includes('__captured_value_identity = {assertion: true, headers: false, issuer: "https://api.dev.example.com", assertionReuseSeconds: 30}'), "the identity settings in __index.js");
            } finally {
                fs.rmSync(archive.dir, { recursive: true, force: true });
            }
            assert.equal(run.outputs.identityIssuer, "https://api.dev.example.com");
            assert.equal(run.outputs.identityJwksUrl, "https://api.dev.example.com/.well-known/jwks.json");
        });
    });

    describe("a JWT secret given in config", () => {
        it("is stored, as a secret, in the Secrets Manager secret, and nothing is generated", () => {
            assert.deepEqual(run.ofType("random:index/randomPassword:RandomPassword").map((r) => r.name), ["tollgate-gateway-log-key"], "only the gateway's log key is generated");
            const version = run.one("aws:secretsmanager/secretVersion:SecretVersion", "tollgate-gateway-jwt-secret-value").inputs;
            assert.deepEqual(version.secretString, { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: jwtSecret });
        });

        it("appears in no other resource, not in the Lambda's environment and not in __index.js", () => {
            const elsewhere = run.resources.filter((r) => r.type !== "aws:secretsmanager/secretVersion:SecretVersion" && JSON.stringify(r.inputs).includes(jwtSecret));
            assert.deepEqual(elsewhere.map((r) => `${r.type} ${r.name}`), []);
            const archive = materialiseArchive(run.one("aws:lambda/function:Function", "tollgate-gateway-function").inputs.code);
            try {
                assert.ok(!fs.readFileSync(path.join(archive.dir, "__index.js"), "utf8").includes(jwtSecret));
            } finally {
                fs.rmSync(archive.dir, { recursive: true, force: true });
            }
        });
    });

    it("maps the domain with the existing certificate and issues none", () => {
        assert.deepEqual(run.ofType("aws:acm/certificate:Certificate"), []);
        assert.deepEqual(run.ofType("aws:acm/certificateValidation:CertificateValidation"), []);
        const name = run.one("aws:apigatewayv2/domainName:DomainName", "tollgate-domain-domain-name").inputs;
        assert.equal(name.domainNameConfiguration.certificateArn, certificateArn);
        assert.deepEqual(run.ofType("aws:route53/record:Record").map((r) => r.inputs.type).sort(), ["A", "AAAA"]);
        assert.equal(run.outputs.domainUrl, "https://api.dev.example.com");
    });

    it("sizes the Lambda from tollgate:lambda, and lets API Gateway wait its full 30 s, longer than the Lambda's own timeout and a cold start", () => {
        const fn = run.one("aws:lambda/function:Function", "tollgate-gateway-function").inputs;
        assert.deepEqual([fn.memorySize, fn.timeout, fn.architectures], [256, 20, ["x86_64"]]);
        assert.equal(run.one("aws:apigatewayv2/integration:Integration", "tollgate-gateway-integration").inputs.timeoutMilliseconds, 30_000);
    });

    it("lets Lambda pass DEBUG lines when tollgate:logLevel is DEBUG, and captures the sample rate for the handler", () => {
        const fn = run.one("aws:lambda/function:Function", "tollgate-gateway-function").inputs;
        assert.equal(fn.loggingConfig.applicationLogLevel, "DEBUG");
        assert.equal(fn.loggingConfig.systemLogLevel, "WARN");
        assert.equal(fn.environment.variables.LOG_LEVEL, "DEBUG");
        const archive = materialiseArchive(fn.code);
        try {
            assert.match(fs.readFileSync(path.join(archive.dir, "__index.js"), "utf8"), /__captured_value\.logSampleRate = 0\.25;/);
        } finally {
            fs.rmSync(archive.dir, { recursive: true, force: true });
        }
    });

    it("traces the Lambda with X-Ray when tollgate:lambda.tracing is on, and lets the role send the traces and nothing more", () => {
        const fn = run.one("aws:lambda/function:Function", "tollgate-gateway-function").inputs;
        assert.deepEqual(fn.tracingConfig, { mode: "Active" });
        const document = JSON.parse(run.one("aws:iam/rolePolicy:RolePolicy", "tollgate-gateway-policy").inputs.policy);
        const xray = document.Statement.filter((s: any) => [s.Action].flat().some((action: string) => action.startsWith("xray:")));
        assert.deepEqual(xray, [{ Sid: "XRayTraces", Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: "*" }]);
    });

    it("sets both stage throttling limits to their defaults when the stack names neither", () => {
        const stage = run.one("aws:apigatewayv2/stage:Stage", "tollgate-gateway-stage").inputs;
        assert.deepEqual(stage.defaultRouteSettings, { throttlingBurstLimit: 5000, throttlingRateLimit: 2000 });
        const api = run.one("aws:apigatewayv2/api:Api", "tollgate-gateway-api").inputs;
        assert.deepEqual(api.corsConfiguration.allowOrigins, ["*"]);
        assert.equal(api.corsConfiguration.allowCredentials, false);
    });
});
