/**
 * Step 2: authenticate. What credential a route takes, where it is read from,
 * and whether the caller holds the route's permissions.
 *
 * - `session`: `Authorization: Bearer <token>`, else the session cookie
 *   (`__Host-session` deployed, `sessionCookieName`).
 * - `jwt`: `Authorization: Bearer <jwt>`.
 * - `any`: a bearer token shaped like a JWT goes the JWT way, any other
 *   bearer token or the session cookie the session way.
 * - `none`: anonymous; the Authorization header is the upstream's business.
 *
 * A request carrying the session cookie more than once (a cookie planted
 * beside the real one from a sibling subdomain or over plain HTTP, which the
 * browser sends both of) is authenticated as neither: 400.
 */
import type { AuthMode, RouteSpec } from "../../specs/routes";
import { isSessionCookieName } from "../../specs/sessions";
import type { Identity } from "../auth/identity";
import { looksLikeJwt } from "../auth/jwt";
import { isSessionTokenShape } from "../sessions";
import { cookieValues, type GatewayRequest } from "./request";

/** Longer bearer tokens are refused before any parsing, hashing or lookup. */
const maxCredentialLength = 8192;

export type Credential =
    | { kind: "anonymous" }
    /** No credential; `tooLong` when there was one, longer than any the gateway issues or accepts (refused unread). */
    | { kind: "missing"; tooLong?: boolean }
    /** The session cookie came more than once: which one is the caller's cannot be told. */
    | { kind: "ambiguous" }
    | { kind: "session"; token: string; from: "authorization" | "cookie" }
    | { kind: "jwt"; token: string };

function bearerToken(request: GatewayRequest): string | undefined {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? "");
    return match?.[1];
}

export function readCredential(auth: AuthMode, request: GatewayRequest, cookieName: string): Credential {
    if (auth === "none") return { kind: "anonymous" };
    const bearer = bearerToken(request);
    const cookies = auth === "jwt" ? [] : cookieValues(request.cookies, cookieName);
    if (cookies.length > 1) return { kind: "ambiguous" };
    const cookie = cookies[0];
    const credential: Credential = bearer
        ? auth === "jwt" || (auth === "any" && looksLikeJwt(bearer))
            ? { kind: "jwt", token: bearer }
            : { kind: "session", token: bearer, from: "authorization" }
        : cookie
          ? { kind: "session", token: cookie, from: "cookie" }
          : { kind: "missing" };
    if (credential.kind !== "missing" && credential.token.length > maxCredentialLength) return { kind: "missing", tooLong: true };
    return credential;
}

/**
 * Every session token the request carries, whatever the route's auth: a
 * bearer token that is not a JWT, and every session cookie under any of its
 * names, each time it comes; only those shaped like a token this gateway
 * issues. A login revokes them all.
 */
export function presentedSessionTokens(request: GatewayRequest): string[] {
    const tokens = new Set<string>();
    const bearer = bearerToken(request);
    if (bearer && !looksLikeJwt(bearer) && isSessionTokenShape(bearer)) tokens.add(bearer);
    for (const cookie of request.cookies) {
        const separator = cookie.indexOf("=");
        if (separator <= 0 || !isSessionCookieName(cookie.slice(0, separator))) continue;
        const value = cookie.slice(separator + 1).trim();
        if (isSessionTokenShape(value)) tokens.add(value);
    }
    return [...tokens];
}

/** The names, other than `current`, under which the request carries a session cookie (to be cleared when a session is issued or ended). */
export function otherSessionCookieNames(request: GatewayRequest, current: string): string[] {
    const names = new Set<string>();
    for (const cookie of request.cookies) {
        const name = cookie.slice(0, Math.max(0, cookie.indexOf("="))).trim();
        if (name !== current && isSessionCookieName(name)) names.add(name);
    }
    return [...names];
}

/** True when an Authorization value is a bearer token shaped like a session token (which never leaves the gateway). */
export function carriesSessionToken(authorization: string): boolean {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    return match !== null && isSessionTokenShape(match[1]);
}

/**
 * How many credentials an Authorization value holds. API Gateway joins
 * repeated headers with commas, so two headers arrive as `Bearer a,Bearer b`;
 * a comma inside one credential only ever separates `name=value` parameters
 * (RFC 9110 auth-param, quoted strings honoured), so any other comma-separated
 * part starts a second credential.
 */
export function authorizationCredentials(authorization: string | undefined): number {
    if (authorization === undefined) return 0;
    const parts: string[] = [];
    let current = "";
    let quoted = false;
    for (let i = 0; i < authorization.length; i++) {
        const character = authorization[i];
        if (quoted && character === "\\") {
            current += character + (authorization[++i] ?? "");
            continue;
        }
        if (character === '"') quoted = !quoted;
        if (character === "," && !quoted) {
            parts.push(current);
            current = "";
        } else current += character;
    }
    parts.push(current);
    let credentials = 0;
    for (const part of parts.map((p) => p.trim())) {
        if (part === "") continue;
        // `name = value` continues the credential before it; anything else starts one.
        if (credentials > 0 && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \t]*=/.test(part) && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \t]+[^=\s]/.test(part)) continue;
        credentials++;
    }
    return Math.max(credentials, authorization.trim() === "" ? 0 : 1);
}

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * True when a request that the `session` cookie authenticates, or that logs in
 * or out (a route that issues or ends sessions), changes state
 * (an unsafe method) and comes from an origin that is neither the gateway's
 * own nor one of `allowedOrigins` (`tollgate:cors.allowOrigins`, `*` not
 * counting): a cross-site request forgery, which the browser would send with
 * the cookie. OWASP's check of the `Origin` header: browsers send it on every
 * cross-origin request and on same-origin unsafe ones; a request without it
 * (curl, a server) is no browser's forgery and passes. `Origin: null`
 * (sandboxed documents, some redirects) is refused.
 */
export function isCrossSiteWrite(request: GatewayRequest, allowedOrigins: readonly string[]): boolean {
    if (safeMethods.has(request.method)) return false;
    const origin = request.headers.origin;
    if (origin === undefined) return false;
    const claimed = origin.trim().toLowerCase();
    const host = request.headers.host?.trim().toLowerCase();
    const scheme = (request.headers["x-forwarded-proto"] ?? "https").split(",")[0].trim().toLowerCase();
    if (host !== undefined && claimed === `${scheme}://${host}`) return false;
    return !allowedOrigins.some((allowed) => allowed !== "*" && allowed.trim().toLowerCase().replace(/\/+$/, "") === claimed);
}

/** True when the caller holds every permission the route requires. */
export function holdsPermissions(route: RouteSpec, identity: Identity | undefined): boolean {
    if (route.permissions.length === 0) return true;
    if (!identity) return false;
    const held = new Set(identity.permissions);
    return route.permissions.every((permission) => held.has(permission));
}
