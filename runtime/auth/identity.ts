/** Who a request is made by, once a session or a JWT has been verified. */
export interface Identity {
    userId: string;
    username?: string;
    roles: string[];
    permissions: string[];
    /** What proved it. */
    method: "session" | "jwt";
}

/** Verifiers answer one of these; `unavailable` means a dependency failed and authentication fails closed (503). */
export type Verification = { status: "valid"; identity: Identity } | { status: "invalid" } | { status: "unavailable" };

/** The session library's bounds (runtime/sessions.ts `sessionLimits`), for JWTs too. */
const maxNameLength = 128;
const maxUserIdLength = 256;
/** Commas and control characters: what a joined list would split on, or a header lose. */
const ambiguousInName = /[,\u0000-\u001f\u007f]/;
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why a role or permission name cannot be part of an identity, or undefined
 * when it can: names are joined with commas for the plain identity headers,
 * so a name holding one would read as two; control characters would be lost
 * or refused on the way. The session library holds new sessions to the same
 * rules (`checkNewSession`).
 */
export function identityNameProblem(name: unknown): string | undefined {
    if (typeof name !== "string" || name === "") return "must be a non-empty string";
    if (name.length > maxNameLength) return `must be at most ${maxNameLength} characters`;
    if (ambiguousInName.test(name)) return "must not contain commas or control characters (names travel joined by commas)";
    if (loneSurrogate.test(name)) return "must be valid Unicode text";
    return undefined;
}

/** Why a user id cannot be part of an identity, or undefined when it can (any text without control characters: headers carry it encoded). */
export function userIdProblem(userId: unknown): string | undefined {
    if (typeof userId !== "string" || userId.trim() === "") return "must be a non-empty string";
    if (userId.length > maxUserIdLength) return `must be at most ${maxUserIdLength} characters`;
    if (/[\u0000-\u001f\u007f]/.test(userId)) return "must not contain control characters";
    if (loneSurrogate.test(userId)) return "must be valid Unicode text";
    return undefined;
}

/** True when every part of the identity can be expressed to an upstream. */
export function isExpressible(identity: Pick<Identity, "userId" | "roles" | "permissions">): boolean {
    return userIdProblem(identity.userId) === undefined && [...identity.roles, ...identity.permissions].every((name) => identityNameProblem(name) === undefined);
}

/**
 * An identity value as a header (and a comma-separated list) can carry it:
 * `%`, `,`, space, control and non-ASCII characters percent-encoded as UTF-8,
 * everything else as it is. `alice` stays `alice`, `用户` becomes
 * `%E7%94%A8%E6%88%B7`; an upstream reads it back with `decodeURIComponent`.
 * Throws on text that is not valid Unicode (`isExpressible` refuses it first).
 */
export function encodeIdentityValue(value: string): string {
    return value.replace(/[^\x21-\x24\x26-\x2b\x2d-\x7e]/gu, (character) => encodeURIComponent(character));
}
