/**
 * Table specs: plain data describing every DynamoDB table tollgate owns.
 *
 * One definition, several readers: the Pulumi `Tables` component turns a spec
 * into an `aws.dynamodb.Table`, the local gateway turns it into a `CreateTable`
 * call, and the runtime's stores rely on the key names written here. The seed's
 * attribute names (`limiter_key`, `window_start`, `expires_at`, `session_id`,
 * `user_id`) are kept exactly: operators query these tables by hand.
 */

/** DynamoDB scalar attribute types usable in keys. */
export type KeyType = "S" | "N" | "B";

export interface KeyAttribute {
    name: string;
    type: KeyType;
}

export type Projection = "ALL" | "KEYS_ONLY" | "INCLUDE";

export interface GlobalSecondaryIndexSpec {
    name: string;
    hashKey: KeyAttribute;
    rangeKey?: KeyAttribute;
    /** Default `ALL`. */
    projection?: Projection;
    /** Required with `INCLUDE`. */
    nonKeyAttributes?: string[];
}

export type StreamViewType = "NEW_IMAGE" | "OLD_IMAGE" | "NEW_AND_OLD_IMAGES" | "KEYS_ONLY";
export type TableClass = "STANDARD" | "STANDARD_INFREQUENT_ACCESS";
export type BillingMode = "PAY_PER_REQUEST" | "PROVISIONED";

export interface TableSpec {
    /** Logical name; the physical table is `{prefix}-{name}`. */
    name: string;
    hashKey: KeyAttribute;
    rangeKey?: KeyAttribute;
    globalSecondaryIndexes?: GlobalSecondaryIndexSpec[];
    /** Attribute holding an epoch-seconds expiry; TTL is enabled on it. */
    ttlAttribute?: string;
    stream?: StreamViewType;
    /** Default `STANDARD`. */
    tableClass?: TableClass;
    /** Default `PAY_PER_REQUEST`. */
    billingMode?: BillingMode;
    /** PROVISIONED only: the starting (and minimum) capacity. */
    readCapacity?: number;
    writeCapacity?: number;
    /** PROVISIONED only: autoscaling ceiling; defaults to 10x the starting capacity. */
    maxReadCapacity?: number;
    maxWriteCapacity?: number;
    tags?: Record<string, string>;
    /**
     * Regions the table is replicated to as a DynamoDB global table. Unset: the
     * stack-wide list (`tollgate:tables.replicaRegions`); `[]`: regional only.
     */
    replicaRegions?: string[];
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
