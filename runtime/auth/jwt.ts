/**
 * JWT verification with `jose`.
 *
 * The algorithm is chosen by which key the gateway holds, never by the token
 * alone: HS256 tokens are checked against the HS256 secret only, RS256 tokens
 * against the JWKS only (when `tollgate:jwt.jwksUrl` is set). So `alg: none`
 * is refused, and so is the HS/RS confusion attack (an HS256 token "signed"
 * with the RSA public key).
 *
 * Fails closed: `sub`, `exp` and `iat` are required; `iss` and `aud` must be
 * the configured ones (the config check makes both required once a route
 * takes JWTs); `exp - iat` may not exceed `tollgate:jwt.maxLifetimeSeconds`,
 * and `iat` may lie at most 30 s after now, so a token cannot buy a long life
 * by claiming to be issued in the future; a `typ` header, when present, must
 * name an access token (`JWT`, `at+jwt`), so a refresh or ID token of another
 * type is refused.
 *
 * Claims become the identity: `sub` the user id; `username` (or
 * `preferred_username`); `roles` (list, or a space/comma separated string);
 * `permissions` (list or string), with the OAuth `scope`/`scp` added only when
 * `tollgate:jwt.scopesAsPermissions` says so (an `openid admin` scope is a
 * request for consent, not a grant). A role or permission name that would be
 * ambiguous once joined (a comma, a control character) makes the whole token
 * invalid rather than losing part of it.
 */
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from "jose";
import type { CapturedSettings } from "../settings";
import type { Reason } from "../../specs/reasons";
import { identityNameProblem, userIdProblem, type Identity, type Verification } from "./identity";

export interface JwtVerifierOptions {
    settings: CapturedSettings["jwt"];
    /** The HS256 secret, or undefined when none is configured (HS256 tokens are then refused). */
    secret: () => Promise<Uint8Array | undefined>;
    /** Epoch milliseconds; `exp` and `nbf` are judged against it. */
    now: () => number;
    fetch?: typeof fetch;
}

/**
 * jose's codes for failures that are the token's fault (401), and the reason
 * each is logged with; any other failure is a dependency failing (503).
 * A failed claim check is told apart by the claim jose names (`claimReason`).
 */
const invalidTokenReasons = new Map<string, Reason>([
    ["ERR_JWT_EXPIRED", "jwt.expired"],
    ["ERR_JWT_INVALID", "jwt.malformed"],
    ["ERR_JWS_INVALID", "jwt.malformed"],
    ["ERR_JWS_SIGNATURE_VERIFICATION_FAILED", "jwt.signature"],
    ["ERR_JOSE_ALG_NOT_ALLOWED", "jwt.algorithm"],
    ["ERR_JOSE_NOT_SUPPORTED", "jwt.algorithm"],
    ["ERR_JWKS_NO_MATCHING_KEY", "jwt.key_unknown"],
    ["ERR_JWKS_MULTIPLE_MATCHING_KEYS", "jwt.key_unknown"],
]);

/** The reason of jose's `ERR_JWT_CLAIM_VALIDATION_FAILED`, from the claim it names and why. */
function claimReason(error: errors.JWTClaimValidationFailed): Reason {
    if (error.reason === "missing") return "jwt.claim_missing";
    switch (error.claim) {
        case "iss":
            return "jwt.issuer";
        case "aud":
            return "jwt.audience";
        case "nbf":
            return "jwt.not_yet_valid";
        default:
            return "jwt.claim_invalid";
    }
}

const maxTokenLength = 8192;

/**
 * How far the issuer's clock may run ahead of the handler's, in seconds, for
 * `exp` and `nbf`: none (jose's default), since every second allowed would be
 * a second more of life for a token past its `exp`.
 */
const clockToleranceSeconds = 0;

/**
 * How far in the future a token's `iat` may lie. An issuer's clock a moment
 * ahead of the handler's stamps a fresh token a second or two "later" than
 * now; refusing those would refuse good logins at random. A token issued
 * further ahead is refused: it would otherwise live past `maxLifetimeSeconds`.
 */
const issuedAtAllowanceSeconds = 30;

/** `typ` values of an access token (RFC 7519, RFC 9068), the `application/` prefix allowed; compared lower-cased. */
const accessTokenTypes = new Set(["jwt", "application/jwt", "at+jwt", "application/at+jwt"]);

/** The `alg` a JWS compact JWT names in its header; undefined for a token of any other shape. */
function algorithmOf(token: string): string | undefined {
    if (token.length > maxTokenLength || token.split(".").length !== 3) return undefined;
    try {
        const { alg } = decodeProtectedHeader(token);
        return typeof alg === "string" ? alg : undefined;
    } catch {
        return undefined;
    }
}

/** True when a bearer token has the shape of a JWS compact JWT (three parts, a decodable header naming an alg). */
export function looksLikeJwt(token: string): boolean {
    return algorithmOf(token) !== undefined;
}

export interface JwtVerifier {
    verify(token: string): Promise<Verification>;
}

export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
    const { settings, now } = options;
    const jwks = settings.jwksUrl
        ? createRemoteJWKSet(new URL(settings.jwksUrl), {
              timeoutDuration: 3000,
              ...(options.fetch ? { [customFetch]: options.fetch as never } : {}),
          })
        : undefined;
    const claimChecks = (nowMs: number) => ({
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ["sub", "exp", "iat"],
        currentDate: new Date(nowMs),
        clockTolerance: clockToleranceSeconds,
    });

    return {
        async verify(token) {
            const alg = algorithmOf(token);
            if (alg === undefined) return invalid("jwt.malformed");
            const nowMs = now();
            try {
                let verified: { payload: JWTPayload; protectedHeader: { typ?: string } };
                if (alg === "HS256") {
                    const secret = await loadSecret(options.secret);
                    if (secret === "unavailable") return { status: "unavailable" };
                    if (!secret) return invalid("jwt.no_key");
                    verified = await jwtVerify(token, secret, { ...claimChecks(nowMs), algorithms: ["HS256"] });
                } else if (alg === "RS256" && jwks) {
                    verified = await jwtVerify(token, jwks, { ...claimChecks(nowMs), algorithms: ["RS256"] });
                } else {
                    return invalid("jwt.algorithm");
                }
                const { payload, protectedHeader } = verified;
                if (protectedHeader.typ !== undefined && !accessTokenTypes.has(String(protectedHeader.typ).toLowerCase())) return invalid("jwt.type");
                const lifetime = lifetimeProblem(payload, Math.floor(nowMs / 1000), settings.maxLifetimeSeconds);
                if (lifetime) return invalid(lifetime);
                const identity = identityOf(payload, settings.scopesAsPermissions);
                return identity ? { status: "valid", identity } : invalid("jwt.identity");
            } catch (error) {
                if (error instanceof errors.JWTClaimValidationFailed) return invalid(claimReason(error));
                const reason = error instanceof errors.JOSEError ? invalidTokenReasons.get(error.code) : undefined;
                if (reason) return invalid(reason);
                return { status: "unavailable" };
            }
        },
    };
}

const invalid = (reason: Reason): Verification => ({ status: "invalid", reason });

/**
 * Why a verified token's life does not fit the policy, or undefined when it
 * does: issued no later than now (give or take an issuer's clock a little
 * ahead), and living no longer than `maxLifetimeSeconds`. Both are needed,
 * since `exp - iat` alone would let a token issued a century ahead, with
 * `exp` a minute after that, be used for a century.
 */
function lifetimeProblem(payload: JWTPayload, nowSeconds: number, maxLifetimeSeconds: number): Reason | undefined {
    const issuedAt = payload.iat!;
    if (issuedAt > nowSeconds + issuedAtAllowanceSeconds) return "jwt.iat_future";
    if (payload.exp! - issuedAt > maxLifetimeSeconds) return "jwt.lifetime";
    return undefined;
}

async function loadSecret(secret: () => Promise<Uint8Array | undefined>): Promise<Uint8Array | undefined | "unavailable"> {
    try {
        return await secret();
    } catch {
        return "unavailable";
    }
}

/** A list claim's names; undefined when one of them cannot be part of an identity (the token is then refused whole). */
function nameList(value: unknown): string[] | undefined {
    const names = Array.isArray(value) ? value : typeof value === "string" ? value.split(/[\s,]+/).filter(Boolean) : [];
    return names.every((name) => identityNameProblem(name) === undefined) ? (names as string[]) : undefined;
}

function identityOf(payload: JWTPayload, scopesAsPermissions: boolean): Identity | undefined {
    if (userIdProblem(payload.sub) !== undefined) return undefined;
    const username = [payload.username, payload.preferred_username].find((value): value is string => typeof value === "string");
    if (username !== undefined && userIdProblem(username) !== undefined) return undefined;
    const lists = [payload.roles, payload.permissions, ...(scopesAsPermissions ? [payload.scope, payload.scp] : [])].map(nameList);
    if (lists.some((list) => list === undefined)) return undefined;
    const [roles, ...granted] = lists as string[][];
    return { userId: payload.sub!, username, roles, permissions: [...new Set(granted.flat())], method: "jwt" };
}
