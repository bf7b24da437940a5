/**
 * JWT verification with `jose`.
 *
 * The algorithm is chosen by which key the gateway holds, never by the token
 * alone: HS256 tokens are checked against the HS256 secret only, RS256 tokens
 * against the JWKS only (when `tollgate:jwt.jwksUrl` is set). So `alg: none`
 * is refused, and so is the HS/RS confusion attack (an HS256 token "signed"
 * with the RSA public key). `sub` and `exp` are required; `iss` and `aud` are
 * checked when configured.
 *
 * Claims become the identity: `sub` the user id; `username` (or
 * `preferred_username`); `roles` (list, or a space/comma separated string);
 * `permissions` (list or string) together with the OAuth `scope`/`scp`.
 */
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from "jose";
import type { CapturedSettings } from "../settings";
import type { Identity, Verification } from "./identity";

export interface JwtVerifierOptions {
    settings: CapturedSettings["jwt"];
    /** The HS256 secret, or undefined when none is configured (HS256 tokens are then refused). */
    secret: () => Promise<Uint8Array | undefined>;
    /** Epoch milliseconds; `exp` and `nbf` are judged against it. */
    now: () => number;
    fetch?: typeof fetch;
}

/** Codes of failures that are the token's fault (401); anything else is a dependency failing (503). */
const invalidTokenCodes = new Set([
    "ERR_JWT_EXPIRED",
    "ERR_JWT_CLAIM_VALIDATION_FAILED",
    "ERR_JWT_INVALID",
    "ERR_JWS_INVALID",
    "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
    "ERR_JOSE_ALG_NOT_ALLOWED",
    "ERR_JOSE_NOT_SUPPORTED",
    "ERR_JWKS_NO_MATCHING_KEY",
    "ERR_JWKS_MULTIPLE_MATCHING_KEYS",
]);

const maxTokenLength = 8192;

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
    const claimChecks = () => ({
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: ["sub", "exp"],
        currentDate: new Date(now()),
    });

    return {
        async verify(token) {
            const alg = algorithmOf(token);
            if (alg === undefined) return { status: "invalid" };
            try {
                let payload: JWTPayload;
                if (alg === "HS256") {
                    const secret = await loadSecret(options.secret);
                    if (secret === "unavailable") return { status: "unavailable" };
                    if (!secret) return { status: "invalid" };
                    ({ payload } = await jwtVerify(token, secret, { ...claimChecks(), algorithms: ["HS256"] }));
                } else if (alg === "RS256" && jwks) {
                    ({ payload } = await jwtVerify(token, jwks, { ...claimChecks(), algorithms: ["RS256"] }));
                } else {
                    return { status: "invalid" };
                }
                const identity = identityOf(payload);
                return identity ? { status: "valid", identity } : { status: "invalid" };
            } catch (error) {
                if (error instanceof errors.JOSEError && invalidTokenCodes.has(error.code)) return { status: "invalid" };
                return { status: "unavailable" };
            }
        },
    };
}

async function loadSecret(secret: () => Promise<Uint8Array | undefined>): Promise<Uint8Array | undefined | "unavailable"> {
    try {
        return await secret();
    } catch {
        return "unavailable";
    }
}

function stringList(value: unknown): string[] {
    if (Array.isArray(value)) return value.filter((item): item is string => typeof item === "string" && item !== "");
    if (typeof value === "string") return value.split(/[\s,]+/).filter(Boolean);
    return [];
}

function identityOf(payload: JWTPayload): Identity | undefined {
    if (typeof payload.sub !== "string" || payload.sub === "") return undefined;
    const username = [payload.username, payload.preferred_username].find((value): value is string => typeof value === "string");
    const permissions = new Set([...stringList(payload.permissions), ...stringList(payload.scope), ...stringList(payload.scp)]);
    return { userId: payload.sub, username, roles: stringList(payload.roles), permissions: [...permissions], method: "jwt" };
}
