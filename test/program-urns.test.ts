/**
 * An existing dev or prod stack updates in place under the Tollgate
 * component: every resource it had keeps its URN, or answers to it through an
 * alias. test/fixtures/urns/<stack>.json lists the URNs each stack's program
 * registered before the component (as the engine forms them: the stack's own
 * type is no part of its children's URNs).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RegisteredResource } from "../policies/offline/harness";
import { runStack } from "./support/program";

/** The URN the engine gives a resource: its ancestors' types (the stack's left out), then its own. */
function engineUrns(resources: RegisteredResource[]): Map<RegisteredResource, string> {
    const byMockUrn = new Map(resources.map((resource) => [resource.urn, resource]));
    const typeChain = (resource: RegisteredResource): string => {
        const parent = resource.parent ? byMockUrn.get(resource.parent) : undefined;
        return parent && parent.type !== "pulumi:pulumi:Stack" ? `${typeChain(parent)}$${resource.type}` : resource.type;
    };
    return new Map(resources.map((resource) => [resource, `${resource.urn.split("::").slice(0, 2).join("::")}::${typeChain(resource)}::${resource.name}`]));
}

for (const stack of ["dev", "prod"]) {
    describe(`the ${stack} stack's URNs from before the Tollgate component`, function () {
        this.timeout(180_000);
        const earlier: string[] = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "urns", `${stack}.json`), "utf8"));
        let answering: Map<string, RegisteredResource[]>;
        let unclaimed: RegisteredResource[];

        before(async () => {
            const run = await runStack(stack);
            assert.equal(run.error, undefined, run.error);
            const urns = engineUrns(run.resources);
            answering = new Map(earlier.map((urn) => [urn, []]));
            unclaimed = [];
            for (const resource of run.resources) {
                const answersTo = new Set([urns.get(resource)!, ...resource.aliases].filter((urn) => answering.has(urn)));
                for (const urn of answersTo) answering.get(urn)!.push(resource);
                if (answersTo.size === 0) unclaimed.push(resource);
            }
        });

        it(`has a resource for each of its ${stack === "dev" ? 48 : 68} earlier URNs, by its own URN or an alias`, () => {
            assert.equal(earlier.length, stack === "dev" ? 48 : 68);
            const lost = earlier.filter((urn) => answering.get(urn)!.length === 0);
            assert.deepEqual(lost, [], "these resources would be deleted and created anew");
        });

        it("gives no earlier URN to two resources", () => {
            const shared = earlier.filter((urn) => answering.get(urn)!.length > 1);
            assert.deepEqual(shared, []);
        });

        // Resources the stack did not have before, each added on purpose; none of them takes an earlier URN's place.
        const additions = [
            "tollgate:index:Tollgate::tollgate",
            // A read and a write throttle alarm per global secondary index: DynamoDB counts an index's throttles apart from its table's.
            ...[
                ["sessions", "UserIdIndex"],
                ["products", "CategoryIndex"],
                ["users", "email-index"],
            ].flatMap(([table, index]) => ["read", "write"].map((kind) => `aws:cloudwatch/metricAlarm:MetricAlarm::tollgate-tables-${table}-${index}-${kind}-throttles`)),
            // The saved query that counts the gateway's own answers by reason and route.
            "aws:cloudwatch/queryDefinition:QueryDefinition::tollgate-logging-query-refusals-by-reason",
        ];

        it("adds the Tollgate component, the index throttle alarms and the refusals-by-reason query, and nothing else", () => {
            assert.deepEqual(unclaimed.map((resource) => `${resource.type}::${resource.name}`).sort(), [...additions].sort());
        });
    });
}
