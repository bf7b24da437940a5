/**
 * The sessions table, seen through what the gateway and the sessions command
 * ask of it. Items keep the seed's attribute names: `session_id` (SHA-256 hex
 * of the token, never the token), `user_id`, `username`, `roles` (list),
 * `permissions` (list), `created_at`, `expires_at` (epoch seconds, TTL),
 * and `ttl_seconds` (the lifetime the session was issued with, which a
 * renewal adds to `expires_at`; absent on items written before renewal
 * existed, where `expires_at - created_at` is the same figure).
 * `UserIdIndex` (user_id, expires_at) serves the per-user queries.
 *
 * Single-item operations and one query: nothing here scans or batches, so
 * the Lambda carries no table tooling it never runs. Each is a low-level
 * operation whose attribute values are written out here (`get`, the
 * gateway's hot path, most of all), on a store client (stores/dynamo.ts).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { conditionHeld, asStoreClient, type DynamoInput, type StoreClient } from "./dynamo";

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
    /** The lifetime it was issued with; a renewal moves `expiresAt` this much later. */
    ttlSeconds: number;
}

export interface SessionStore {
    /** The stored session, expired or not; a strongly consistent read. */
    get(sessionId: string): Promise<Session | undefined>;
    /** Writes a new session; throws SessionExistsError if the id is taken. */
    put(session: Session): Promise<void>;
    /** Deletes a session; false when there was none. */
    delete(sessionId: string): Promise<boolean>;
    /** Deletes a session only if it belongs to `userId`; false when there was none of that user. */
    deleteOwned(sessionId: string, userId: string): Promise<boolean>;
    /**
     * Moves `expires_at` from the session's `expiresAt` to `newExpiresAt` in one conditional write; false
     * when the stored expiry is no longer the one read (renewed elsewhere) or the session is gone.
     */
    renew(session: Session, newExpiresAt: number): Promise<boolean>;
    /**
     * Every stored session of a user through `UserIdIndex`, expired ones included unless `activeAt` is
     * given; with `limit`, at most that many, latest expiry first.
     */
    listByUser(userId: string, options?: { activeAt?: number; limit?: number }): Promise<Session[]>;
    /** Deletes the given sessions; returns how many existed. Throws SessionsNotDeletedError when some could not be deleted. */
    deleteMany(sessionIds: string[]): Promise<number>;
    /** Throws when the table cannot be read. */
    ping(): Promise<void>;
}

export const userIdIndexName = "UserIdIndex";

/** A new session's id is already stored (two tokens with one SHA-256: in practice, a broken random source). */
export class SessionExistsError extends Error {
    constructor() {
        super("a session with this id is already stored");
        this.name = "SessionExistsError";
    }
}

/** Some deletes of a revoke-all failed after the client's retries; the rest are done. */
export class SessionsNotDeletedError extends Error {
    constructor(
        readonly failed: number,
        readonly total: number,
        readonly cause: unknown,
    ) {
        super(`${failed} of ${total} sessions were not deleted (${(cause as Error)?.name ?? "error"}); run the revoke again`);
        this.name = "SessionsNotDeletedError";
    }
}

type Item = Record<string, AttributeValue>;

function toSession(item: Item): Session {
    const createdAt = Number(item.created_at?.N);
    const expiresAt = Number(item.expires_at?.N);
    return {
        sessionId: item.session_id?.S ?? "",
        userId: item.user_id?.S ?? "",
        username: item.username?.S,
        roles: asStringList(item.roles),
        permissions: asStringList(item.permissions),
        createdAt,
        expiresAt,
        ttlSeconds: item.ttl_seconds?.N !== undefined ? Number(item.ttl_seconds.N) : expiresAt - createdAt,
    };
}

/** Lists written by hand may arrive as string sets or be missing; the gateway wants plain string arrays. */
function asStringList(value: AttributeValue | undefined): string[] {
    if (value?.SS) return value.SS;
    if (value?.L) return value.L.flatMap((entry) => (entry.S !== undefined ? [entry.S] : entry.N !== undefined ? [entry.N] : []));
    return [];
}

const stringList = (values: string[]): AttributeValue => ({ L: values.map((value) => ({ S: value })) });
const number = (value: number): AttributeValue => ({ N: String(value) });

function toItem(session: Session): Item {
    const item: Item = {
        session_id: { S: session.sessionId },
        user_id: { S: session.userId },
        roles: stringList(session.roles),
        permissions: stringList(session.permissions),
        created_at: number(session.createdAt),
        expires_at: number(session.expiresAt),
        ttl_seconds: number(session.ttlSeconds),
    };
    if (session.username !== undefined) item.username = { S: session.username };
    return item;
}

/** Deletes of one revoke-all in flight at once: enough to end a user's sessions in a few round trips, few enough not to throttle the table. */
const deleteConcurrency = 8;
/** The key the readiness ping reads: never a real session (those are 64 hex characters). */
const keyOf = (sessionId: string) => ({ session_id: { S: sessionId } });
const healthKey = keyOf("tollgate:health");

export class DynamoSessionStore implements SessionStore {
    private readonly dynamo: StoreClient;

    constructor(
        dynamo: DynamoInput,
        readonly tableName: string,
    ) {
        this.dynamo = asStoreClient(dynamo);
    }

    async get(sessionId: string): Promise<Session | undefined> {
        const { Item } = await this.dynamo.call("GetItem", { TableName: this.tableName, Key: keyOf(sessionId), ConsistentRead: true });
        return Item ? toSession(Item) : undefined;
    }

    async put(session: Session): Promise<void> {
        const written = await conditionHeld(
            this.dynamo.call("PutItem", { TableName: this.tableName, Item: toItem(session), ConditionExpression: "attribute_not_exists(session_id)" }),
        );
        if (written) return;
        // The condition failed. A put whose first attempt landed but answered after the request timeout
        // meets its own item on the SDK's retry: that session is stored as asked, and the put succeeded.
        const stored = await this.get(session.sessionId);
        if (stored && stored.userId === session.userId && stored.createdAt === session.createdAt && stored.expiresAt === session.expiresAt) return;
        throw new SessionExistsError();
    }

    async delete(sessionId: string): Promise<boolean> {
        const { Attributes } = await this.dynamo.call("DeleteItem", { TableName: this.tableName, Key: keyOf(sessionId), ReturnValues: "ALL_OLD" });
        return Attributes !== undefined;
    }

    deleteOwned(sessionId: string, userId: string): Promise<boolean> {
        // One conditional write: an id of another user's session (or none) fails the condition, and nothing is read first.
        return conditionHeld(
            this.dynamo.call("DeleteItem", { TableName: this.tableName, Key: keyOf(sessionId), ConditionExpression: "user_id = :user", ExpressionAttributeValues: { ":user": { S: userId } } }),
        );
    }

    renew(session: Session, newExpiresAt: number): Promise<boolean> {
        // The condition also keeps a revoked session revoked: UpdateItem on a missing key would otherwise create an item.
        return conditionHeld(
            this.dynamo.call("UpdateItem", {
                    TableName: this.tableName,
                    Key: keyOf(session.sessionId),
                    UpdateExpression: "SET expires_at = :renewed, ttl_seconds = if_not_exists(ttl_seconds, :ttl)",
                    ConditionExpression: "expires_at = :seen",
                    ExpressionAttributeValues: { ":renewed": number(newExpiresAt), ":ttl": number(session.ttlSeconds), ":seen": number(session.expiresAt) },
                }),
        );
    }

    async listByUser(userId: string, options: { activeAt?: number; limit?: number } = {}): Promise<Session[]> {
        const sessions: Session[] = [];
        const active = options.activeAt !== undefined;
        const limit = options.limit;
        let startKey: Item | undefined;
        do {
            const page = await this.dynamo.call("Query", {
                    TableName: this.tableName,
                    IndexName: userIdIndexName,
                    KeyConditionExpression: active ? "user_id = :user AND expires_at > :now" : "user_id = :user",
                    ExpressionAttributeValues: active ? { ":user": { S: userId }, ":now": number(options.activeAt!) } : { ":user": { S: userId } },
                    ExclusiveStartKey: startKey,
                    ...(limit !== undefined ? { ScanIndexForward: false, Limit: limit - sessions.length } : {}),
                });
            for (const item of page.Items ?? []) sessions.push(toSession(item));
            startKey = page.LastEvaluatedKey;
        } while (startKey && (limit === undefined || sessions.length < limit));
        return sessions;
    }

    async deleteMany(sessionIds: string[]): Promise<number> {
        let deleted = 0;
        let failed = 0;
        let firstError: unknown;
        const queue = [...sessionIds];
        const worker = async () => {
            for (let sessionId = queue.shift(); sessionId !== undefined; sessionId = queue.shift()) {
                try {
                    if (await this.delete(sessionId)) deleted++;
                } catch (error) {
                    failed++;
                    firstError ??= error;
                }
            }
        };
        await Promise.all(Array.from({ length: Math.min(deleteConcurrency, queue.length) }, worker));
        if (failed > 0) throw new SessionsNotDeletedError(failed, sessionIds.length, firstError);
        return deleted;
    }

    async ping(): Promise<void> {
        await this.dynamo.call("GetItem", { TableName: this.tableName, Key: healthKey, ProjectionExpression: "session_id" });
    }
}
