/**
 * Opaque sessions: the library behind `npm run sessions` and the gateway's
 * `session` auth.
 *
 * A token is 32 bytes from the CSPRNG, base64url (43 characters). The table
 * never sees it: the item's `session_id` is the SHA-256 of the token in hex,
 * so a leaked table (or backup, or export) holds nothing a client can present.
 * A session whose `expires_at` has passed is treated as absent even while
 * TTL has not deleted it yet (TTL deletion can lag by up to two days).
 */
import { createHash, randomBytes as cryptoRandomBytes } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoSessionStore, type Session, type SessionStore } from "./stores/sessionStore";

export type { Session, SessionStore } from "./stores/sessionStore";
export { DynamoSessionStore } from "./stores/sessionStore";

export const sessionTokenBytes = 32;
export const defaultSessionTtlSeconds = 86_400;
const sessionTokenPattern = /^[A-Za-z0-9_-]{43}$/;

/** A new token: 32 CSPRNG bytes, base64url without padding. */
export function newSessionToken(randomBytes: (size: number) => Buffer = cryptoRandomBytes): string {
    return randomBytes(sessionTokenBytes).toString("base64url");
}

/** The `session_id` stored for a token: SHA-256, hex. */
export function sessionIdOf(token: string): string {
    return createHash("sha256").update(token, "utf8").digest("hex");
}

/** True when the string has the shape of a token this library issues (anything else is refused without a lookup). */
export function isSessionTokenShape(token: string): boolean {
    return sessionTokenPattern.test(token);
}

/** True when the session is still valid at `nowSeconds` (epoch seconds). */
export function isActive(session: Session, nowSeconds: number): boolean {
    return session.expiresAt > nowSeconds;
}

export interface NewSession {
    userId: string;
    username?: string;
    roles?: string[];
    permissions?: string[];
    /** Lifetime in seconds; default one day. */
    ttlSeconds?: number;
}

export class SessionInputError extends Error {
    constructor(
        readonly field: string,
        message: string,
    ) {
        super(`${field}: ${message}`);
        this.name = "SessionInputError";
    }
}

export interface SessionsOptions {
    store: SessionStore;
    /** Epoch milliseconds. */
    now?: () => number;
    randomBytes?: (size: number) => Buffer;
}

export class Sessions {
    private readonly store: SessionStore;
    private readonly now: () => number;
    private readonly randomBytes: (size: number) => Buffer;

    constructor(options: SessionsOptions) {
        this.store = options.store;
        this.now = options.now ?? Date.now;
        this.randomBytes = options.randomBytes ?? cryptoRandomBytes;
    }

    /** Creates a session and returns its token: the only time the token exists outside the client. */
    async create(input: NewSession): Promise<{ token: string; session: Session }> {
        const ttlSeconds = input.ttlSeconds ?? defaultSessionTtlSeconds;
        if (typeof input.userId !== "string" || input.userId.trim() === "") throw new SessionInputError("userId", "must be a non-empty string");
        if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new SessionInputError("ttlSeconds", "must be a positive whole number of seconds");
        for (const field of ["roles", "permissions"] as const) {
            const values = input[field] ?? [];
            if (!Array.isArray(values) || values.some((value) => typeof value !== "string" || value === "")) {
                throw new SessionInputError(field, "must be a list of non-empty strings");
            }
        }
        const token = newSessionToken(this.randomBytes);
        const createdAt = Math.floor(this.now() / 1000);
        const session: Session = {
            sessionId: sessionIdOf(token),
            userId: input.userId,
            username: input.username,
            roles: [...(input.roles ?? [])],
            permissions: [...(input.permissions ?? [])],
            createdAt,
            expiresAt: createdAt + ttlSeconds,
        };
        await this.store.put(session);
        return { token, session };
    }

    /** The session a token opens, or undefined when it is unknown, revoked or expired. */
    async get(token: string): Promise<Session | undefined> {
        if (!isSessionTokenShape(token)) return undefined;
        return this.getById(sessionIdOf(token));
    }

    /** The session stored under a `session_id`, or undefined when unknown or expired. */
    async getById(sessionId: string): Promise<Session | undefined> {
        const session = await this.store.get(sessionId);
        return session && isActive(session, Math.floor(this.now() / 1000)) ? session : undefined;
    }

    /** Deletes the session a token opens; false when there was none. */
    async revoke(token: string): Promise<boolean> {
        if (!isSessionTokenShape(token)) return false;
        return this.store.delete(sessionIdOf(token));
    }

    async revokeById(sessionId: string): Promise<boolean> {
        return this.store.delete(sessionId);
    }

    /**
     * A user's active sessions (expired ones too with `includeExpired`), newest expiry last.
     * Read through `UserIdIndex`, which is eventually consistent: a session created
     * a moment ago may be missing for a moment.
     */
    async listForUser(userId: string, options: { includeExpired?: boolean } = {}): Promise<Session[]> {
        const activeAt = options.includeExpired ? undefined : Math.floor(this.now() / 1000);
        const sessions = await this.store.listByUser(userId, { activeAt });
        return sessions.sort((a, b) => a.expiresAt - b.expiresAt);
    }

    /** Deletes every stored session of a user, expired ones included; returns how many. */
    async revokeAllForUser(userId: string): Promise<number> {
        const sessions = await this.store.listByUser(userId);
        return this.store.deleteMany(sessions.map((session) => session.sessionId));
    }
}

/** Sessions over the DynamoDB sessions table. */
export function createSessions(options: { dynamo: DynamoDBDocumentClient; tableName: string; now?: () => number; randomBytes?: (size: number) => Buffer }): Sessions {
    return new Sessions({ store: new DynamoSessionStore(options.dynamo, options.tableName), now: options.now, randomBytes: options.randomBytes });
}
