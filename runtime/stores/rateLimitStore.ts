/**
 * The rate-limits table, seen through the only three things the limiter asks
 * of it. Items keep the seed's attribute names: `limiter_key`, `window_start`
 * (epoch seconds), `request_count`, `last_updated`, `expires_at` (TTL).
 *
 * Every call is one low-level operation with its attribute values written
 * out here (no marshalling layer), on the container's store client, which
 * sends them to DynamoDB as they are (runtime/awsClient.ts).
 */
import { isConditionalCheckFailed, asStoreClient, type DynamoInput, type StoreClient } from "./dynamo";

export interface CountRequest {
    limiterKey: string;
    /** Epoch seconds at which the window began. */
    windowStart: number;
    /** Admit only while fewer than this many requests were counted in the window. */
    limit: number;
    /** Epoch seconds, written to `last_updated`. */
    now: number;
    /** Epoch seconds after which TTL may delete the counter. */
    expiresAt: number;
}

/** `count` is the window's count including this request; absent when refused. */
export type CountResult = { admitted: true; count: number } | { admitted: false };

export interface RateLimitStore {
    /** Counts the request if the window is below `limit`; one conditional write, refused without counting otherwise. */
    countRequest(request: CountRequest): Promise<CountResult>;
    /** The count stored for a window (0 when there is no counter). */
    windowCount(limiterKey: string, windowStart: number): Promise<number>;
    /** Throws when the table cannot be read. */
    ping(): Promise<void>;
}

// The seed's algorithm, unchanged: the condition makes the check and the
// increment one atomic step, so concurrent containers never over-admit.
const countUpdate = "ADD request_count :one SET last_updated = :now, expires_at = :expires_at";
const belowLimit = "attribute_not_exists(request_count) OR request_count < :limit";
const one = { N: "1" } as const;
const healthKey = { limiter_key: { S: "tollgate:health" }, window_start: { N: "0" } };

export class DynamoRateLimitStore implements RateLimitStore {
    private readonly dynamo: StoreClient;

    constructor(
        dynamo: DynamoInput,
        readonly tableName: string,
    ) {
        this.dynamo = asStoreClient(dynamo);
    }

    async countRequest(request: CountRequest): Promise<CountResult> {
        try {
            const result = await this.dynamo.call("UpdateItem", {
                    TableName: this.tableName,
                    Key: { limiter_key: { S: request.limiterKey }, window_start: { N: String(request.windowStart) } },
                    UpdateExpression: countUpdate,
                    ConditionExpression: belowLimit,
                    ExpressionAttributeValues: {
                        ":one": one,
                        ":now": { N: String(request.now) },
                        ":expires_at": { N: String(request.expiresAt) },
                        ":limit": { N: String(request.limit) },
                    },
                    ReturnValues: "UPDATED_NEW",
                });
            const count = result.Attributes?.request_count?.N;
            return { admitted: true, count: count === undefined ? 1 : Number(count) };
        } catch (error) {
            if (isConditionalCheckFailed(error)) return { admitted: false };
            throw error;
        }
    }

    async windowCount(limiterKey: string, windowStart: number): Promise<number> {
        const { Item } = await this.dynamo.call("GetItem", {
                TableName: this.tableName,
                Key: { limiter_key: { S: limiterKey }, window_start: { N: String(windowStart) } },
                ProjectionExpression: "request_count",
                ConsistentRead: true,
            });
        const count = Item?.request_count?.N;
        return count === undefined ? 0 : Number(count);
    }

    async ping(): Promise<void> {
        // A GetItem of a key that never exists: the cheapest proof the table answers,
        // and it needs no permission beyond what the limiter already has.
        await this.dynamo.call("GetItem", { TableName: this.tableName, Key: healthKey, ProjectionExpression: "limiter_key" });
    }
}
