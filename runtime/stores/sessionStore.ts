/**
 * The sessions table, seen through what the gateway and the sessions command
 * ask of it. Items keep the seed's attribute names: `session_id` (SHA-256 hex
 * of the token, never the token), `user_id`, `username`, `roles` (list),
 * `permissions` (list), `created_at`, `expires_at` (epoch seconds, TTL).
 * `UserIdIndex` (user_id, expires_at) serves the per-user queries.
 */
import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export interface Session {
    sessionId: string;
    userId: string;
    username?: string;
    roles: string[];
    permissions: string[];
    /** Epoch seconds. */
    createdAt: number;
    /** Epoch seconds; the session is over from this second on, whether or not TTL has deleted it. */
    expiresAt: number;
}

export interface SessionStore {
    /** The stored session, expired or not; a strongly consistent read. */
    get(sessionId: string): Promise<Session | undefined>;
    /** Writes a new session; fails if the id exists. */
    put(session: Session): Promise<void>;
    /** Deletes a session; false when there was none. */
    delete(sessionId: string): Promise<boolean>;
    /** Every stored session of a user through `UserIdIndex`, expired ones included unless `activeAt` is given. */
    listByUser(userId: string, options?: { activeAt?: number }): Promise<Session[]>;
    /** Deletes the given sessions in batches; returns how many were deleted. */
    deleteMany(sessionIds: string[]): Promise<number>;
    /** Throws when the table cannot be read. */
    ping(): Promise<void>;
}

export const userIdIndexName = "UserIdIndex";

type SessionItem = {
    session_id: string;
    user_id: string;
    username?: string;
    roles?: string[];
    permissions?: string[];
    created_at: number;
    expires_at: number;
};

function toSession(item: Record<string, unknown>): Session {
    const stored = item as SessionItem;
    return {
        sessionId: stored.session_id,
        userId: stored.user_id,
        username: stored.username,
        roles: asStringList(stored.roles),
        permissions: asStringList(stored.permissions),
        createdAt: Number(stored.created_at),
        expiresAt: Number(stored.expires_at),
    };
}

/** Lists written by hand may arrive as string sets or be missing; the gateway wants plain string arrays. */
function asStringList(value: unknown): string[] {
    if (value instanceof Set) return [...value].map(String);
    if (Array.isArray(value)) return value.map(String);
    return [];
}

function toItem(session: Session): SessionItem {
    return {
        session_id: session.sessionId,
        user_id: session.userId,
        username: session.username,
        roles: session.roles,
        permissions: session.permissions,
        created_at: session.createdAt,
        expires_at: session.expiresAt,
    };
}

const batchWriteLimit = 25;
const batchWriteAttempts = 6;

export class DynamoSessionStore implements SessionStore {
    constructor(
        private readonly dynamo: DynamoDBDocumentClient,
        readonly tableName: string,
        private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    ) {}

    async get(sessionId: string): Promise<Session | undefined> {
        const result = await this.dynamo.send(new GetCommand({ TableName: this.tableName, Key: { session_id: sessionId }, ConsistentRead: true }));
        return result.Item ? toSession(result.Item) : undefined;
    }

    async put(session: Session): Promise<void> {
        await this.dynamo.send(
            new PutCommand({ TableName: this.tableName, Item: toItem(session), ConditionExpression: "attribute_not_exists(session_id)" }),
        );
    }

    async delete(sessionId: string): Promise<boolean> {
        const result = await this.dynamo.send(new DeleteCommand({ TableName: this.tableName, Key: { session_id: sessionId }, ReturnValues: "ALL_OLD" }));
        return result.Attributes !== undefined;
    }

    async listByUser(userId: string, options: { activeAt?: number } = {}): Promise<Session[]> {
        const sessions: Session[] = [];
        let startKey: Record<string, unknown> | undefined;
        do {
            const page = await this.dynamo.send(
                new QueryCommand({
                    TableName: this.tableName,
                    IndexName: userIdIndexName,
                    KeyConditionExpression: options.activeAt === undefined ? "user_id = :user_id" : "user_id = :user_id AND expires_at > :now",
                    ExpressionAttributeValues: options.activeAt === undefined ? { ":user_id": userId } : { ":user_id": userId, ":now": options.activeAt },
                    ExclusiveStartKey: startKey,
                }),
            );
            sessions.push(...(page.Items ?? []).map(toSession));
            startKey = page.LastEvaluatedKey;
        } while (startKey);
        return sessions;
    }

    async deleteMany(sessionIds: string[]): Promise<number> {
        let deleted = 0;
        for (let i = 0; i < sessionIds.length; i += batchWriteLimit) {
            let pending = sessionIds.slice(i, i + batchWriteLimit).map((id) => ({ DeleteRequest: { Key: { session_id: id } } }));
            for (let attempt = 1; pending.length > 0; attempt++) {
                const result = await this.dynamo.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
                const unprocessed = (result.UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
                deleted += pending.length - unprocessed.length;
                pending = unprocessed;
                if (pending.length === 0) break;
                if (attempt === batchWriteAttempts) {
                    throw new Error(`${pending.length} session(s) of ${sessionIds.length} were not deleted after ${batchWriteAttempts} attempts (DynamoDB throttling)`);
                }
                // Exponential backoff with full jitter, as AWS recommends for unprocessed items.
                await this.sleep(Math.random() * 50 * 2 ** attempt);
            }
        }
        return deleted;
    }

    async ping(): Promise<void> {
        await this.dynamo.send(new GetCommand({ TableName: this.tableName, Key: { session_id: "tollgate:health" }, ProjectionExpression: "session_id" }));
    }
}
