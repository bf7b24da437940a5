/**
 * Step 2: authenticate. What credential a route takes, where it is read from,
 * and whether the caller holds the route's permissions.
 *
 * - `session`: `Authorization: Bearer <token>`, else the `session` cookie.
 * - `jwt`: `Authorization: Bearer <jwt>`.
 * - `any`: a bearer token shaped like a JWT goes the JWT way, any other
 *   bearer token or a `session` cookie the session way.
 * - `none`: anonymous; the Authorization header is the upstream's business.
 */
import type { AuthMode, RouteSpec } from "../../specs/routes";
import { sessionCookieName } from "../../specs/sessions";
import type { Identity } from "../auth/identity";
import { looksLikeJwt } from "../auth/jwt";
import { isSessionTokenShape } from "../sessions";
import { cookieValue, type GatewayRequest } from "./request";

export { sessionCookieName };

/** Longer bearer tokens are refused before any parsing, hashing or lookup. */
const maxCredentialLength = 8192;

export type Credential =
    | { kind: "anonymous" }
    | { kind: "missing" }
    | { kind: "session"; token: string; from: "authorization" | "cookie" }
    | { kind: "jwt"; token: string };

function bearerToken(request: GatewayRequest): string | undefined {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? "");
    return match?.[1];
}

export function readCredential(auth: AuthMode, request: GatewayRequest): Credential {
    if (auth === "none") return { kind: "anonymous" };
    const bearer = bearerToken(request);
    const cookie = auth === "jwt" ? undefined : cookieValue(request.cookies, sessionCookieName);
    const credential: Credential = bearer
        ? auth === "jwt" || (auth === "any" && looksLikeJwt(bearer))
            ? { kind: "jwt", token: bearer }
            : { kind: "session", token: bearer, from: "authorization" }
        : cookie
          ? { kind: "session", token: cookie, from: "cookie" }
          : { kind: "missing" };
    if (credential.kind !== "missing" && credential.token.length > maxCredentialLength) return { kind: "missing" };
    return credential;
}

/**
 * Every session token the request carries, whatever the route's auth: a
 * bearer token that is not a JWT, and the `session` cookie; only those shaped
 * like a token this gateway issues. A login replaces them all.
 */
export function presentedSessionTokens(request: GatewayRequest): string[] {
    const tokens = new Set<string>();
    const bearer = bearerToken(request);
    if (bearer && !looksLikeJwt(bearer) && isSessionTokenShape(bearer)) tokens.add(bearer);
    const cookie = cookieValue(request.cookies, sessionCookieName);
    if (cookie && isSessionTokenShape(cookie)) tokens.add(cookie);
    return [...tokens];
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
