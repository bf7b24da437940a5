/**
 * The `session` cookie as the gateway sets it:
 *
 *   session=<token>; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=<seconds>
 *
 * `HttpOnly` always (no script reads the token), `Secure` wherever the
 * gateway is deployed (the local gateway, plain HTTP on loopback, leaves it
 * out), `SameSite`, `Path` and `Domain` from `tollgate:sessions.cookie`, which
 * the config schema holds to characters that cannot end an attribute.
 */
import { sessionCookieName, type SessionCookieSettings } from "../../specs/sessions";

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
    return `${sessionCookieName}=${token}; ${attributes(settings, maxAgeSeconds)}`;
}

/** Removes the cookie: same name, path and domain, empty value, `Max-Age=0`. */
export function clearedSessionCookie(settings: SessionCookieSettings): string {
    return `${sessionCookieName}=; ${attributes(settings, 0)}`;
}

/** True for a `Set-Cookie` value that sets the session cookie (an upstream may not). */
export function setsSessionCookie(setCookie: string): boolean {
    const separator = setCookie.indexOf("=");
    return separator >= 0 && setCookie.slice(0, separator).trim() === sessionCookieName;
}
