/**
 * The real index.ts, evaluated under Pulumi's mocks with each shipped stack's
 * config (Pulumi.dev.yaml, Pulumi.prod.yaml): every property the program
 * issue names, read off the registered resources, and the Lambda archive
 * unpacked and run in a fresh Node process.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fakeAccount, fakeRegion } from "../policies/offline/fakes";
import { environmentNames } from "../specs/lambda";
import { loadStackConfig } from "../specs/stackFile";
import { builtInTables, physicalTableName, replicaRegionsOf, tableAlarmSuffixes } from "../specs/tables";
import { startLambdaContainer } from "./support/lambdaContainer";
import { lambdaNode } from "./support/lambdaNode";
import { runProgramIsolated } from "../policies/offline/harness";
import { materialiseArchive, runStack, stackConfig, StackRun } from "./support/program";
import { event } from "./support/runtime";

const T = {
    stack: "pulumi:pulumi:Stack",
    table: "aws:dynamodb/table:Table",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    topic: "aws:sns/topic:Topic",
    subscription: "aws:sns/topicSubscription:TopicSubscription",
    dashboard: "aws:cloudwatch/dashboard:Dashboard",
    api: "aws:apigatewayv2/api:Api",
    stage: "aws:apigatewayv2/stage:Stage",
    integration: "aws:apigatewayv2/integration:Integration",
    route: "aws:apigatewayv2/route:Route",
    fn: "aws:lambda/function:Function",
    permission: "aws:lambda/permission:Permission",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    randomPassword: "random:index/randomPassword:RandomPassword",
    privateKey: "tls:index/privateKey:PrivateKey",
    certificate: "aws:acm/certificate:Certificate",
    certificateValidation: "aws:acm/certificateValidation:CertificateValidation",
    domainName: "aws:apigatewayv2/domainName:DomainName",
    apiMapping: "aws:apigatewayv2/apiMapping:ApiMapping",
    record: "aws:route53/record:Record",
    scalingTarget: "aws:appautoscaling/target:Target",
} as const;

const tableArn = (name: string) => `arn:aws:dynamodb:${fakeRegion}:${fakeAccount}:table/${name}`;

for (const stack of ["dev", "prod"] as const) {
    describe(`the ${stack} stack, evaluated under mocks`, function () {
        const { settings } = loadStackConfig(stack);
        const prefix = settings.prefix;
        let run: StackRun;

        before(async function () {
            this.timeout(180_000);
            run = await runStack(stack);
            assert.equal(run.error, undefined, `the program failed: ${run.error}`);
        });

        it("exports apiUrl, functionName, tableNames, logGroupNames and dashboardName", () => {
            const outputs = run.outputs;
            assert.match(outputs.apiUrl, /^https:\/\/.+\.execute-api\./);
            assert.equal(outputs.functionName, `${prefix}-gateway`);
            assert.deepEqual(outputs.tableNames, {
                "rate-limits": `${prefix}-rate-limits`,
                sessions: `${prefix}-sessions`,
                products: `${prefix}-products`,
                users: `${prefix}-users`,
            });
            assert.deepEqual(outputs.logGroupNames, { lambda: `/aws/lambda/${prefix}-gateway`, api: `/aws/apigateway/${prefix}-api` });
            assert.equal(outputs.dashboardName, prefix);
        });

        it(`composes one Tollgate under the stack and its ${stack === "prod" ? "five" : "three"} components under it, every resource parented to one of them`, () => {
            const root = run.ofType(T.stack)[0];
            const [tollgate, ...others] = run.ofType("tollgate:index:Tollgate");
            assert.deepEqual(others, [], "one Tollgate");
            assert.equal(tollgate.parent, root.urn);
            const components = run.resources.filter((r) => r.type.startsWith("tollgate:") && r !== tollgate);
            const expected = ["tollgate:gateway:Gateway", "tollgate:logging:Logging", "tollgate:tables:Tables", ...(stack === "prod" ? ["tollgate:domain:Domain", "tollgate:backup:Backup"] : [])];
            assert.deepEqual(components.map((c) => c.type).sort(), expected.sort());
            for (const component of components) assert.equal(component.parent, tollgate.urn, `${component.type} is not a child of the Tollgate`);
            const orphans = run.created.filter((r) => r !== tollgate && !r.type.startsWith("tollgate:") && (r.parent === root.urn || r.parent === tollgate.urn));
            assert.deepEqual(orphans.map((r) => `${r.type} ${r.name}`), []);
        });

        describe("Tables", () => {
            it("creates {prefix}-rate-limits keyed on limiter_key (S) and window_start (N), with TTL on expires_at", () => {
                const table = run.where(T.table, "name", `${prefix}-rate-limits`).inputs;
                assert.equal(table.hashKey, "limiter_key");
                assert.equal(table.rangeKey, "window_start");
                assert.deepEqual(table.attributes, [
                    { name: "limiter_key", type: "S" },
                    { name: "window_start", type: "N" },
                ]);
                assert.deepEqual(table.ttl, { attributeName: "expires_at", enabled: true });
                assert.equal(table.globalSecondaryIndexes, undefined);
            });

            it("creates {prefix}-sessions keyed on session_id, with UserIdIndex on user_id + expires_at and TTL on expires_at", () => {
                const table = run.where(T.table, "name", `${prefix}-sessions`).inputs;
                assert.equal(table.hashKey, "session_id");
                assert.equal(table.rangeKey, undefined);
                assert.deepEqual(table.attributes, [
                    { name: "session_id", type: "S" },
                    { name: "user_id", type: "S" },
                    { name: "expires_at", type: "N" },
                ]);
                assert.deepEqual(table.globalSecondaryIndexes, [
                    {
                        name: "UserIdIndex",
                        keySchemas: [
                            { attributeName: "user_id", keyType: "HASH" },
                            { attributeName: "expires_at", keyType: "RANGE" },
                        ],
                        projectionType: "ALL",
                    },
                ]);
                assert.deepEqual(table.ttl, { attributeName: "expires_at", enabled: true });
            });

            it("creates the app tables of tollgate:appTables with their indexes", () => {
                const products = run.where(T.table, "name", `${prefix}-products`).inputs;
                assert.equal(products.hashKey, "id");
                assert.deepEqual(products.attributes, [
                    { name: "id", type: "N" },
                    { name: "category", type: "S" },
                    { name: "created_at", type: "S" },
                ]);
                assert.deepEqual(products.globalSecondaryIndexes, [
                    {
                        name: "CategoryIndex",
                        keySchemas: [
                            { attributeName: "category", keyType: "HASH" },
                            { attributeName: "created_at", keyType: "RANGE" },
                        ],
                        projectionType: "ALL",
                    },
                ]);
                assert.equal(products.ttl, undefined, "no ttlAttribute in the spec, so no TTL");
                const users = run.where(T.table, "name", `${prefix}-users`).inputs;
                assert.equal(users.hashKey, "id");
                assert.deepEqual(users.globalSecondaryIndexes, [{ name: "email-index", keySchemas: [{ attributeName: "email", keyType: "HASH" }], projectionType: "ALL" }]);
                assert.equal(run.ofType(T.table).length, 4);
            });

            it("bills every table per request, encrypts it, keeps point-in-time recovery on and uses the STANDARD class", () => {
                for (const table of run.ofType(T.table)) {
                    const name = table.inputs.name;
                    assert.equal(table.inputs.billingMode, "PAY_PER_REQUEST", name);
                    assert.deepEqual(table.inputs.serverSideEncryption, { enabled: true }, name);
                    assert.deepEqual(table.inputs.pointInTimeRecovery, { enabled: true }, name);
                    assert.equal(table.inputs.tableClass, "STANDARD", name);
                    // Global tables (prod's replicas, test/program-data-tier.test.ts) stream NEW_AND_OLD_IMAGES.
                    assert.equal(table.inputs.streamEnabled, table.inputs.replicas !== undefined, name);
                    assert.equal(table.inputs.readCapacity, undefined, name);
                    assert.equal(table.inputs.tags["tollgate:environment"], stack, name);
                }
                assert.equal(run.ofType(T.scalingTarget).length, 0, "on-demand tables need no autoscaling");
            });

            it(`turns deletion protection ${stack === "prod" ? "on" : "off"} as the stack says`, () => {
                assert.equal(settings.tables.deletionProtection, stack === "prod");
                for (const table of run.ofType(T.table)) assert.equal(table.inputs.deletionProtectionEnabled, stack === "prod", table.inputs.name);
            });

            it("alarms on read throttles, write throttles and system errors of every table, notifying the alarm topic", () => {
                const topicArn = `arn:aws:sns:${fakeRegion}:${fakeAccount}:${prefix}-alarms`;
                for (const table of run.ofType(T.table)) {
                    const name = table.inputs.name;
                    const read = run.where(T.alarm, "name", `${name}-read-throttles`).inputs;
                    assert.equal(read.namespace, "AWS/DynamoDB");
                    assert.equal(read.metricName, "ReadThrottleEvents");
                    assert.deepEqual(read.dimensions, { TableName: name });
                    assert.deepEqual(read.alarmActions, [topicArn]);
                    const write = run.where(T.alarm, "name", `${name}-write-throttles`).inputs;
                    assert.equal(write.metricName, "WriteThrottleEvents");
                    assert.deepEqual(write.dimensions, { TableName: name });
                    const errors = run.where(T.alarm, "name", `${name}-system-errors`).inputs;
                    assert.match(errors.metricQueries[0].expression, new RegExp(`SUM\\(SystemErrors\\).*WHERE TableName = '${name}'`));
                    assert.deepEqual(errors.alarmActions, [topicArn]);
                }
            });

            it("alarms on read and write throttles of every global secondary index, under TableName and GlobalSecondaryIndexName, notifying the alarm topic", () => {
                const topicArn = `arn:aws:sns:${fakeRegion}:${fakeAccount}:${prefix}-alarms`;
                const indexes = run.ofType(T.table).flatMap((table) => (table.inputs.globalSecondaryIndexes ?? []).map((index: { name: string }) => [table.inputs.name, index.name]));
                assert.deepEqual(indexes.map(([table, index]) => `${table} ${index}`).sort(), [`${prefix}-products CategoryIndex`, `${prefix}-sessions UserIdIndex`, `${prefix}-users email-index`]);
                // Every alarm named after a table is one of the table's alarms, index alarms included (and no name is taken twice).
                for (const spec of [...builtInTables, ...settings.appTables]) {
                    const table = physicalTableName(prefix, spec);
                    const named = run.ofType(T.alarm).map((alarm) => alarm.inputs.name as string).filter((name) => name.startsWith(`${table}-`));
                    assert.deepEqual(named.map((name) => name.slice(table.length + 1)).sort(), tableAlarmSuffixes(spec, replicaRegionsOf(spec, settings.tables.replicaRegions)).sort());
                }
                for (const [table, index] of indexes) {
                    for (const [kind, metricName] of [["read", "ReadThrottleEvents"], ["write", "WriteThrottleEvents"]]) {
                        const alarm = run.where(T.alarm, "name", `${table}-${index}-${kind}-throttles`).inputs;
                        assert.equal(alarm.namespace, "AWS/DynamoDB");
                        assert.equal(alarm.metricName, metricName);
                        assert.deepEqual(alarm.dimensions, { TableName: table, GlobalSecondaryIndexName: index });
                        assert.deepEqual([alarm.statistic, alarm.period, alarm.threshold, alarm.comparisonOperator], ["Sum", 300, 1, "GreaterThanOrEqualToThreshold"]);
                        assert.deepEqual(alarm.alarmActions, [topicArn]);
                    }
                }
            });
        });

        describe("Gateway", () => {
            it("creates an HTTP API {prefix}-api with the stack's CORS", () => {
                const api = run.one(T.api, "tollgate-gateway-api").inputs;
                assert.equal(api.name, `${prefix}-api`);
                assert.equal(api.protocolType, "HTTP");
                assert.deepEqual(api.corsConfiguration, {
                    allowOrigins: stack === "prod" ? ["https://app.example.com"] : ["http://localhost:5173"],
                    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                    allowHeaders: ["authorization", "content-type"],
                    // Neither stack file sets exposeHeaders: the default.
                    exposeHeaders: ["ratelimit", "ratelimit-policy", "retry-after", "x-request-id"],
                    allowCredentials: stack === "prod",
                    maxAge: stack === "prod" ? 3600 : 600,
                });
            });

            it("serves the $default stage with auto-deploy, both throttling limits and JSON access logs to its own log group", () => {
                const stage = run.one(T.stage, "tollgate-gateway-stage").inputs;
                assert.equal(stage.name, "$default");
                assert.equal(stage.autoDeploy, true);
                assert.deepEqual(stage.defaultRouteSettings, stack === "prod" ? { throttlingBurstLimit: 5000, throttlingRateLimit: 2000 } : { throttlingBurstLimit: 500, throttlingRateLimit: 200 });
                assert.equal(stage.accessLogSettings.destinationArn, `arn:aws:logs:${fakeRegion}:${fakeAccount}:log-group:/aws/apigateway/${prefix}-api`);
                const format = JSON.parse(stage.accessLogSettings.format);
                assert.equal(format.requestId, "$context.requestId");
                assert.equal(format.status, "$context.status");
                assert.equal(format.ip, "$context.identity.sourceIp");
                // What the Lambda cannot log itself: a request it never answered (API Gateway's throttle, a failed invocation).
                assert.equal(format.integrationError, "$context.integrationErrorMessage");
                assert.equal(format.responseLatency, "$context.responseLatency");
                assert.equal(format.userAgent, undefined, "no field every request pays for without need");
            });

            it("routes ANY / and ANY /{proxy+} to the Lambda through one AWS_PROXY integration with payload format 2.0", () => {
                const integration = run.one(T.integration, "tollgate-gateway-integration").inputs;
                assert.equal(integration.integrationType, "AWS_PROXY");
                assert.equal(integration.payloadFormatVersion, "2.0");
                assert.equal(integration.integrationUri, `arn:aws:lambda:${fakeRegion}:${fakeAccount}:function:${prefix}-gateway`);
                const routes = run.ofType(T.route).map((r) => r.inputs);
                assert.deepEqual(routes.map((r) => r.routeKey).sort(), ["ANY /", "ANY /{proxy+}"]);
                for (const route of routes) assert.equal(route.target, "integrations/tollgate-gateway-integration-id");
            });

            it("lets only this API invoke the Lambda", () => {
                const permission = run.one(T.permission, "tollgate-gateway-invoke").inputs;
                assert.equal(permission.action, "lambda:InvokeFunction");
                assert.equal(permission.principal, "apigateway.amazonaws.com");
                assert.equal(permission.function, `${prefix}-gateway`);
                assert.equal(permission.sourceArn, `arn:aws:execute-api:${fakeRegion}:${fakeAccount}:tollgate-gateway-api-id/*/*`);
            });

            it("ships the Lambda {prefix}-gateway on nodejs24.x, arm64, with the stack's memory, timeout and environment", () => {
                const fn = run.one(T.fn, "tollgate-gateway-function").inputs;
                assert.equal(fn.name, `${prefix}-gateway`);
                assert.equal(fn.runtime, "nodejs24.x");
                assert.deepEqual(fn.architectures, ["arm64"]);
                assert.equal(fn.memorySize, stack === "prod" ? 1024 : 512);
                assert.equal(fn.timeout, 30);
                assert.equal(fn.handler, "__index.handler");
                assert.equal(fn.role, `arn:aws:iam::${fakeAccount}:role/${prefix}-gateway`);
                assert.deepEqual(fn.environment.variables, {
                    [environmentNames.rateLimitTable]: `${prefix}-rate-limits`,
                    [environmentNames.sessionTable]: `${prefix}-sessions`,
                    [environmentNames.region]: fakeRegion,
                    [environmentNames.logLevel]: "INFO",
                    [environmentNames.jwtSecretArn]: `arn:aws:secretsmanager:${fakeRegion}:${fakeAccount}:secret:tollgate-gateway-jwt-secret-AbCdEf`,
                    [environmentNames.gatewayKeysSecretArn]: `arn:aws:secretsmanager:${fakeRegion}:${fakeAccount}:secret:tollgate-gateway-gateway-keys-AbCdEf`,
                    [environmentNames.gatewayKeyGeneration]: "1",
                });
                // JSON, without Lambda's START/END/REPORT records (system level WARN), and every line tollgate writes let through.
                assert.deepEqual(fn.loggingConfig, { logFormat: "JSON", systemLogLevel: "WARN", applicationLogLevel: "INFO", logGroup: `/aws/lambda/${prefix}-gateway` });
                assert.equal(fn.vpcConfig, undefined, "tollgate:vpc is off in the shipped stacks");
                assert.equal(fn.tracingConfig, undefined, "tollgate:lambda.tracing is off in the shipped stacks");
            });

            it("gives the Lambda its own role, trusted by Lambda only, with one inline policy and no managed policy", () => {
                const role = run.one(T.role, "tollgate-gateway-role").inputs;
                assert.equal(role.name, `${prefix}-gateway`);
                assert.deepEqual(JSON.parse(role.assumeRolePolicy).Statement, [
                    { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
                ]);
                assert.equal(role.managedPolicyArns, undefined);
                // The backup component's service role (prod) has its own attachments.
                const gatewayUrn = run.one("tollgate:gateway:Gateway", "tollgate-gateway").urn;
                const ofGateway = (type: string) => run.ofType(type).filter((r) => r.parent === gatewayUrn || r.urn.includes("tollgate:gateway:Gateway$"));
                assert.deepEqual(ofGateway(T.attachment), [], "no policy attachments (CallbackFunction's default FullAccess set would show here)");
                assert.equal(ofGateway(T.role).length, 1);
                assert.equal(run.ofType(T.rolePolicy).length, 1);
            });

            it("grants only the handler's DynamoDB actions, on exactly the two tables and the sessions index, and no wildcard", () => {
                // Sessions: the lookup and revocations always; puts only where a route issues, updates only where sessions roll.
                const issues = settings.routes.some((route) => route.sessions?.issue);
                const renews = settings.sessions.renewWithinSeconds > 0;
                if (stack === "dev") assert.ok(issues && renews, "the dev stack issues and renews sessions, so both conditional grants are checked");
                const sessionActions = ["dynamodb:DeleteItem", "dynamodb:GetItem", ...(issues ? ["dynamodb:PutItem"] : []), ...(renews ? ["dynamodb:UpdateItem"] : [])];
                const document = JSON.parse(run.one(T.rolePolicy, "tollgate-gateway-policy").inputs.policy);
                const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
                const dynamo = document.Statement.filter((s: any) => list(s.Action).some((a) => a.startsWith("dynamodb:")));
                for (const statement of document.Statement) {
                    assert.equal(statement.Effect, "Allow");
                    for (const action of list(statement.Action)) assert.ok(!action.includes("*"), `wildcard action ${action}`);
                }
                for (const statement of dynamo) {
                    for (const action of list(statement.Action)) assert.ok(action.startsWith("dynamodb:"), `${action} mixed into a DynamoDB statement`);
                    for (const resource of list(statement.Resource)) assert.ok(!resource.includes("*"), `wildcard resource ${resource} for DynamoDB`);
                }
                const rateLimits = tableArn(`${prefix}-rate-limits`);
                const sessions = tableArn(`${prefix}-sessions`);
                const grants = new Map<string, Set<string>>();
                for (const statement of dynamo) {
                    for (const resource of list(statement.Resource)) {
                        const actions = grants.get(resource) ?? new Set<string>();
                        list(statement.Action).forEach((a) => actions.add(a));
                        grants.set(resource, actions);
                    }
                }
                assert.deepEqual(
                    Object.fromEntries([...grants].map(([resource, actions]) => [resource, [...actions].sort()])),
                    {
                        [rateLimits]: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                        [sessions]: sessionActions,
                        [`${sessions}/index/UserIdIndex`]: ["dynamodb:Query"],
                    },
                );
                const others = document.Statement.filter((s: any) => !dynamo.includes(s));
                assert.deepEqual(
                    others.map((s: any) => [list(s.Action).sort(), s.Resource]),
                    [
                        [["logs:CreateLogStream", "logs:PutLogEvents"], `arn:aws:logs:${fakeRegion}:${fakeAccount}:log-group:/aws/lambda/${prefix}-gateway:*`],
                        [["secretsmanager:GetSecretValue"], `arn:aws:secretsmanager:${fakeRegion}:${fakeAccount}:secret:tollgate-gateway-jwt-secret-AbCdEf`],
                        [["secretsmanager:GetSecretValue"], `arn:aws:secretsmanager:${fakeRegion}:${fakeAccount}:secret:tollgate-gateway-gateway-keys-AbCdEf`],
                    ],
                );
            });

            it("generates the JWT key into Secrets Manager when tollgate:jwtSecret is unset", () => {
                assert.equal(settings.jwtSecret, undefined);
                const secret = run.one(T.secret, "tollgate-gateway-jwt-secret").inputs;
                assert.equal(secret.namePrefix, `${prefix}-jwt-secret-`);
                const generated = run.one(T.randomPassword, "tollgate-gateway-jwt-secret-generated").inputs;
                assert.equal(generated.length, 64);
                const version = run.one(T.secretVersion, "tollgate-gateway-jwt-secret-value");
                assert.equal(version.inputs.secretId, "tollgate-gateway-jwt-secret-id");
                assert.deepEqual(version.inputs.secretString, secretValue("x".repeat(64)), "the secret holds the generated key, marked secret");
                assert.ok(version.propertyDependencies.secretString?.includes(run.one(T.randomPassword, "tollgate-gateway-jwt-secret-generated").urn));
            });

            it("keeps the assertion's ES256 key and the log key in a secret of their own, generated, and serves the JWKS from the API", () => {
                const [key] = run.ofType(T.privateKey);
                assert.deepEqual(run.ofType(T.privateKey).map((r) => r.name), ["tollgate-gateway-signing-key-1"], "generation 1 has no previous key");
                assert.deepEqual(key.inputs, { algorithm: "ECDSA", ecdsaCurve: "P256" });
                assert.equal(run.one(T.secret, "tollgate-gateway-gateway-keys").inputs.namePrefix, `${prefix}-gateway-keys-`);
                const version = run.one(T.secretVersion, "tollgate-gateway-gateway-keys-value");
                const material = JSON.parse(version.inputs.secretString.value);
                assert.deepEqual(version.inputs.secretString, secretValue(version.inputs.secretString.value), "the keys are marked secret");
                assert.equal(material.signingKeys.length, 1);
                assert.match(material.signingKeys[0], /^-----BEGIN PRIVATE KEY-----/);
                assert.equal(material.logKey, "x".repeat(64));
                assert.ok(version.propertyDependencies.secretString?.includes(key.urn));
                assert.ok(version.propertyDependencies.secretString?.includes(run.one(T.randomPassword, "tollgate-gateway-log-key").urn));
                assert.match(run.outputs.identityJwksUrl, /^https:\/\/.+\/\.well-known\/jwks\.json$/);
                assert.equal(run.outputs.identityIssuer, settings.domain ? `https://${settings.domain.name}` : `urn:tollgate:${prefix}`);
            });
        });

        describe("the Lambda archive", () => {
            let archive: ReturnType<typeof materialiseArchive>;
            before(() => {
                archive = materialiseArchive(run.one(T.fn, "tollgate-gateway-function").inputs.code);
            });
            after(() => fs.rmSync(archive.dir, { recursive: true, force: true }));

            it("holds __index.js and the runtime bundle, and nothing from node_modules, @pulumi or @aws-sdk", () => {
                assert.deepEqual(archive.files, [".tollgate/build/gateway.js", "__index.js"]);
                const index = fs.readFileSync(path.join(archive.dir, "__index.js"), "utf8");
                const bundle = fs.readFileSync(path.join(archive.dir, ".tollgate/build/gateway.js"), "utf8");
                const required = [...index.matchAll(/require\(([^)]*)\)/g)].map((m) => m[1]);
                assert.deepEqual(required, ["bundleModule"], "the factory requires the bundle and nothing else");
                assert.match(index, /bundleModule: "\.\/\.tollgate\/build\/gateway\.js"/);
                assert.doesNotMatch(bundle, /require\("@pulumi\//, "the bundle must not load the Pulumi SDK");
                const external = new Set([...bundle.matchAll(/require\("([^"./][^"]*)"\)/g)].map((m) => m[1]));
                for (const name of external) {
                    assert.ok(name.startsWith("@aws-sdk/") || name.startsWith("node:") || isNodeBuiltin(name), `the bundle leaves '${name}' outside; the archive does not have it`);
                }
            });

            it("captures the stack's routes into __index.js, and no secret", () => {
                const index = fs.readFileSync(path.join(archive.dir, "__index.js"), "utf8");
                for (const route of settings.routes) assert.ok(index.includes(JSON.stringify(route.upstream)), `route ${route.name} not captured`);
                assert.ok(!/jwtSecret/.test(index));
            });

            it(`answers GET /health/live with 200 {status: ok} when __index.js is loaded in a fresh process on ${lambdaNode.description}`, async () => {
                const fn = run.one(T.fn, "tollgate-gateway-function").inputs;
                const container = await startLambdaContainer({
                    taskRoot: archive.dir,
                    handler: fn.handler,
                    timeoutSeconds: fn.timeout,
                    environment: {
                        AWS_REGION: fakeRegion,
                        [environmentNames.rateLimitTable]: `${prefix}-rate-limits`,
                        [environmentNames.sessionTable]: `${prefix}-sessions`,
                        [environmentNames.region]: fakeRegion,
                        [environmentNames.logLevel]: "ERROR",
                        [environmentNames.jwtSecretArn]: `arn:aws:secretsmanager:${fakeRegion}:${fakeAccount}:secret:jwt`,
                        [environmentNames.gatewayKeysSecretArn]: `arn:aws:secretsmanager:${fakeRegion}:${fakeAccount}:secret:gateway-keys`,
                    },
                });
                try {
                    const result = await container.invoke(event({ path: "/health/live" }));
                    assert.equal(result.statusCode, 200);
                    assert.match(String(result.headers?.["content-type"]), /^application\/json/);
                    assert.deepEqual(JSON.parse(result.body!), { status: "ok" });
                } finally {
                    await container.close();
                }
            });
        });

        describe("Logging", () => {
            it(`keeps the Lambda and access logs ${settings.logRetentionDays} days, the Lambda's in the Standard class (EMF) and the access log in Infrequent Access`, () => {
                assert.equal(settings.logRetentionDays, stack === "prod" ? 30 : 7);
                const groups = run.ofType(T.logGroup).map((g) => g.inputs);
                assert.deepEqual(groups.map((g) => [g.name, g.retentionInDays, g.logGroupClass]).sort(), [
                    [`/aws/apigateway/${prefix}-api`, settings.logRetentionDays, "INFREQUENT_ACCESS"],
                    [`/aws/lambda/${prefix}-gateway`, settings.logRetentionDays, "STANDARD"],
                ]);
            });

            it(stack === "prod" ? "subscribes the on-call address to the alarm topic" : "makes the alarm topic with no subscription when tollgate:alarmEmail is unset", () => {
                assert.equal(run.one(T.topic, "tollgate-logging-alarms").inputs.name, `${prefix}-alarms`);
                const subscriptions = run.ofType(T.subscription).map((s) => s.inputs);
                if (stack === "prod") {
                    assert.deepEqual(subscriptions, [{ topic: `arn:aws:sns:${fakeRegion}:${fakeAccount}:${prefix}-alarms`, protocol: "email", endpoint: "oncall@example.com" }]);
                } else {
                    assert.deepEqual(subscriptions, []);
                }
            });

            it("alarms on Lambda errors, Lambda throttles and API 5xx", () => {
                const lambdaErrors = run.where(T.alarm, "name", `${prefix}-lambda-errors`).inputs;
                assert.deepEqual([lambdaErrors.namespace, lambdaErrors.metricName, lambdaErrors.dimensions], ["AWS/Lambda", "Errors", { FunctionName: `${prefix}-gateway` }]);
                const throttles = run.where(T.alarm, "name", `${prefix}-lambda-throttles`).inputs;
                assert.deepEqual([throttles.namespace, throttles.metricName, throttles.dimensions], ["AWS/Lambda", "Throttles", { FunctionName: `${prefix}-gateway` }]);
                const api5xx = run.where(T.alarm, "name", `${prefix}-api-5xx`).inputs;
                assert.deepEqual([api5xx.namespace, api5xx.metricName, api5xx.dimensions], ["AWS/ApiGateway", "5xx", { ApiId: "tollgate-gateway-api-id" }]);
                for (const alarm of [lambdaErrors, throttles, api5xx]) {
                    assert.deepEqual(alarm.alarmActions, [`arn:aws:sns:${fakeRegion}:${fakeAccount}:${prefix}-alarms`]);
                    assert.equal(alarm.comparisonOperator, "GreaterThanOrEqualToThreshold");
                    assert.ok(alarm.threshold >= 1);
                }
                const replicationAlarms = run.ofType(T.alarm).filter((a) => a.inputs.metricName === "ReplicationLatency").length;
                assert.equal(replicationAlarms, stack === "prod" ? 3 : 0, "prod replicates sessions, products and users to one region");
                // Three of the Lambda and the API, three per table, two per index (sessions, products, users have one each), and replication.
                assert.equal(run.ofType(T.alarm).length, 3 + 3 * 4 + 2 * 3 + replicationAlarms);
            });

            it("saves the Logs Insights queries under tollgate/{prefix}/, each against its log group", () => {
                const queries = run.ofType("aws:cloudwatch/queryDefinition:QueryDefinition").map((q) => q.inputs);
                assert.deepEqual(
                    queries.map((q) => [q.name, q.logGroupNames]).sort(),
                    [
                        [`tollgate/${prefix}/5xx-with-upstream-errors`, [`/aws/lambda/${prefix}-gateway`]],
                        [`tollgate/${prefix}/api-gateway-5xx`, [`/aws/apigateway/${prefix}-api`]],
                        [`tollgate/${prefix}/auth-failures`, [`/aws/lambda/${prefix}-gateway`]],
                        [`tollgate/${prefix}/refusals-by-reason`, [`/aws/lambda/${prefix}-gateway`]],
                        [`tollgate/${prefix}/refusals-by-route-and-key`, [`/aws/lambda/${prefix}-gateway`]],
                        [`tollgate/${prefix}/slowest-requests`, [`/aws/lambda/${prefix}-gateway`]],
                    ],
                );
                const slowest = queries.find((q) => q.name.endsWith("/slowest-requests"))!;
                assert.equal(slowest.queryString, "fields @timestamp, correlation_id, route, method, status, latency_ms, upstream_ms\n| filter ispresent(latency_ms)\n| sort latency_ms desc\n| limit 50");
                const byReason = queries.find((q) => q.name.endsWith("/refusals-by-reason"))!;
                assert.equal(
                    byReason.queryString,
                    "filter ispresent(reason)\n| stats count(*) as answers, min(@timestamp) as first, max(@timestamp) as last by reason, route, status\n| sort answers desc\n| limit 100",
                );
            });

            it("draws requests, 4xx/5xx, latency p50/p99, Lambda duration, and DynamoDB capacity and throttles per table and throttles per index", () => {
                const dashboard = run.one(T.dashboard, "tollgate-logging-dashboard").inputs;
                const widgets = JSON.parse(dashboard.dashboardBody).widgets.filter((w: any) => w.type === "metric");
                const byTitle = new Map<string, any[]>(widgets.map((w: any) => [w.properties.title, w.properties.metrics]));
                const series = (title: string) => {
                    const metrics = byTitle.get(title);
                    assert.ok(metrics, `no widget '${title}' (have ${[...byTitle.keys()].join(", ")})`);
                    return metrics!.map((m: any[]) => [...m.slice(0, 4), m[4].stat]);
                };
                assert.deepEqual(series("Requests"), [["AWS/ApiGateway", "Count", "ApiId", "tollgate-gateway-api-id", "Sum"]]);
                assert.deepEqual(series("4xx and 5xx responses").map((m) => m[1]), ["4xx", "5xx"]);
                assert.deepEqual(series("Latency (ms)").map((m) => [m[1], m[4]]), [["Latency", "p50"], ["Latency", "p99"]]);
                assert.deepEqual(series("Lambda duration (ms)").map((m) => [m[1], m[3], m[4]]), [
                    ["Duration", `${prefix}-gateway`, "p50"],
                    ["Duration", `${prefix}-gateway`, "p99"],
                    ["Duration", `${prefix}-gateway`, "Maximum"],
                ]);
                const tables = ["rate-limits", "sessions", "products", "users"].map((t) => `${prefix}-${t}`);
                const perTable = (title: string) => series(title).map((m) => `${m[3]} ${m[1]}`).sort();
                assert.deepEqual(perTable("DynamoDB consumed capacity per table"), tables.flatMap((t) => [`${t} ConsumedReadCapacityUnits`, `${t} ConsumedWriteCapacityUnits`]).sort());
                assert.deepEqual(perTable("DynamoDB throttles per table"), tables.flatMap((t) => [`${t} ReadThrottleEvents`, `${t} WriteThrottleEvents`]).sort());
                const perIndex = byTitle.get("DynamoDB throttles per index");
                assert.ok(perIndex, "no widget 'DynamoDB throttles per index'");
                assert.deepEqual(
                    perIndex!.map((m: any[]) => `${m.slice(0, 6).join(" ")} ${m[6].stat}`).sort(),
                    [
                        [`${prefix}-sessions`, "UserIdIndex"],
                        [`${prefix}-products`, "CategoryIndex"],
                        [`${prefix}-users`, "email-index"],
                    ]
                        .flatMap(([table, index]) =>
                            ["ReadThrottleEvents", "WriteThrottleEvents"].map((metric) => `AWS/DynamoDB ${metric} TableName ${table} GlobalSecondaryIndexName ${index} Sum`),
                        )
                        .sort(),
                );
                for (const widget of widgets) assert.equal(widget.properties.region, fakeRegion);
            });
        });

        if (stack === "prod") {
            describe("Domain", () => {
                const domain = settings.domain!;
                it("exports domainUrl", () => assert.equal(run.outputs.domainUrl, `https://${domain.name}`));

                it("issues an ACM certificate validated by a DNS record in the hosted zone", () => {
                    const certificate = run.one(T.certificate, "tollgate-domain-certificate").inputs;
                    assert.deepEqual([certificate.domainName, certificate.validationMethod], [domain.name, "DNS"]);
                    const record = run.one(T.record, "tollgate-domain-validation").inputs;
                    assert.equal(record.zoneId, domain.hostedZoneId);
                    assert.equal(record.type, "CNAME");
                    assert.equal(record.name, `_x1.${domain.name}.`);
                    assert.deepEqual(record.records, ["_x2.acm-validations.aws."]);
                    const validation = run.one(T.certificateValidation, "tollgate-domain-certificate-validation").inputs;
                    assert.deepEqual(validation.validationRecordFqdns, [`_x1.${domain.name}`]);
                });

                it("serves the API on the domain with TLS 1.2 and maps it to the $default stage", () => {
                    const name = run.one(T.domainName, "tollgate-domain-domain-name").inputs;
                    assert.equal(name.domainName, domain.name);
                    assert.equal(name.domainNameConfiguration.securityPolicy, "TLS_1_2");
                    assert.equal(name.domainNameConfiguration.endpointType, "REGIONAL");
                    assert.equal(name.domainNameConfiguration.certificateArn, `arn:aws:acm:${fakeRegion}:${fakeAccount}:certificate/tollgate-domain-certificate`);
                    const mapping = run.one(T.apiMapping, "tollgate-domain-mapping").inputs;
                    assert.deepEqual([mapping.apiId, mapping.domainName, mapping.stage], ["tollgate-gateway-api-id", "tollgate-domain-domain-name-id", "tollgate-gateway-stage-id"]);
                });

                it("points alias A and AAAA records at the API's domain name", () => {
                    for (const [resource, type] of [["tollgate-domain-alias-a", "A"], ["tollgate-domain-alias-aaaa", "AAAA"]]) {
                        const record = run.one(T.record, resource).inputs;
                        assert.deepEqual([record.zoneId, record.name, record.type], [domain.hostedZoneId, domain.name, type]);
                        assert.deepEqual(record.aliases, [{ name: `d-tollgate-domain-domain-name-id.execute-api.${fakeRegion}.amazonaws.com`, zoneId: "ZFAKEAPIGWZONE", evaluateTargetHealth: false }]);
                    }
                });
            });
        } else {
            it("has no custom domain and no domainUrl output", () => {
                assert.equal(run.outputs.domainUrl, undefined);
                assert.deepEqual(run.ofType(T.domainName), []);
                assert.deepEqual(run.ofType(T.certificate), []);
                assert.deepEqual(run.ofType(T.record), []);
            });
        }
    });
}

describe("the Lambda bundle's esbuild target", function () {
    it("is the Node major of the Lambda's runtime, so the bundle uses what that Node has and nothing newer", async function () {
        this.timeout(180_000);
        // given index.ts with esbuild watched (test/fixtures/program-esbuild-watched) and the dev stack's config
        const run = new StackRun(
            await runProgramIsolated({ program: path.join(__dirname, "fixtures", "program-esbuild-watched", "index.ts"), stack: "dev", config: stackConfig("dev"), timeoutMs: 180_000 }),
        );
        assert.equal(run.error, undefined, `the program failed: ${run.error}`);
        // then the one bundle it builds targets the major of the runtime the Function is given
        const runtime = run.one(T.fn, "tollgate-gateway-function").inputs.runtime;
        const major = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
        assert.ok(major, `unexpected Lambda runtime ${runtime}`);
        assert.deepEqual(run.outputs.esbuildTargets, [`node${major}`]);
    });
});

/** How the engine sees a value wrapped in `pulumi.secret` (the SDK's secret signature). */
function secretValue(value: unknown) {
    return { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value };
}

function isNodeBuiltin(name: string): boolean {
    return require("node:module").builtinModules.includes(name.split("/")[0]);
}
