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
import { asStoreClient, type DynamoInput } from "./stores/dynamo";
import { identityNameProblem, userIdProblem } from "./auth/identity";
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

/** Bounds of what a session may hold; the gateway's identity headers carry all of it to every upstream. */
export const sessionLimits = {
    idLength: 256,
    nameLength: 128,
    listEntries: 64,
} as const;

/**
 * The rules every new session is held to, from the sessions command or an
 * upstream's `x-gateway-session`, the same the gateway holds a JWT's identity
 * to (runtime/auth/identity.ts): a user id and a username without control
 * characters; role and permission names without commas, double quotes,
 * semicolons or backslashes (they travel joined by commas, and `a,b` would
 * read as two, `"a` as a quoted field) and without control characters;
 * every one of them valid Unicode (no lone surrogate, which no header can
 * carry and no lookup would match again); a whole number of seconds of life,
 * at most `maxTtlSeconds` when given. Throws a SessionInputError naming the field.
 */
export function checkNewSession(input: NewSession, options: { maxTtlSeconds?: number } = {}): void {
    const userId = userIdProblem(input.userId, sessionLimits.idLength);
    if (userId) throw new SessionInputError("userId", userId);
    if (input.username !== undefined) {
        if (typeof input.username !== "string" || input.username === "") throw new SessionInputError("username", "must be a non-empty string when given");
        const username = userIdProblem(input.username, sessionLimits.idLength);
        if (username) throw new SessionInputError("username", username);
    }
    for (const field of ["roles", "permissions"] as const) {
        const values = input[field] ?? [];
        if (!Array.isArray(values) || values.some((value) => typeof value !== "string" || value === "")) {
            throw new SessionInputError(field, "must be a list of non-empty strings");
        }
        if (values.length > sessionLimits.listEntries) throw new SessionInputError(field, `must have at most ${sessionLimits.listEntries} entries`);
        for (const value of values) {
            const problem = identityNameProblem(value);
            if (problem) throw new SessionInputError(field, problem);
        }
    }
    if (input.ttlSeconds !== undefined) {
        if (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds <= 0) throw new SessionInputError("ttlSeconds", "must be a positive whole number of seconds");
        if (options.maxTtlSeconds !== undefined && input.ttlSeconds > options.maxTtlSeconds) {
            throw new SessionInputError("ttlSeconds", `must be at most ${options.maxTtlSeconds} seconds`);
        }
    }
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

    /**
     * Creates a session and returns its token: the only time the token exists outside the client.
     * `checkNewSession`'s rules apply (with `maxTtlSeconds` when given); the TTL defaults to
     * `defaultTtlSeconds`, else one day.
     */
    async create(input: NewSession, options: { defaultTtlSeconds?: number; maxTtlSeconds?: number } = {}): Promise<{ token: string; session: Session }> {
        checkNewSession(input, options);
        const ttlSeconds = input.ttlSeconds ?? options.defaultTtlSeconds ?? defaultSessionTtlSeconds;
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
            ttlSeconds,
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

    /** Deletes one session of `userId` by its `session_id`; false when the user has no such session (another user's included). */
    async revokeOwned(userId: string, sessionId: string): Promise<boolean> {
        return this.store.deleteOwned(sessionId, userId);
    }

    /**
     * A user's active sessions (expired ones too with `includeExpired`), newest expiry last;
     * with `limit`, only that many of the latest expiries.
     * Read through `UserIdIndex`, which is eventually consistent: a session created
     * a moment ago may be missing for a moment.
     */
    async listForUser(userId: string, options: { includeExpired?: boolean; limit?: number } = {}): Promise<Session[]> {
        const activeAt = options.includeExpired ? undefined : Math.floor(this.now() / 1000);
        const sessions = await this.store.listByUser(userId, { activeAt, limit: options.limit });
        return sessions.sort((a, b) => a.expiresAt - b.expiresAt);
    }

    /** Deletes every stored session of a user, expired ones included; returns how many. */
    async revokeAllForUser(userId: string): Promise<number> {
        const sessions = await this.store.listByUser(userId);
        return this.store.deleteMany(sessions.map((session) => session.sessionId));
    }
}

/** Sessions over the DynamoDB sessions table. */
export function createSessions(options: { dynamo: DynamoInput; tableName: string; now?: () => number; randomBytes?: (size: number) => Buffer }): Sessions {
    return new Sessions({ store: new DynamoSessionStore(asStoreClient(options.dynamo), options.tableName), now: options.now, randomBytes: options.randomBytes });
}
