/**
 * The rate-limits table, seen through the only three things the limiter asks
 * of it. Items keep the seed's attribute names: `limiter_key`, `window_start`
 * (epoch seconds), `request_count`, `last_updated`, `expires_at` (TTL).
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { isConditionalCheckFailed } from "./dynamo";

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

export class DynamoRateLimitStore implements RateLimitStore {
    constructor(
        private readonly dynamo: DynamoDBDocumentClient,
        readonly tableName: string,
    ) {}

    async countRequest(request: CountRequest): Promise<CountResult> {
        try {
            // The seed's algorithm, unchanged: the condition makes the check and the
            // increment one atomic step, so concurrent containers never over-admit.
            const result = await this.dynamo.send(
                new UpdateCommand({
                    TableName: this.tableName,
                    Key: { limiter_key: request.limiterKey, window_start: request.windowStart },
                    UpdateExpression: "ADD request_count :one SET last_updated = :now, expires_at = :expires_at",
                    ConditionExpression: "attribute_not_exists(request_count) OR request_count < :limit",
                    ExpressionAttributeValues: {
                        ":one": 1,
                        ":now": request.now,
                        ":expires_at": request.expiresAt,
                        ":limit": request.limit,
                    },
                    ReturnValues: "UPDATED_NEW",
                }),
            );
            return { admitted: true, count: Number(result.Attributes?.request_count ?? 1) };
        } catch (error) {
            if (isConditionalCheckFailed(error)) return { admitted: false };
            throw error;
        }
    }

    async windowCount(limiterKey: string, windowStart: number): Promise<number> {
        const result = await this.dynamo.send(
            new GetCommand({
                TableName: this.tableName,
                Key: { limiter_key: limiterKey, window_start: windowStart },
                ProjectionExpression: "request_count",
                ConsistentRead: true,
            }),
        );
        return Number(result.Item?.request_count ?? 0);
    }

    async ping(): Promise<void> {
        // A GetItem of a key that never exists: the cheapest proof the table answers,
        // and it needs no permission beyond what the limiter already has.
        await this.dynamo.send(
            new GetCommand({ TableName: this.tableName, Key: { limiter_key: "tollgate:health", window_start: 0 }, ProjectionExpression: "limiter_key" }),
        );
    }
}
