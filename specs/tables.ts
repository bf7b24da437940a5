/**
 * Table specs: plain data describing every DynamoDB table tollgate owns.
 *
 * One definition, several readers: the Pulumi `Tables` component turns a spec
 * into an `aws.dynamodb.Table`, the local gateway turns it into a `CreateTable`
 * call, and the runtime's stores rely on the key names written here. The seed's
 * attribute names (`limiter_key`, `window_start`, `expires_at`, `session_id`,
 * `user_id`) are kept exactly: operators query these tables by hand.
 */

import type { AppTable, AttributeType, GlobalSecondaryIndex, IndexProjection, StreamView, KeyAttribute as KeyAttributeArg } from "./args";

export type { BillingMode, TableClass } from "./args";

/** DynamoDB scalar attribute types usable in keys. */
export type KeyType = AttributeType;

export type KeyAttribute = KeyAttributeArg;

export type Projection = IndexProjection;

export type StreamViewType = StreamView;

/** A global secondary index with each key's type known (config load takes a missing one from the table's other keys). */
export interface GlobalSecondaryIndexSpec extends Omit<GlobalSecondaryIndex, "hashKey" | "rangeKey"> {
    hashKey: KeyAttribute;
    rangeKey?: KeyAttribute;
}

/**
 * A table: `tollgate:appTables`' spec shape (specs/args.ts documents each
 * field) with its indexes' keys typed; the built-in tables are written in it too.
 */
export interface TableSpec extends Omit<AppTable, "globalSecondaryIndexes"> {
    globalSecondaryIndexes?: GlobalSecondaryIndexSpec[];
}

/**
 * Counters of the fixed and sliding window limiters: one item per key and window.
 *
 * Always regional (`replicaRegions: []`, whatever the stack-wide list says): a
 * counter belongs to the region that counts. Replicating it would copy every
 * increment to every region (a replicated write per region per request), and
 * global tables settle concurrent writes by last writer wins, so increments
 * made at once in two regions would be lost and the limit would not hold anyway.
 */
export const rateLimitsTable: TableSpec = {
    name: "rate-limits",
    hashKey: { name: "limiter_key", type: "S" },
    rangeKey: { name: "window_start", type: "N" },
    ttlAttribute: "expires_at",
    replicaRegions: [],
};

/** Opaque sessions, keyed by the SHA-256 of the token (never the token itself). */
export const sessionsTable: TableSpec = {
    name: "sessions",
    hashKey: { name: "session_id", type: "S" },
    globalSecondaryIndexes: [
        {
            name: "UserIdIndex",
            hashKey: { name: "user_id", type: "S" },
            rangeKey: { name: "expires_at", type: "N" },
            projection: "ALL",
        },
    ],
    ttlAttribute: "expires_at",
};

/** The tables every stack has, before any application tables. */
export const builtInTables: readonly TableSpec[] = [rateLimitsTable, sessionsTable];

/** The regions a table is replicated to: its own list when it has one, else the stack-wide list. */
export function replicaRegionsOf(spec: Pick<TableSpec, "replicaRegions">, stackWide: readonly string[] = []): string[] {
    return [...(spec.replicaRegions ?? stackWide)];
}

export function physicalTableName(prefix: string, spec: Pick<TableSpec, "name">): string {
    return `${prefix}-${spec.name}`;
}

/** Every attribute used as a key by the table or one of its indexes, once each. */
export function keyAttributes(spec: TableSpec): KeyAttribute[] {
    const seen = new Map<string, KeyAttribute>();
    const add = (attribute: KeyAttribute | undefined) => {
        if (attribute && !seen.has(attribute.name)) seen.set(attribute.name, attribute);
    };
    add(spec.hashKey);
    add(spec.rangeKey);
    for (const index of spec.globalSecondaryIndexes ?? []) {
        add(index.hashKey);
        add(index.rangeKey);
    }
    return [...seen.values()];
}

/**
 * What each CloudWatch alarm of a table is called after the table's physical
 * name (`{prefix}-{table}-{suffix}`), in the order the Tables component makes
 * them: its throttles and errors, one per replica region, and a read and a
 * write throttle alarm per global secondary index, which carry the index's name.
 */
export function tableAlarmSuffixes(spec: Pick<TableSpec, "globalSecondaryIndexes">, replicaRegions: readonly string[]): string[] {
    return [
        "read-throttles",
        "write-throttles",
        "system-errors",
        ...replicaRegions.map((region) => `replication-latency-${region}`),
        ...(spec.globalSecondaryIndexes ?? []).flatMap((index) => [`${index.name}-read-throttles`, `${index.name}-write-throttles`]),
    ];
}

/**
 * The first alarm name two of the tables would share (alarm names are unique
 * in an account and region: table `a` with index `b` and a table `a-b` both
 * have `{prefix}-a-b-read-throttles`), with the tables, or undefined.
 */
export function sharedAlarmName(specs: readonly TableSpec[], stackWideRegions: readonly string[] = []): { alarm: string; first: string; second: string } | undefined {
    const owners = new Map<string, string>();
    for (const spec of specs) {
        for (const suffix of tableAlarmSuffixes(spec, replicaRegionsOf(spec, stackWideRegions))) {
            const alarm = `${spec.name}-${suffix}`;
            const first = owners.get(alarm);
            if (first !== undefined && first !== spec.name) return { alarm, first, second: spec.name };
            owners.set(alarm, spec.name);
        }
    }
    return undefined;
}
