/**
 * Route and rate-limit specs: plain data read from `tollgate:routes` and
 * `tollgate:defaultRateLimit`. The Gateway component captures them into the
 * Lambda, the local gateway prints them, and the runtime's steps act on them.
 */

import type { RouteSessions } from "./sessions";

export type AuthMode = "none" | "session" | "jwt" | "any";
export type RateLimitKeyBy = "ip" | "user" | "route";
export type RateLimitAlgorithm = "fixed" | "sliding";

export interface RateLimitPolicy {
    /** What a counter is kept per: client IP, authenticated user, or user and route. */
    by: RateLimitKeyBy;
    /** Requests admitted per window. */
    limit: number;
    windowSeconds: number;
    algorithm: RateLimitAlgorithm;
}

export interface RouteRateLimit extends RateLimitPolicy {
    /** A counter shared by every route naming this bucket (they all give the same policy); unset: the route's own counter. */
    bucket?: string;
}

export interface RouteSpec {
    /** Unique name; used in rate-limit keys, metrics and the `RateLimit-Policy` header. */
    name: string;
    /** Requests whose path is this prefix or below it go to this route; the longest match wins. */
    pathPrefix: string;
    /** Base URL of the upstream service; the path after the prefix is appended. */
    upstream: string;
    auth: AuthMode;
    /** Permissions the caller must hold, all of them. */
    permissions: string[];
    /** The route's own limit, counting its own requests (or its bucket's); `undefined` means `tollgate:defaultRateLimit`'s shared counter. */
    rateLimit?: RouteRateLimit;
    /** Whether the upstream may issue or end sessions with `x-gateway-session`; unset: neither. */
    sessions?: RouteSessions;
    /**
     * Send the client's Authorization header (a JWT, Basic credentials) to the
     * upstream. Off by default: the identity assertion says who the caller is.
     * A session token never leaves the gateway either way.
     */
    forwardAuthorization?: boolean;
    /** The `aud` of the identity assertion this route's upstream receives; unset: the route's name. */
    assertionAudience?: string;
    /**
     * Proxy-control headers (`proxyControlHeaders`, lower case) the client may
     * send this route's upstream as it sent them; every other one is dropped.
     * A kept `forwarded` gets the gateway's own element appended.
     */
    keepClientHeaders?: string[];
}

/**
 * Request headers with which a proxy tells the server behind it who the
 * client is, which host, scheme, port or path it called, or which method it
 * meant: Rack, Spring's ForwardedHeaderFilter, Django, Symfony, Laravel,
 * Express's method-override, IIS's URL Rewrite and the like believe them. A
 * client's are dropped (a route may keep named ones, `keepClientHeaders`);
 * the gateway sends `Forwarded` of its own, and API Gateway sets
 * `X-Forwarded-For`, `-Proto` and `-Port`.
 */
export const proxyControlHeaders = [
    "forwarded",
    "x-real-ip",
    "x-client-ip",
    "client-ip",
    "true-client-ip",
    "x-cluster-client-ip",
    "x-forwarded-prefix",
    "x-forwarded-path",
    "x-forwarded-uri",
    "x-forwarded-scheme",
    "x-forwarded-ssl",
    "x-forwarded-server",
    "x-original-host",
    "x-host",
    "x-original-url",
    "x-original-uri",
    "x-rewrite-url",
    "front-end-https",
    "x-url-scheme",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
] as const;

/** `by: ip` counts an IPv6 client by this many leading bits of its address unless `tollgate:rateLimitIpv6PrefixLength` says otherwise. */
export const defaultIpv6PrefixLength = 64;

/**
 * A path segment as the common server stacks read it, for choosing a route:
 * `;` path parameters removed (Tomcat, Jetty, Spring: `logout;x` is
 * `logout`), trailing spaces and dots removed (IIS and ASP.NET, after
 * Windows file names: `logout. ` is `logout`), escapes decoded again for
 * stacks that decode twice, and the case folded (ASP.NET, IIS and Spring's
 * case-insensitive matching: `LOGOUT`, and `ſ` or the Kelvin sign, which
 * Java's `equalsIgnoreCase` takes for `s` and `k`). The segment arrives
 * decoded once, as API Gateway hands the path over.
 */
export function segmentAsRead(segment: string): string {
    // Most segments hold nothing any server reads otherwise.
    if (/^[a-z0-9_~!$&'()*+,=:@-]+$/.test(segment)) return segment;
    let current = segment;
    for (let round = 0; round < 8; round++) {
        const next = current
            .split(";", 1)[0]
            .replace(/[\s.]+$/u, "")
            .replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
        if (next === current) break;
        current = next;
    }
    return current.toUpperCase().toLowerCase();
}

/** Paths the gateway answers itself, before any route. */
export const healthPaths = { live: "/health/live", ready: "/health/ready" } as const;

/** Where the gateway publishes the public keys of its identity assertion (a JWKS, RFC 7517). */
export const jwksPath = "/.well-known/jwks.json";

/**
 * True for a URL on this machine (localhost, 127.0.0.0/8, ::1, 0.0.0.0): an
 * upstream `npm start` proxies to as written and a deployed Lambda can never
 * reach, or a DynamoDB endpoint that takes any credentials.
 */
export function isLoopbackUrl(url: string | undefined): boolean {
    if (!url) return false;
    let host: string;
    try {
        host = new URL(url).hostname.toLowerCase();
    } catch {
        return false;
    }
    return host === "localhost" || host.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(host) || host === "[::1]" || host === "0.0.0.0" || host === "[::]";
}
