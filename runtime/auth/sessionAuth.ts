/**
 * Session authentication against the sessions store, with the per-container
 * memories it keeps:
 *
 * - the optional positive cache (`tollgate:sessionCacheSeconds`, default 0):
 *   a valid session is served from memory for that many seconds (never past
 *   its `expires_at`), so a revocation takes effect within that time;
 * - the owner of each token seen: a session never changes user, so knowing
 *   it lets a later request from the same token start its user-keyed rate
 *   limit write in parallel with the session read. It says nothing about
 *   validity (every request still reads the session unless the positive cache
 *   serves it) and is forgotten when the session is found gone;
 * - renewals (`tollgate:sessions.renewWithinSeconds`): the ones in flight, so
 *   concurrent requests of one session share one conditional write, and the
 *   new expiry of each one done, so a request that read the session just
 *   before the write does not try again.
 */
import { isActive, isSessionTokenShape, sessionIdOf } from "../sessions";
import type { Session, SessionStore } from "../stores/sessionStore";
import { ExpiringCache } from "../expiringCache";
import { isExpressible, type Identity, type Verification } from "./identity";

export interface SessionAuthOptions {
    store: SessionStore;
    /** Epoch milliseconds. */
    now: () => number;
    cacheSeconds: number;
    /** Renew a session with less life left than this (and than its own TTL); 0: never. */
    renewWithinSeconds?: number;
    /** A renewal never moves a session's expiry past its creation plus this; unset: no such bound. */
    maxLifetimeSeconds?: number;
}

/** A verification that, when valid, also carries the session it read. */
export type SessionVerification = Exclude<Verification, { status: "valid" }> | { status: "valid"; identity: Identity; session: Session };

export class SessionAuthenticator {
    private readonly store: SessionStore;
    private readonly now: () => number;
    private readonly cacheMs: number;
    private readonly renewWithinSeconds: number;
    private readonly maxLifetimeSeconds: number;
    private readonly validSessions = new ExpiringCache<string, Session>();
    private readonly owners = new ExpiringCache<string, string>();
    private readonly renewing = new Map<string, Promise<number | undefined>>();
    /** session_id -> the expires_at this container moved it to. */
    private readonly renewed = new ExpiringCache<string, number>();

    constructor(options: SessionAuthOptions) {
        this.store = options.store;
        this.now = options.now;
        this.cacheMs = options.cacheSeconds * 1000;
        this.renewWithinSeconds = options.renewWithinSeconds ?? 0;
        this.maxLifetimeSeconds = options.maxLifetimeSeconds ?? Number.POSITIVE_INFINITY;
    }

    /** A token's `session_id`, or undefined for one not shaped like a token this gateway issues (refused without a lookup). */
    sessionIdOf(token: string): string | undefined {
        return isSessionTokenShape(token) ? sessionIdOf(token) : undefined;
    }

    /** The user a session (by the `session_id` of its token) belonged to when last seen valid in this container. */
    knownOwner(sessionId: string | undefined): string | undefined {
        return sessionId === undefined ? undefined : this.owners.get(sessionId, this.now());
    }

    /** Verifies a token; `sessionId`, its `sessionIdOf` when the caller has it already. */
    async verify(token: string, sessionId = this.sessionIdOf(token)): Promise<SessionVerification> {
        // Not a token this gateway issues: refused without a lookup.
        if (sessionId === undefined) return { status: "invalid", reason: "session.malformed" };
        const now = this.now();
        const cached = this.cacheMs > 0 ? this.validSessions.get(sessionId, now) : undefined;
        if (cached) return { status: "valid", identity: identityOf(cached), session: cached };
        let session: Session | undefined;
        try {
            session = await this.store.get(sessionId);
        } catch {
            return { status: "unavailable" };
        }
        // A session written by other means than the session library may hold an identity no upstream could be told.
        const refused = !session ? "session.unknown" : !isActive(session, Math.floor(now / 1000)) ? "session.expired" : !isExpressible(session) ? "session.identity" : undefined;
        if (refused || !session) {
            this.forget(sessionId);
            return { status: "invalid", reason: refused ?? "session.unknown" };
        }
        const expiresAtMs = session.expiresAt * 1000;
        this.owners.set(sessionId, session.userId, expiresAtMs, now);
        if (this.cacheMs > 0) this.validSessions.set(sessionId, session, Math.min(now + this.cacheMs, expiresAtMs), now);
        return { status: "valid", identity: identityOf(session), session };
    }

    /**
     * Moves the session one TTL later when its remaining life is below the
     * renewal window (the smaller of `renewWithinSeconds` and its own TTL, so
     * a renewed session is never due again before a TTL has passed). Resolves
     * to the new `expires_at`, or undefined when another container renewed it
     * first, it is gone, or the write failed (the session stays valid as it
     * was). Undefined without a promise when no renewal is due.
     */
    renewIfDue(session: Session): Promise<number | undefined> | undefined {
        if (this.renewWithinSeconds <= 0) return undefined;
        const now = this.now();
        const sessionId = session.sessionId;
        const inFlight = this.renewing.get(sessionId);
        if (inFlight) return inFlight;
        const renewedTo = this.renewed.get(sessionId, now);
        // Read before this container's renewal landed: it is done, and the caller gets its expiry.
        if (renewedTo !== undefined && renewedTo > session.expiresAt) return Promise.resolve(renewedTo);
        const window = Math.min(this.renewWithinSeconds, session.ttlSeconds);
        if (session.expiresAt - Math.floor(now / 1000) >= window) return undefined;

        // One TTL later, but never past the session's absolute lifetime: there it ends, however often it is used.
        const target = Math.min(session.expiresAt + session.ttlSeconds, session.createdAt + this.maxLifetimeSeconds);
        if (target <= session.expiresAt) return undefined;
        const renewal = this.store.renew(session, target).then(
            (moved) => {
                if (!moved) {
                    // Renewed by another container, or revoked: the next request reads it afresh.
                    this.validSessions.delete(sessionId);
                    return undefined;
                }
                const at = this.now();
                this.renewed.set(sessionId, target, target * 1000, at);
                this.owners.set(sessionId, session.userId, target * 1000, at);
                const cached = this.validSessions.get(sessionId, at);
                if (cached) this.validSessions.set(sessionId, { ...cached, expiresAt: target }, Math.min(at + this.cacheMs, target * 1000), at);
                return target;
            },
            () => undefined,
        );
        this.renewing.set(sessionId, renewal);
        void renewal.finally(() => this.renewing.delete(sessionId));
        return renewal;
    }

    /** Drops what this container remembers of a session (it was revoked). */
    forget(sessionId: string): void {
        this.owners.delete(sessionId);
        this.validSessions.delete(sessionId);
        this.renewed.delete(sessionId);
    }

    /** Drops this container's cached sessions of a user (all of them were revoked). */
    forgetUser(userId: string): void {
        this.validSessions.deleteWhere((session) => session.userId === userId);
    }
}

function identityOf(session: Session): Identity {
    return { userId: session.userId, username: session.username, roles: session.roles, permissions: session.permissions, method: "session" };
}
