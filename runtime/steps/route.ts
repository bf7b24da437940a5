/**
 * Step 1: route. Finds the route whose `pathPrefix` is the longest match of
 * the request path, segment by segment, and the path to send upstream.
 *
 * API Gateway HTTP APIs hand `rawPath` over percent-decoded (the local
 * gateway does the same), so the path is taken as decoded exactly once:
 * every character that cannot stay literal in a URL path, `%` included, is
 * encoded again for the upstream, which decodes it once and sees what the
 * client meant. `/products/%2541` reaches the upstream as `/%2541` (its
 * decoded form `%41`), never as `A`.
 *
 * Anything that could move the upstream path outside the route's prefix, for
 * the upstream or for anything that decodes it again, is refused (400)
 * rather than normalised: a segment that is `.` or `..` once decoded any
 * number of times, with `;` path parameters removed (`..;`, `.;x`, `%2e%2e`,
 * `%252e%252e;`), an encoded slash or backslash at any depth, a null byte or
 * control character, a literal backslash.
 *
 * The route is chosen on the path as the server stacks behind it read it
 * (`segmentAsRead`: `;` parameters removed, trailing spaces and dots removed,
 * decoded again, case folded), because the segments after a prefix reach
 * that route's upstream: `/auth/logout;x` on the `/auth` prefix would reach
 * the login service as `/logout;x`, which Tomcat reads as `/logout`. When
 * the path as sent would choose another route than the path as read, the
 * request is refused (400), so neither reading reaches a route the other
 * would not; a segment that is nothing once read (`;x`, `...`, a space) is
 * refused too, since such servers drop it and the segments after it move up.
 */
import type { Reason } from "../../specs/reasons";
import { healthPaths, jwksPath, segmentAsRead, type RouteSpec } from "../../specs/routes";
import { selfServicePath } from "../../specs/sessions";

export interface CompiledRoute {
    spec: RouteSpec;
    /** The prefix's segments, decoded; `[]` for the root prefix `/`. */
    segments: string[];
    /** The same, as a server reads them (`segmentAsRead`). */
    segmentsAsRead: string[];
    /** Every segment reads as it is written (a lower-case prefix). */
    readAsWritten: boolean;
}

export type RouteMatch =
    | { kind: "health"; check: "live" | "ready" }
    /** The public keys of the identity assertion. */
    | { kind: "jwks" }
    /** The caller's own sessions: the list, or one of them by id (whatever follows the path; the step checks it). */
    | { kind: "self-service"; sessionId?: string }
    | { kind: "route"; route: RouteSpec; upstreamPath: string }
    | { kind: "not-found" }
    | { kind: "bad-path"; reason: PathReason };

/** Why a path is refused (400). */
export type PathReason = Extract<Reason, `path.${string}`>;

/** Longest prefix first, so the first match is the longest. */
export function compileRoutes(routes: readonly RouteSpec[]): CompiledRoute[] {
    return routes
        .map((spec) => {
            const segments = spec.pathPrefix.split("/").filter((segment) => segment !== "");
            const segmentsAsRead = segments.map(segmentAsRead);
            return { spec, segments, segmentsAsRead, readAsWritten: segmentsAsRead.every((segment, i) => segment === segments[i]) };
        })
        .sort((a, b) => b.segments.length - a.segments.length);
}

const maxPathLength = 8192;
const forbiddenCharacters = /[\u0000-\u001f\u007f\\]/;
/** RFC 3986 pchar without '%': what may stay literal in a path segment. By code point (`u`), so a character outside the BMP is encoded whole. */
const notPathCharacter = /[^A-Za-z0-9\-._~!$&'()*+,;=:@]/gu;
const percentEscape = /%([0-9A-Fa-f]{2})/g;
/** What a segment holds when no server could read it otherwise and it needs no encoding. */
const plainSegment = /^[a-z0-9_~!$&'()*+,=:@.-]*[a-z0-9_~!$&'()*+,=:@-]$/;
/** Decoding rounds a segment is checked through: enough for any upstream that decodes more than once. */
const maxDecodingRounds = 8;

export interface ParsedPath {
    /** Segments safe to put in a URL path as they are (percent-encoded where needed). */
    encoded: string[];
    /** The segments as received (decoded once, by API Gateway). */
    decoded: string[];
    /** The segments as the server stacks read them (`segmentAsRead`), for choosing the route. */
    asRead: string[];
    trailingSlash: boolean;
    /** Every segment reads as it was sent. */
    readAsSent: boolean;
}

/**
 * Why a segment, decoded again and again (as a careless upstream or a
 * framework might), ever becomes something that leaves its place, or
 * undefined when it never does: a dot segment (path parameters after `;`
 * removed, as Tomcat, Jetty and Spring do), or a slash, backslash, null byte
 * or control character. Escapes are decoded byte by byte, so one that is not
 * UTF-8 still shows what it hides.
 */
function evasion(segment: string): PathReason | undefined {
    let current = segment;
    for (let round = 0; round <= maxDecodingRounds; round++) {
        if (/[\/\\\u0000-\u001f\u007f]/.test(current)) return "path.hidden_separator";
        const withoutParameters = current.split(";", 1)[0];
        if (withoutParameters === "." || withoutParameters === "..") return "path.dot_segment";
        const next = current.replace(percentEscape, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
        if (next === current) return undefined;
        current = next;
    }
    return "path.hidden_separator"; // still decoding after that many rounds: nothing legitimate looks like this
}

/** Splits and checks a request path (decoded once, as API Gateway hands it over); `refused` says why it must be refused. */
export function parsePath(rawPath: unknown): ParsedPath | { refused: PathReason } {
    if (typeof rawPath !== "string" || !rawPath.startsWith("/") || rawPath.length > maxPathLength) return { refused: "path.invalid" };
    if (forbiddenCharacters.test(rawPath)) return { refused: "path.invalid" };
    const parts = rawPath.split("/").slice(1);
    const trailingSlash = parts.length > 0 && parts[parts.length - 1] === "";
    const encoded: string[] = [];
    const decoded: string[] = [];
    const asRead: string[] = [];
    let readAsSent = true;
    for (const part of parts) {
        if (part === "") continue; // '//' collapses: an empty segment could turn into a host-relative URL
        // Most segments are lower-case letters, digits and the like: nothing to decode, refuse, read otherwise or encode.
        if (plainSegment.test(part)) {
            encoded.push(part);
            decoded.push(part);
            asRead.push(part);
            continue;
        }
        const evaded = evasion(part);
        if (evaded) return { refused: evaded };
        const read = segmentAsRead(part);
        // Nothing once read: a server drops it, and the segments after it move up a place.
        if (read === "") return { refused: "path.empty_once_read" };
        let segment: string;
        try {
            segment = part.replace(notPathCharacter, (character) => encodeURIComponent(character));
        } catch {
            return { refused: "path.invalid" }; // a lone surrogate: no character, nothing to encode
        }
        encoded.push(segment);
        decoded.push(part);
        asRead.push(read);
        if (read !== part) readAsSent = false;
    }
    return { encoded, decoded, asRead, trailingSlash, readAsSent };
}

function isUnder(segments: readonly string[], prefix: readonly string[]): boolean {
    return prefix.length <= segments.length && prefix.every((segment, i) => segments[i] === segment);
}

const selfServiceSegments = selfServicePath.split("/").filter(Boolean);
const selfServiceSegmentsAsRead = selfServiceSegments.map(segmentAsRead);
const gatewayPaths = [
    { path: healthPaths.live, match: { kind: "health", check: "live" } as const },
    { path: healthPaths.ready, match: { kind: "health", check: "ready" } as const },
    { path: jwksPath, match: { kind: "jwks" } as const },
].map((gatewayPath) => {
    const segments = gatewayPath.path.split("/").filter(Boolean);
    return { ...gatewayPath, segments, segmentsAsRead: segments.map(segmentAsRead) };
});

/** What one reading of the path (its segments as sent, or as read) chooses; `route` is the index into `routes`. */
type Choice = { kind: "health" | "jwks" | "self-service" | "not-found"; at?: number } | { kind: "route"; at: number };

function choose(routes: readonly CompiledRoute[], segments: readonly string[], trailingSlash: boolean, asRead: boolean): Choice {
    for (const [at, gatewayPath] of gatewayPaths.entries()) {
        const own = asRead ? gatewayPath.segmentsAsRead : gatewayPath.segments;
        if (!trailingSlash && segments.length === own.length && isUnder(segments, own)) return { kind: gatewayPath.match.kind, at };
    }
    // The gateway answers the whole subtree: no route may be reached through it.
    if (isUnder(segments, asRead ? selfServiceSegmentsAsRead : selfServiceSegments)) return { kind: "self-service" };
    const at = routes.findIndex((route) => isUnder(segments, asRead ? route.segmentsAsRead : route.segments));
    return at < 0 ? { kind: "not-found" } : { kind: "route", at };
}

export function matchRoute(routes: readonly CompiledRoute[], rawPath: unknown): RouteMatch {
    const path = parsePath(rawPath);
    if ("refused" in path) return { kind: "bad-path", reason: path.refused };
    const asRead = choose(routes, path.asRead, path.trailingSlash, true);
    // When the path and every prefix read as written, the two readings are one.
    const asSent = path.readAsSent && routes.every((route) => route.readAsWritten) ? asRead : choose(routes, path.decoded, path.trailingSlash, false);
    // The two readings disagree: whichever the gateway chose, the other is what some server would take the path for.
    if (asSent.kind !== "not-found" && (asSent.kind !== asRead.kind || asSent.at !== asRead.at)) return { kind: "bad-path", reason: "path.ambiguous_route" };
    switch (asRead.kind) {
        case "health":
        case "jwks":
            return gatewayPaths[asRead.at!].match;
        case "self-service": {
            const rest = path.decoded.slice(selfServiceSegments.length);
            return { kind: "self-service", sessionId: rest.length ? rest.join("/") : undefined };
        }
        case "not-found":
            return { kind: "not-found" };
        case "route": {
            const match = routes[asRead.at];
            const rest = path.encoded.slice(match.segments.length);
            const upstreamPath = rest.length ? `/${rest.join("/")}${path.trailingSlash ? "/" : ""}` : path.trailingSlash ? "/" : "";
            return { kind: "route", route: match.spec, upstreamPath };
        }
    }
}

const strayPercent = /%(?![0-9A-Fa-f]{2})/g;
const notQueryCharacter = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/gu;

/** Each configured upstream base, parsed once: its origin and path. */
const parsedBases = new Map<string, { origin: string; path: string } | null>();

function parsedBase(base: string): { origin: string; path: string } | undefined {
    let parsed = parsedBases.get(base);
    if (parsed === undefined) {
        try {
            const url = new URL(base);
            parsed = { origin: url.origin, path: url.pathname.replace(/\/+$/, "") };
        } catch {
            parsed = null;
        }
        // Bases come from the routes, so the map holds as many entries as there are routes.
        parsedBases.set(base, parsed);
    }
    return parsed ?? undefined;
}

/**
 * The upstream URL: the route's base, the path after the prefix, the query as
 * received. Undefined if the result would leave the base (a last check; the
 * path was already vetted by `parsePath`).
 */
export function upstreamUrl(upstream: string, upstreamPath: string, rawQueryString: unknown): URL | undefined {
    const base = upstream.replace(/\/+$/, "");
    let query = "";
    try {
        if (typeof rawQueryString === "string" && rawQueryString !== "") query = `?${rawQueryString.replace(strayPercent, "%25").replace(notQueryCharacter, (c) => encodeURIComponent(c))}`;
    } catch {
        return undefined; // a lone surrogate in the query
    }
    const baseParts = parsedBase(base);
    if (!baseParts) return undefined;
    let parsed: URL;
    try {
        parsed = new URL(`${base}${upstreamPath}${query}`);
    } catch {
        return undefined;
    }
    const basePath = baseParts.path;
    const within = parsed.pathname === basePath || parsed.pathname.startsWith(`${basePath}/`) || (basePath === "" && parsed.pathname === "/");
    if (parsed.origin !== baseParts.origin || !within) return undefined;
    return parsed;
}
