/**
 * The components on their own (test/fixtures/program-components): their
 * defaults when an arg is left out, and the `transform` escape hatch that sets
 * any provider argument a component does not model.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { runProgramIsolated } from "../policies/offline/harness";
import { StackRun } from "./support/program";

describe("components used outside index.ts", function () {
    let run: StackRun;

    before(async function () {
        this.timeout(180_000);
        run = new StackRun(await runProgramIsolated({ program: path.join(__dirname, "fixtures", "program-components", "index.ts"), stack: "components", timeoutMs: 180_000 }));
        assert.equal(run.error, undefined, `the program failed: ${run.error}`);
    });

    it("registers each under its tollgate:<module>:<Name> token with its children named after it", () => {
        const tables = run.one("tollgate:tables:Tables", "store");
        const logging = run.one("tollgate:logging:Logging", "obs");
        assert.deepEqual(run.childrenOf(tables).map((r) => r.name).sort(), ["store-things", "store-things-read-throttles", "store-things-system-errors", "store-things-write-throttles"]);
        assert.deepEqual(run.childrenOf(logging).map((r) => r.name).sort(), [
            "obs-access",
            "obs-alarms",
            "obs-api-5xx",
            "obs-dashboard",
            "obs-lambda",
            "obs-lambda-errors",
            "obs-lambda-throttles",
            "obs-query-5xx-with-upstream-errors",
            "obs-query-api-gateway-5xx",
            "obs-query-auth-failures",
            "obs-query-refusals-by-reason",
            "obs-query-refusals-by-route-and-key",
            "obs-query-slowest-requests",
        ]);
    });

    it("applies the defaults of args left out: point-in-time recovery on, no deletion protection, AWS-managed encryption, 7-day logs", () => {
        const table = run.one("aws:dynamodb/table:Table", "store-things").inputs;
        assert.deepEqual(table.pointInTimeRecovery, { enabled: true });
        assert.equal(table.deletionProtectionEnabled, false);
        assert.deepEqual(table.serverSideEncryption, { enabled: true });
        assert.equal(table.billingMode, "PAY_PER_REQUEST");
        assert.equal(table.replicas, undefined, "no replica regions: a regional table");
        assert.equal(table.streamEnabled, false);
        assert.equal(run.one("aws:cloudwatch/logGroup:LogGroup", "obs-access").inputs.retentionInDays, 7);
        const dashboard = JSON.parse(run.one("aws:cloudwatch/dashboard:Dashboard", "obs-dashboard").inputs.dashboardBody);
        assert.match(dashboard.widgets[0].properties.markdown, /^## tollgate \(dev\):/, "the environment defaults to dev");
        assert.deepEqual(run.ofType("aws:sns/topicSubscription:TopicSubscription"), []);
    });

    it("leaves a table unprotected by default, and protected when the program protects the whole component", () => {
        assert.equal(run.one("aws:dynamodb/table:Table", "store-things").protect, false);
        const guarded = run.one("aws:dynamodb/table:Table", "guarded-things");
        assert.equal(guarded.inputs.deletionProtectionEnabled, false);
        assert.equal(guarded.protect, true, "protect: false from tables.protect's default would undo the program's own protect");
    });

    it("gives a Gateway with only its required args 512 MB arm64 for 30 s, throttling at 5000/2000, open CORS, INFO logs and no VPC", () => {
        const fn = run.one("aws:lambda/function:Function", "edge-function").inputs;
        assert.deepEqual([fn.memorySize, fn.timeout, fn.architectures], [512, 30, ["arm64"]]);
        assert.equal(fn.environment.variables.LOG_LEVEL, "INFO");
        assert.equal(fn.vpcConfig, undefined);
        assert.deepEqual(run.ofType("tollgate:network:Network"), []);
        assert.deepEqual(run.one("aws:apigatewayv2/stage:Stage", "edge-stage").inputs.defaultRouteSettings, { throttlingBurstLimit: 5000, throttlingRateLimit: 2000 });
        assert.deepEqual(run.one("aws:apigatewayv2/api:Api", "edge-api").inputs.corsConfiguration, {
            allowOrigins: ["*"],
            allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allowHeaders: ["authorization", "content-type"],
            exposeHeaders: ["ratelimit", "ratelimit-policy", "retry-after", "x-request-id"],
            allowCredentials: false,
            maxAge: 600,
        });
        assert.equal(run.one("aws:apigatewayv2/integration:Integration", "edge-integration").inputs.timeoutMilliseconds, 30_000);
    });

    it("lets a transform function edit a resource's arguments, knowing its name", () => {
        assert.deepEqual(run.one("aws:dynamodb/table:Table", "store-things").inputs.tags, { owner: "data-team", resource: "store-things" });
        assert.equal(run.one("aws:cloudwatch/logGroup:LogGroup", "obs-lambda").inputs.retentionInDays, 90);
        assert.equal(run.one("aws:cloudwatch/logGroup:LogGroup", "obs-lambda").inputs.name, "/aws/lambda/demo-fn");
    });

    it("merges a transform object over every resource of its kind, and no other", () => {
        for (const name of ["obs-lambda-errors", "obs-lambda-throttles", "obs-api-5xx"]) {
            const alarm = run.one("aws:cloudwatch/metricAlarm:MetricAlarm", name).inputs;
            assert.equal(alarm.treatMissingData, "breaching", name);
            assert.equal(alarm.actionsEnabled, undefined, name);
        }
        for (const kind of ["read-throttles", "write-throttles", "system-errors"]) {
            const alarm = run.one("aws:cloudwatch/metricAlarm:MetricAlarm", `store-things-${kind}`).inputs;
            assert.equal(alarm.actionsEnabled, false, kind);
            assert.equal(alarm.treatMissingData, "notBreaching", kind);
        }
    });
});
