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

/** True when the caller holds every permission the route requires. */
export function holdsPermissions(route: RouteSpec, identity: Identity | undefined): boolean {
    if (route.permissions.length === 0) return true;
    if (!identity) return false;
    const held = new Set(identity.permissions);
    return route.permissions.every((permission) => held.has(permission));
}
