/**
 * The session cookie as the gateway sets it, deployed:
 *
 *   __Host-session=<token>; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=<seconds>
 *
 * Its name comes from `sessionCookieName` (specs/sessions.ts): `__Host-session`,
 * `__Secure-session` with a `Domain` or a narrower `Path`, and `session` on
 * the local gateway's plain HTTP. `HttpOnly` always (no script reads the
 * token), `Secure` wherever the gateway is deployed, `SameSite`, `Path` and
 * `Domain` from `tollgate:sessions.cookie`, which the config schema holds to
 * characters that cannot end an attribute.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { isSessionCookieName, sessionCookieName, sessionCookieNames, sessionHeaders, type SessionCookieSettings } from "../../specs/sessions";

function attributes(settings: SessionCookieSettings, maxAgeSeconds: number): string {
    const parts = ["HttpOnly"];
    if (settings.secure) parts.push("Secure");
    parts.push(`SameSite=${settings.sameSite}`, `Path=${settings.path}`);
    if (settings.domain) parts.push(`Domain=${settings.domain}`);
    parts.push(`Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`);
    return parts.join("; ");
}

/** Sets the cookie to a token (base64url, nothing to escape) for `maxAgeSeconds`. */
export function sessionCookie(settings: SessionCookieSettings, token: string, maxAgeSeconds: number): string {
    return `${sessionCookieName(settings)}=${token}; ${attributes(settings, maxAgeSeconds)}`;
}

/** Removes the cookie: same name, path and domain, empty value, `Max-Age=0`. */
export function clearedSessionCookie(settings: SessionCookieSettings): string {
    return `${sessionCookieName(settings)}=; ${attributes(settings, 0)}`;
}

/**
 * Removes a session cookie of another name the browser still sends (one set
 * before the gateway's cookie took its current name): `__Host-session` with
 * the attributes that prefix demands, the others with the configured ones.
 */
export function clearedOtherSessionCookie(settings: SessionCookieSettings, name: string): string {
    if (name === sessionCookieNames.host) return `${name}=; ${attributes({ ...settings, secure: true, path: "/", domain: undefined }, 0)}`;
    return `${name}=; ${attributes(name === sessionCookieNames.secure ? { ...settings, secure: true } : settings, 0)}`;
}

/** True for a `Set-Cookie` value that sets a session cookie, under any of its names and in any case (an upstream may not). */
export function setsSessionCookie(setCookie: string): boolean {
    const separator = setCookie.indexOf("=");
    return separator >= 0 && isSessionCookieName(setCookie.slice(0, separator));
}

/** Headers by which an answer asks a cache to keep it: `Cache-Control`, and the CDN-targeted ones (RFC 9213) that take precedence over it in a CDN. */
const cachingHeaders = new Set(["cache-control", "cdn-cache-control", "surrogate-control", "cloudfront-cache-control"]);

/**
 * An answer that carries a session token (a session cookie set, renewed or
 * cleared, or `x-gateway-session-token`) is `Cache-Control: no-store`,
 * whatever its upstream said: a shared cache that kept it would hand one
 * caller's session to the next. Any other answer is left as it is.
 */
export function notStoredIfItCarriesASession(result: APIGatewayProxyStructuredResultV2): APIGatewayProxyStructuredResultV2 {
    const headers = result.headers ?? {};
    const carriesCookie = result.cookies?.some(setsSessionCookie) ?? false;
    const carriesToken = Object.keys(headers).some((name) => name.toLowerCase() === sessionHeaders.token);
    if (!carriesCookie && !carriesToken) return result;
    const kept: Record<string, string | number | boolean> = {};
    for (const [name, value] of Object.entries(headers)) if (!cachingHeaders.has(name.toLowerCase())) kept[name] = value;
    return { ...result, headers: { ...kept, "cache-control": "no-store" } };
}
