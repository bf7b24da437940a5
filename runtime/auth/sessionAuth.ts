/**
 * Session authentication against the sessions store, with two per-container
 * memories:
 *
 * - the optional positive cache (`tollgate:sessionCacheSeconds`, default 0):
 *   a valid session is served from memory for that many seconds (never past
 *   its `expires_at`), so a revocation takes effect within that time;
 * - the owner of each token seen: a session never changes user, so knowing
 *   it lets a later request from the same token start its user-keyed rate
 *   limit write in parallel with the session read. It says nothing about
 *   validity (every request still reads the session unless the positive cache
 *   serves it) and is forgotten when the session is found gone.
 */
import { isActive, isSessionTokenShape, sessionIdOf } from "../sessions";
import type { Session, SessionStore } from "../stores/sessionStore";
import { ExpiringCache } from "../expiringCache";
import type { Identity, Verification } from "./identity";

export interface SessionAuthOptions {
    store: SessionStore;
    /** Epoch milliseconds. */
    now: () => number;
    cacheSeconds: number;
}

export class SessionAuthenticator {
    private readonly store: SessionStore;
    private readonly now: () => number;
    private readonly cacheMs: number;
    private readonly validSessions = new ExpiringCache<string, Session>();
    private readonly owners = new ExpiringCache<string, string>();

    constructor(options: SessionAuthOptions) {
        this.store = options.store;
        this.now = options.now;
        this.cacheMs = options.cacheSeconds * 1000;
    }

    /** The user a token belonged to when last seen valid in this container. */
    knownOwner(token: string): string | undefined {
        if (!isSessionTokenShape(token)) return undefined;
        return this.owners.get(sessionIdOf(token), this.now());
    }

    async verify(token: string): Promise<Verification> {
        // Not a token this gateway issues: refused without a lookup.
        if (!isSessionTokenShape(token)) return { status: "invalid" };
        const sessionId = sessionIdOf(token);
        const now = this.now();
        const cached = this.cacheMs > 0 ? this.validSessions.get(sessionId, now) : undefined;
        if (cached) return { status: "valid", identity: identityOf(cached) };
        let session: Session | undefined;
        try {
            session = await this.store.get(sessionId);
        } catch {
            return { status: "unavailable" };
        }
        if (!session || !isActive(session, Math.floor(now / 1000))) {
            this.owners.delete(sessionId);
            this.validSessions.delete(sessionId);
            return { status: "invalid" };
        }
        const expiresAtMs = session.expiresAt * 1000;
        this.owners.set(sessionId, session.userId, expiresAtMs, now);
        if (this.cacheMs > 0) this.validSessions.set(sessionId, session, Math.min(now + this.cacheMs, expiresAtMs), now);
        return { status: "valid", identity: identityOf(session) };
    }
}

function identityOf(session: Session): Identity {
    return { userId: session.userId, username: session.username, roles: session.roles, permissions: session.permissions, method: "session" };
}
