/**
 * The sessions table, seen through what the gateway and the sessions command
 * ask of it. Items keep the seed's attribute names: `session_id` (SHA-256 hex
 * of the token, never the token), `user_id`, `username`, `roles` (list),
 * `permissions` (list), `created_at`, `expires_at` (epoch seconds, TTL).
 * `UserIdIndex` (user_id, expires_at) serves the per-user queries.
 *
 * Every read and write goes through the typed table client built from the
 * sessions table spec (runtime/data/client.ts), the one DynamoDB access layer
 * the session store shares with the data tools.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { TableClient } from "../data/client";
import { sessionsTable } from "../specs/tables";

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
    const item: SessionItem = {
        session_id: session.sessionId,
        user_id: session.userId,
        roles: session.roles,
        permissions: session.permissions,
        created_at: session.createdAt,
        expires_at: session.expiresAt,
    };
    // Absent rather than undefined: a document client without removeUndefinedValues refuses undefined.
    if (session.username !== undefined) item.username = session.username;
    return item;
}

/** Attempts at the unprocessed part of a revoke-all batch, backing off with full jitter between them. */
const batchWriteAttempts = 6;
/** The key the readiness ping reads: never a real session (those are 64 hex characters). */
const healthKey = { session_id: "tollgate:health" };

export class DynamoSessionStore implements SessionStore {
    private readonly table: TableClient<SessionItem>;

    constructor(
        dynamo: DynamoDBDocumentClient,
        readonly tableName: string,
        sleep?: (ms: number) => Promise<void>,
    ) {
        this.table = new TableClient<SessionItem>(sessionsTable, { tableName, documentClient: dynamo, maxAttempts: batchWriteAttempts, sleep });
    }

    async get(sessionId: string): Promise<Session | undefined> {
        const item = await this.table.get({ session_id: sessionId }, { consistent: true });
        return item ? toSession(item) : undefined;
    }

    async put(session: Session): Promise<void> {
        await this.table.put(toItem(session), { ifNotExists: true });
    }

    async delete(sessionId: string): Promise<boolean> {
        return (await this.table.delete({ session_id: sessionId })) !== undefined;
    }

    async listByUser(userId: string, options: { activeAt?: number } = {}): Promise<Session[]> {
        const sessions: Session[] = [];
        const rangeKey = options.activeAt === undefined ? undefined : { gt: options.activeAt };
        for await (const item of this.table.query({ index: userIdIndexName, hashKey: userId, rangeKey })) sessions.push(toSession(item));
        return sessions;
    }

    async deleteMany(sessionIds: string[]): Promise<number> {
        const { written } = await this.table.batchWrite(sessionIds.map((sessionId) => ({ delete: { session_id: sessionId } })));
        return written;
    }

    async ping(): Promise<void> {
        await this.table.get(healthKey, { attributes: ["session_id"] });
    }
}
