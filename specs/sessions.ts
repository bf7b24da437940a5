/**
 * Sessions as the gateway issues, renews and ends them: the names upstreams
 * and clients see (the instruction header, the token header, the cookie, the
 * self-service path) and the settings the runtime acts on. The config schema
 * (specs/config.ts) fills `SessionSettings` from `tollgate:sessions`; the
 * runtime reads it from the captured settings.
 */

/**
 * The names the session cookie goes by: `__Host-session` deployed (the
 * browser then takes it only over HTTPS, from this host, with `Path=/` and no
 * `Domain`, so neither a sibling subdomain nor a plain-HTTP page can set or
 * shadow it), `__Secure-session` deployed with `tollgate:sessions.cookie.domain`
 * or a narrower `path` (which `__Host-` forbids), and `session` where the
 * gateway serves plain HTTP (`npm start` on loopback: the prefixes need `Secure`).
 */
export const sessionCookieNames = { host: "__Host-session", secure: "__Secure-session", plain: "session" } as const;

/** The session cookie's name under these settings: the one definition every reader and writer of the cookie uses. */
export function sessionCookieName(cookie: Pick<SessionCookieSettings, "secure" | "domain" | "path">): string {
    if (!cookie.secure) return sessionCookieNames.plain;
    return cookie.domain === undefined && cookie.path === "/" ? sessionCookieNames.host : sessionCookieNames.secure;
}

/** True for a cookie name that is, or that a lenient server would read as, one of the session cookie's names. */
export function isSessionCookieName(name: string): boolean {
    const lower = name.trim().toLowerCase();
    return lower === "session" || lower === "__host-session" || lower === "__secure-session";
}

/** Response headers between the upstream, the gateway and the client. */
export const sessionHeaders = {
    /** Upstream -> gateway, JSON: `{userId, username?, roles?, permissions?, ttlSeconds?}` issues, `{revoke: "current" | "all"}` ends. Never reaches the client. */
    instruction: "x-gateway-session",
    /** Gateway -> client on routes with `sessions.returnToken`: the new token, for `Authorization: Bearer`. */
    token: "x-gateway-session-token",
} as const;

/** The caller's own sessions: `GET` lists them, `DELETE <path>/<id>` revokes one. */
export const selfServicePath = "/.well-known/sessions";

/** What a route does with an upstream's `x-gateway-session` answer. */
export interface RouteSessions {
    /** Create a session when the upstream answers 2xx with `{userId, ...}`, and set the cookie. */
    issue: boolean;
    /** Also send the new token back in `x-gateway-session-token` (needs `issue`). */
    returnToken: boolean;
    /** Honour `{revoke: "current" | "all"}` (needs an authenticated route). */
    revoke: boolean;
}

export type SameSite = "Strict" | "Lax" | "None";

export interface SessionCookieSettings {
    sameSite: SameSite;
    path: string;
    /** Unset: a host-only cookie. */
    domain?: string;
    /** Always true deployed; the local gateway, plain HTTP on loopback, turns it off. */
    secure: boolean;
}

export interface SessionSettings {
    cookie: SessionCookieSettings;
    /** A session with less life left than this is moved one TTL later (at most once per TTL); 0 turns renewal off. */
    renewWithinSeconds: number;
    /** Lifetime of an issued session whose instruction gives no `ttlSeconds`. */
    defaultTtlSeconds: number;
    /** The longest `ttlSeconds` an instruction may ask for; longer is refused (502). */
    maxTtlSeconds: number;
    /** The longest a session lives from its creation, renewals included: a renewal never moves `expires_at` past it. */
    maxLifetimeSeconds: number;
}

/** What the schema gives a stack that sets nothing under `tollgate:sessions`. */
export const sessionDefaults = {
    renewWithinSeconds: 0,
    defaultTtlSeconds: 86_400,
    maxTtlSeconds: 30 * 86_400,
    /** Renewal stops here: a rolling session is logged out 30 days after its login, however often it is used. */
    maxLifetimeSeconds: 30 * 86_400,
    /** The ceiling of `maxTtlSeconds`: a session is not a permanent credential. */
    ttlCeilingSeconds: 366 * 86_400,
} as const;

/** The settings of a stack that sets nothing under `tollgate:sessions`, as deployed (Secure cookie). */
export function defaultSessionSettings(): SessionSettings {
    return {
        cookie: { sameSite: "Lax", path: "/", secure: true },
        renewWithinSeconds: sessionDefaults.renewWithinSeconds,
        defaultTtlSeconds: sessionDefaults.defaultTtlSeconds,
        maxTtlSeconds: sessionDefaults.maxTtlSeconds,
        maxLifetimeSeconds: sessionDefaults.maxLifetimeSeconds,
    };
}
