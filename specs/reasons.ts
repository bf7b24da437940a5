/**
 * Why the gateway answered a request itself: one stable code per refusal or
 * failure, written as `reason` in the request's log line. Operators count and
 * alert on these codes, so they are a public interface: a code is never
 * renamed or given another meaning, only added. docs/request-handling.md
 * lists every one, and test/reasons.test.ts holds that table to this one.
 *
 * `challenge` is what a 401 (or a 403 for a missing permission, or a 400 for
 * an ambiguous credential) says in `WWW-Authenticate` (RFC 6750 section 3):
 * the RFC's error code and a fixed description naming the check that failed,
 * never a value from the request, a key or a secret. Every session failure
 * shares one description (see docs/security.md for why); a JWT's holder can
 * read its claims anyway, so naming the claim that failed tells them nothing new.
 *
 * `where` says who writes the line: the handler (deployed and under `npm
 * start`), or only `npm start`'s emulation of API Gateway, for answers that
 * API Gateway itself makes when deployed (they show in its access log there).
 */

export interface ReasonSpec {
    status: number;
    /** What happened, for the docs and the inspector. */
    meaning: string;
    /** RFC 6750's `error` and `error_description` for `WWW-Authenticate: Bearer`. */
    challenge?: { error: "invalid_request" | "invalid_token" | "insufficient_scope"; description: string };
    where?: "npm start";
}

const sessionChallenge = { error: "invalid_token", description: "the session is unknown, has ended or has expired" } as const;

export const reasons = {
    "request.malformed": { status: 400, meaning: "The event could not be read as a request (no method or source address, a body that is not valid base64)." },
    "path.invalid": { status: 400, meaning: "The path is not absolute, is longer than 8 KB, or holds a control character, a backslash or a character that is not text." },
    "path.dot_segment": { status: 400, meaning: "A segment is `.` or `..` in some spelling: encoded at any depth, or with `;` parameters (`..;`, `%2e%2e`)." },
    "path.hidden_separator": { status: 400, meaning: "A segment hides a slash, backslash, null byte or control character behind one or more encodings (`%2f`, `%255c`, `%00`)." },
    "path.empty_once_read": { status: 400, meaning: "A segment is nothing once read as the servers behind the gateway read it (`;x`, `...`, a lone space)." },
    "path.ambiguous_route": { status: 400, meaning: "The path as sent and the path as the servers behind the gateway read it choose different routes (`/auth/logout;x`, `/auth/LOGOUT`)." },
    "path.unsendable": { status: 400, meaning: "No upstream URL inside the route's base can be made of the path and query as sent." },
    "credential.multiple": {
        status: 400,
        meaning: "More than one credential in `Authorization` (two headers arrive joined by a comma).",
        challenge: { error: "invalid_request", description: "more than one credential was sent" },
    },
    "session.cookie_repeated": { status: 400, meaning: "The session cookie came more than once, so which one is the caller's cannot be told." },
    "header.unsendable": { status: 400, meaning: "A request header cannot be sent upstream as it came (a name that is not an HTTP token, a control character in a value)." },
    "credential.missing": { status: 401, meaning: "The route takes a credential and the request carries none." },
    "credential.too_long": {
        status: 401,
        meaning: "The bearer token or session cookie is longer than 8 KB; refused unread.",
        challenge: { error: "invalid_token", description: "the token is longer than accepted" },
    },
    "session.malformed": { status: 401, meaning: "The session token is not 43 base64url characters, so no session can have it; refused without a lookup.", challenge: sessionChallenge },
    "session.unknown": { status: 401, meaning: "No session has this token: it never existed, or it was revoked.", challenge: sessionChallenge },
    "session.expired": { status: 401, meaning: "The session's `expires_at` has passed (it may still be stored until TTL removes it).", challenge: sessionChallenge },
    "session.identity": {
        status: 401,
        meaning: "The stored session holds an identity no upstream could be told (a role with a comma, a lone surrogate): written by other means than the session library.",
        challenge: sessionChallenge,
    },
    "jwt.malformed": { status: 401, meaning: "The token is not a signed JWT that can be parsed (three base64url parts, a JSON header and payload).", challenge: { error: "invalid_token", description: "the token is malformed" } },
    "jwt.algorithm": {
        status: 401,
        meaning: "The token's `alg` is not one the gateway holds a key for: HS256 with the JWT secret, RS256 with `tollgate:jwt.jwksUrl` (`none` and the rest are refused).",
        challenge: { error: "invalid_token", description: "the token's algorithm is not accepted" },
    },
    "jwt.no_key": {
        status: 401,
        meaning: "An HS256 token, and no JWT secret is configured (under `npm start` without `TOLLGATE_JWT_SECRET`).",
        challenge: { error: "invalid_token", description: "the token cannot be verified" },
    },
    "jwt.key_unknown": {
        status: 401,
        meaning: "No single key of the JWKS matches the token's `kid` and algorithm.",
        challenge: { error: "invalid_token", description: "no key matches the token" },
    },
    "jwt.signature": { status: 401, meaning: "The token's signature does not verify with the key it names.", challenge: { error: "invalid_token", description: "the token's signature is not valid" } },
    "jwt.expired": { status: 401, meaning: "The token's `exp` has passed (no clock tolerance).", challenge: { error: "invalid_token", description: "the token has expired" } },
    "jwt.not_yet_valid": { status: 401, meaning: "The token's `nbf` is still ahead.", challenge: { error: "invalid_token", description: "the token is not valid yet" } },
    "jwt.issuer": { status: 401, meaning: "The token's `iss` is not `tollgate:jwt.issuer`.", challenge: { error: "invalid_token", description: "the token's issuer is not accepted" } },
    "jwt.audience": { status: 401, meaning: "The token's `aud` does not name `tollgate:jwt.audience`.", challenge: { error: "invalid_token", description: "the token's audience is not accepted" } },
    "jwt.claim_missing": { status: 401, meaning: "The token lacks a claim it must carry: `sub`, `exp`, `iat`, `iss` or `aud`.", challenge: { error: "invalid_token", description: "the token lacks a required claim" } },
    "jwt.claim_invalid": { status: 401, meaning: "A registered claim has the wrong type (an `iat` that is not a number, say).", challenge: { error: "invalid_token", description: "a claim of the token is malformed" } },
    "jwt.type": {
        status: 401,
        meaning: "The token's `typ` header names something other than an access token (`JWT`, `at+jwt`): a refresh or ID token.",
        challenge: { error: "invalid_token", description: "the token's type is not accepted" },
    },
    "jwt.lifetime": {
        status: 401,
        meaning: "The token lives longer (`exp - iat`) than `tollgate:jwt.maxLifetimeSeconds`.",
        challenge: { error: "invalid_token", description: "the token's lifetime is longer than accepted" },
    },
    "jwt.iat_future": {
        status: 401,
        meaning: "The token's `iat` is more than 30 s after the gateway's clock.",
        challenge: { error: "invalid_token", description: "the token is issued in the future" },
    },
    "jwt.identity": {
        status: 401,
        meaning: "The token's `sub`, username, roles or permissions cannot be an identity (a role with a comma, quote, semicolon or backslash, a control character, a lone surrogate).",
        challenge: { error: "invalid_token", description: "the token's identity claims are not accepted" },
    },
    "csrf.origin": { status: 403, meaning: "An unsafe request with the session cookie, or a login or logout, from an origin that is neither the gateway's nor allowed (`tollgate:cors.allowOrigins`)." },
    "permission.missing": {
        status: 403,
        meaning: "The caller lacks one of the route's `permissions`.",
        challenge: { error: "insufficient_scope", description: "the credential lacks a permission this route requires" },
    },
    "route.none": { status: 404, meaning: "No route's `pathPrefix` matches the path." },
    "self_service.unknown_session": { status: 404, meaning: "`DELETE /.well-known/sessions/{id}` names no session of the caller's (another user's, or none)." },
    "method.not_allowed": { status: 405, meaning: "A method the gateway's own paths do not answer (the health checks, the JWKS, `/.well-known/sessions`)." },
    "ratelimit.route": { status: 429, meaning: "The route's own `rateLimit` is spent for this caller in this window." },
    "ratelimit.bucket": { status: 429, meaning: "The route's bucket (`rateLimit.bucket`), shared with other routes, is spent for this caller in this window." },
    "ratelimit.default": { status: 429, meaning: "`tollgate:defaultRateLimit`, shared by the routes without a limit of their own, is spent for this caller in this window." },
    "ratelimit.auth_failed": { status: 429, meaning: "Requests with a failing credential from this client (`auth-failed:<client>`) are spent for this window: token guessing is being limited." },
    "internal.error": { status: 500, meaning: "Something unexpected failed; the ERROR line with `message: \"unhandled failure\"` and the same `correlation_id` has the stack." },
    "upstream.refused": { status: 502, meaning: "The upstream refused or reset the connection." },
    "upstream.too_large": { status: 502, meaning: "The upstream's answer is over 4.5 MB (Lambda's 6 MB payload once base64)." },
    "session.instruction": { status: 502, meaning: "The upstream's `x-gateway-session` instruction could not be used (not JSON, an unknown key, a rule broken); nothing was created." },
    "session.unavailable": { status: 503, meaning: "The sessions table could not be read or written (authentication fails closed)." },
    "jwt.unavailable": { status: 503, meaning: "The JWT secret (Secrets Manager) or the JWKS could not be read (authentication fails closed)." },
    "ratelimit.unavailable": { status: 503, meaning: "The rate-limits table failed and `tollgate:rateLimitFailureMode` is `closed`." },
    "keys.unavailable": { status: 503, meaning: "The gateway's keys (the gateway keys secret) could not be read, so no assertion can be signed and no JWKS served." },
    "health.not_ready": { status: 503, meaning: "`/health/ready` could not read one of the tables." },
    "upstream.timeout": { status: 504, meaning: "The upstream did not answer within `tollgate:upstreamTimeoutMs` or the Lambda's remaining time." },
    "request.too_large": { status: 413, meaning: "The request body is over API Gateway's 10 MB.", where: "npm start" },
    "function.failed": { status: 500, meaning: "The handler threw, returned a result that cannot be mapped, or ran past the function's timeout.", where: "npm start" },
    "integration.timeout": { status: 503, meaning: "The handler did not answer within API Gateway's integration timeout (30 s at most).", where: "npm start" },
} as const satisfies Record<string, ReasonSpec>;

export type Reason = keyof typeof reasons;

/** The status a reason is answered with. */
export function statusOf(reason: Reason): number {
    return reasons[reason].status;
}

const challenges = new Map<Reason, string>(
    (Object.entries(reasons) as [Reason, ReasonSpec][])
        .filter(([, spec]) => spec.challenge !== undefined)
        .map(([reason, spec]) => [reason, `Bearer error="${spec.challenge!.error}", error_description="${spec.challenge!.description}"`]),
);

/**
 * The `WWW-Authenticate` value of an answer for this reason: RFC 6750's
 * challenge with its error and description; a bare `Bearer` for a missing
 * credential (the RFC asks for no error code when the client sent none);
 * undefined for reasons that are not about the credential.
 */
export function bearerChallenge(reason: Reason): string | undefined {
    if (reason === "credential.missing") return "Bearer";
    return challenges.get(reason);
}
