/**
 * What AWS accepts (specs/limits.ts), held against what the schema accepts:
 * every physical name the program gives, computed for the longest prefix,
 * table, index and region names the schema allows, within its resource
 * type's length and characters; tags within AWS's limits; and the timeouts
 * that must agree for the gateway's own answer to reach the client. Values
 * past a limit are refused at config load with the key named and what to do.
 */
import * as assert from "node:assert/strict";
import { storeGiveUpMs } from "../runtime/stores/dynamo";
import { resolveSettings, type TollgateConfigInput } from "../specs/config";
import {
    autoNameSuffixLength,
    gatewayReserveMs,
    httpApiIntegrationTimeoutMs,
    maxUpstreamTimeoutMs,
    nameBudget,
    nameLimits,
    prefixSuffixLength,
    tagLimits,
    tollgateTagKeys,
    unnamedResourceTypes,
    type NameLimit,
} from "../specs/limits";
import type { RegisteredResource } from "../policies/offline/harness";
import { devConfigWith, runWithConfig, type StackRun } from "./support/program";

const problemsOf = (raw: TollgateConfigInput): string => {
    try {
        resolveSettings(raw as Record<string, unknown>, { region: "eu-west-1" });
    } catch (error: any) {
        return error.message;
    }
    assert.fail("the settings were accepted");
};

describe("timeouts: the HTTP API's 30 s, the Lambda's timeout and the upstream's", () => {
    it("keeps enough of the HTTP API's 30 s back for a store that does not answer, and a cold start", () => {
        assert.equal(httpApiIntegrationTimeoutMs, 30_000);
        assert.ok(gatewayReserveMs >= storeGiveUpMs + 500, `the reserve (${gatewayReserveMs} ms) leaves under 500 ms beyond the stores' give-up time (${storeGiveUpMs} ms)`);
        assert.equal(maxUpstreamTimeoutMs, 27_000);
    });

    it("refuses a Lambda timeout past 30 s, naming tollgate:lambda.timeoutSeconds and what to set", () => {
        assert.match(problemsOf({ lambda: { timeoutSeconds: 31 } }), /tollgate:lambda\.timeoutSeconds: must be at most 30, got 31; the HTTP API waits 30 s for the Lambda and then answers 503 itself while the function runs on/);
        assert.equal(resolveSettings({ lambda: { timeoutSeconds: 30 } }).lambda.timeoutSeconds, 30);
    });

    it("refuses an upstream timeout the HTTP API cannot wait for, even below the Lambda's timeout", () => {
        assert.match(
            problemsOf({ upstreamTimeoutMs: 27_001 }),
            /tollgate:upstreamTimeoutMs: must be at most 27000, got 27001; the HTTP API waits 30 s in all, and the gateway keeps 3000 ms of it to rate-limit, authenticate and answer 504 before API Gateway answers 503 itself/,
        );
        assert.equal(resolveSettings({ upstreamTimeoutMs: 27_000 }).upstreamTimeoutMs, 27_000);
    });

    it("refuses an upstream timeout at or past the Lambda's timeout, saying which to change", () => {
        assert.match(
            problemsOf({ lambda: { timeoutSeconds: 10 }, upstreamTimeoutMs: 10_000 }),
            /tollgate:upstreamTimeoutMs: 10000 must be below the Lambda timeout \(tollgate:lambda\.timeoutSeconds = 10 s\); lower it, or raise the Lambda timeout \(up to 30 s\)/,
        );
    });

    it("stops the program on a 60 s Lambda with a 45 s upstream, naming both keys, before any resource exists", async function () {
        this.timeout(180_000);
        const run = await runWithConfig("dev", devConfigWith({ "tollgate:lambda": { timeoutSeconds: 60 }, "tollgate:upstreamTimeoutMs": 45_000 }));
        assert.match(run.error ?? "", /tollgate:lambda\.timeoutSeconds: must be at most 30, got 60/);
        assert.match(run.error ?? "", /tollgate:upstreamTimeoutMs: must be at most 27000, got 45000/);
        assert.deepEqual(run.created.map((r) => `${r.type} ${r.name}`), []);
    });
});

/** `length` characters cycling through `alphabet`. */
const filled = (alphabet: string, length: number) => alphabet.repeat(Math.ceil(length / alphabet.length)).slice(0, length);

/** The longest names the schema allows, in every character it allows. */
const longest = {
    prefix: filled("Pz9_-", nameBudget.prefix),
    environment: filled("Env.9_-", nameBudget.environment),
    tableName: (n: number) => `${n}${filled("T.b_l-e", nameBudget.tableName - 1)}`,
    indexName: (n: number) => `${n}${filled("I.x_d-x", nameBudget.indexName - 1)}`,
    /** An AWS-shaped region code as long as the schema allows (real ones are at most 14 characters). */
    region: (letter: string) => `${letter}${letter}-${filled("southeast", nameBudget.regionName - 5)}-${letter === "a" ? 1 : 2}`,
};
const fakeKey = (region: string) => `arn:aws:kms:${region}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

/** Every optional feature on, every configurable name at its longest. */
function longestNamesConfig(): Record<string, unknown> {
    const [replicaRegion, copyRegion] = [longest.region("a"), longest.region("b")];
    const index = (n: number) => ({ name: longest.indexName(n), hashKey: { name: `gsi${n}`, type: "S" } });
    const specTags = Object.fromEntries(
        Array.from({ length: tagLimits.perResource - tollgateTagKeys.length }, (_, i) => [`${i}`.padEnd(tagLimits.keyMaxLength, "k"), "v".repeat(tagLimits.valueMaxLength)]),
    );
    return {
        "tollgate:prefix": longest.prefix,
        "tollgate:environment": longest.environment,
        "tollgate:tables": { kmsKeyArn: fakeKey("eu-west-1"), replicaRegions: [replicaRegion], replicaKmsKeyArns: { [replicaRegion]: fakeKey(replicaRegion), [copyRegion]: fakeKey(copyRegion) } },
        "tollgate:appTables": [
            {
                name: longest.tableName(1),
                hashKey: { name: "id", type: "S" },
                globalSecondaryIndexes: [index(1), index(2)],
                billingMode: "PROVISIONED",
                readCapacity: 5,
                writeCapacity: 5,
                tags: specTags,
            },
            { name: longest.tableName(2), hashKey: { name: "id", type: "S" }, globalSecondaryIndexes: [index(3)], replicaRegions: [replicaRegion, copyRegion] },
        ],
        "tollgate:backup": { enabled: true, copyToRegion: copyRegion },
        "tollgate:domain": { name: `api.${"d".repeat(60)}.example.com`, hostedZoneId: "Z0123456789EXAMPLE0" },
        "tollgate:alarmEmail": "oncall@example.com",
        "tollgate:vpc": { enabled: true },
    };
}

/** The physical name AWS would get for `resource` under `limit`, and whether Pulumi's auto-naming made it. */
function physicalNames(resource: RegisteredResource, limit: NameLimit): { name: string; autoNamed: boolean }[] {
    const inputs = resource.inputs;
    if (limit.argument === "globalSecondaryIndexes[].name") return (inputs.globalSecondaryIndexes ?? []).map((index: { name: string }) => ({ name: index.name, autoNamed: false }));
    if (limit.argument === "namePrefix" && typeof inputs.namePrefix === "string") return [{ name: `${inputs.namePrefix}${"x".repeat(prefixSuffixLength)}`, autoNamed: false }];
    const given = limit.argument === "namePrefix" ? inputs.name : inputs[limit.argument];
    if (typeof given === "string") return [{ name: given, autoNamed: false }];
    return [{ name: `${resource.name}-${"0".repeat(autoNameSuffixLength - 1)}`, autoNamed: true }];
}

describe("physical names: every name the program gives, with the longest names the schema allows, within AWS's limits", function () {
    let run: StackRun;

    before(async function () {
        this.timeout(180_000);
        run = await runWithConfig("dev", devConfigWith(longestNamesConfig()));
        assert.equal(run.error, undefined, `the program refused the longest names the schema allows: ${run.error}`);
    });

    it("accepts each longest name and refuses one character more, naming the key", () => {
        const base = { appTables: [{ name: "t", hashKey: { name: "id", type: "S" } }] } as const;
        const refusals: [TollgateConfigInput, RegExp][] = [
            [{ prefix: `${longest.prefix}x` }, /tollgate:prefix: must be at most 40 characters; every name built on it must fit: the backup vault \{prefix\}-backups/],
            [{ appTables: [{ ...base.appTables[0], name: `${longest.tableName(1)}x` }] }, /tollgate:appTables\[[^\]]+\]\.name: must be at most 133 characters; the table's alarms \(\{prefix\}-\{name\}-\{index\}-write-throttles/],
            [
                { appTables: [{ ...base.appTables[0], globalSecondaryIndexes: [{ name: `${longest.indexName(1)}x`, hashKey: { name: "id" } }] }] },
                /tollgate:appTables\[t\]\.globalSecondaryIndexes\[0\]\.name: must be at most 64 characters; the index's alarms/,
            ],
            [{ tables: { replicaRegions: [`${longest.region("a").slice(0, 3)}x${longest.region("a").slice(3)}`] } }, /tollgate:tables\.replicaRegions\[0\]: must be at most 25 characters; no AWS region code is that long/],
            [{ environment: `${longest.environment}x` }, /tollgate:environment: must be at most 256 characters; it is a tag value/],
        ];
        for (const [raw, expected] of refusals) assert.match(problemsOf(raw), expected);
    });

    it("refuses a prefix with a character a Lambda function or SNS topic name does not allow, saying which to use", () => {
        for (const prefix of ["acme.dev", "acme dev", "acme/dev", "acmé"]) {
            assert.match(problemsOf({ prefix }), /tollgate:prefix: use letters, digits, '_' and '-' only: Lambda function, SNS topic, backup vault and dashboard names allow no other character/, prefix);
        }
    });

    it("refuses tags AWS would refuse on a table spec: a reserved aws: key, too long a key or value, too many", () => {
        const withTags = (tags: Record<string, string>): TollgateConfigInput => ({ appTables: [{ name: "t", hashKey: { name: "id", type: "S" }, tags }] });
        assert.match(problemsOf(withTags({ "aws:owner": "x" })), /tollgate:appTables\[t\]\.tags\.aws:owner: keys starting with aws: are reserved for AWS/);
        assert.match(problemsOf(withTags({ ["k".repeat(129)]: "x" })), /tollgate:appTables\[t\]\.tags\.k+: a tag key has 1 to 128 characters/);
        assert.match(problemsOf(withTags({ owner: "v".repeat(257) })), /tollgate:appTables\[t\]\.tags\.owner: a tag value has at most 256 characters/);
        assert.match(problemsOf(withTags({ owner: "a|b" })), /tollgate:appTables\[t\]\.tags\.owner: value: use letters, digits, spaces and _ \. : \/ = \+ - @ only/);
        const many = Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`t${i}`, "x"]));
        assert.match(problemsOf(withTags(many)), /tollgate:appTables\[t\]\.tags: at most 47 tags: AWS allows 50 per resource and tollgate sets 3/);
    });

    it("registers no resource of a type the limits table does not account for", () => {
        const known = new Set([...nameLimits.map((limit) => limit.type), ...unnamedResourceTypes]);
        const unaccounted = run.created.filter((r) => !r.type.startsWith("tollgate:") && !r.type.startsWith("pulumi:") && !known.has(r.type));
        assert.deepEqual([...new Set(unaccounted.map((r) => r.type))], [], "add each to nameLimits (with its source) or unnamedResourceTypes in specs/limits.ts");
    });

    it("gives every named resource a physical name within its type's length and characters, auto-names within Pulumi's maximum", () => {
        const problems: string[] = [];
        let checked = 0;
        for (const limit of nameLimits) {
            for (const resource of run.ofType(limit.type)) {
                for (const { name, autoNamed } of physicalNames(resource, limit)) {
                    checked++;
                    const where = `${limit.kind} ${resource.name} (${name.length} characters: ${name.slice(0, 60)}${name.length > 60 ? "..." : ""})`;
                    if (name.length < limit.minLength || name.length > limit.maxLength) problems.push(`${where}: AWS allows ${limit.minLength}-${limit.maxLength}`);
                    if (!limit.pattern.test(name)) problems.push(`${where}: AWS allows ${limit.pattern}`);
                    if (autoNamed && (limit.autoNameMaxLength === undefined || name.length > limit.autoNameMaxLength)) {
                        problems.push(`${where}: Pulumi auto-names this type up to ${limit.autoNameMaxLength ?? "never"}`);
                    }
                }
            }
        }
        assert.deepEqual(problems, []);
        assert.ok(checked > 40, `only ${checked} names checked`);
    });

    it("builds the tightest names right up to their limits, so the budget is not looser than it needs to be", () => {
        const longestOf = (type: string, argument: "name" = "name") => Math.max(...run.ofType(type).map((r) => String(r.inputs[argument] ?? "").length));
        // The longest prefix with a customer key: {prefix}-{8 hex digits of the key}, as {prefix}-backups-{8 hex} would pass 50.
        assert.equal(longestOf("aws:backup/vault:Vault"), nameBudget.prefix + 1 + 8);
        assert.equal(longestOf("aws:lambda/function:Function"), nameBudget.prefix + "-gateway".length);
        // The write-throttle alarm of the longest index of the longest table: {prefix}-{table}-{index}-write-throttles.
        assert.equal(longestOf("aws:cloudwatch/metricAlarm:MetricAlarm"), nameBudget.prefix + 1 + nameBudget.tableName + 1 + nameBudget.indexName + "-write-throttles".length);
        assert.equal(longestOf("aws:cloudwatch/metricAlarm:MetricAlarm"), 255);
        assert.equal(longestOf("aws:dynamodb/table:Table"), nameBudget.prefix + 1 + nameBudget.tableName);
    });

    it("keeps every resource's tags within AWS's limits, the spec's own included", () => {
        const problems: string[] = [];
        for (const resource of run.created) {
            const tags: Record<string, string> | undefined = resource.inputs.tags;
            if (!tags) continue;
            if (Object.keys(tags).length > tagLimits.perResource) problems.push(`${resource.name}: ${Object.keys(tags).length} tags`);
            for (const [key, value] of Object.entries(tags)) {
                if (key.length > tagLimits.keyMaxLength || !tagLimits.pattern.test(key) || key.startsWith(tagLimits.reservedKeyPrefix)) problems.push(`${resource.name}: tag key ${key}`);
                if (value.length > tagLimits.valueMaxLength || !tagLimits.pattern.test(value)) problems.push(`${resource.name}: tag ${key} value of ${value.length} characters`);
            }
        }
        assert.deepEqual(problems, []);
        const table = run.where("aws:dynamodb/table:Table", "name", `${longest.prefix}-${longest.tableName(1)}`);
        assert.equal(Object.keys(table.inputs.tags).length, tagLimits.perResource);
    });
});

describe("regions: what lives in the stack's region takes nothing from another", () => {
    it("refuses a domain certificate from another region, as a regional API domain takes one from its own", () => {
        assert.match(
            problemsOf({ domain: { name: "api.example.com", hostedZoneId: "Z0123", certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc" } }),
            /tollgate:domain\.certificateArn: the certificate is in 'us-east-1', and a regional API domain takes one from the stack's region 'eu-west-1' \(aws:region\); import or request it there, or leave certificateArn out/,
        );
        assert.equal(resolveSettings({ domain: { name: "api.example.com", hostedZoneId: "Z0123", certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/abc" } }, { region: "eu-west-1" }).domain?.certificateArn?.split(":")[3], "eu-west-1");
    });
});
