import type { Reason } from "../../specs/reasons";

/** Who a request is made by, once a session or a JWT has been verified. */
export interface Identity {
    userId: string;
    username?: string;
    roles: string[];
    permissions: string[];
    /** What proved it. */
    method: "session" | "jwt";
}

/** Verifiers answer one of these; `unavailable` means a dependency failed and authentication fails closed (503). `reason` says which check refused the credential. */
export type Verification = { status: "valid"; identity: Identity } | { status: "invalid"; reason: Reason } | { status: "unavailable" };

/** The session library's bounds (runtime/sessions.ts `sessionLimits`), for JWTs too. */
const maxNameLength = 128;
const maxUserIdLength = 256;
const controlCharacter = /[\u0000-\u001f\u007f]/;
/**
 * What a joined list of names could be split or read otherwise on: the comma
 * that joins them; a double quote, which opens a quoted field to a CSV
 * parser and a string to a structured-field (RFC 8941) one; a semicolon,
 * which starts a structured-field parameter; a backslash, an escape to both.
 */
const separatorInName = /[,";\\]/;
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why a role or permission name cannot be part of an identity, or undefined
 * when it can: names are joined with commas for the plain identity headers,
 * so a name holding one (or a quote, semicolon or backslash, which CSV and
 * structured-field parsers read as syntax) would not read back as itself;
 * control characters would be lost or refused on the way; text that is not
 * valid Unicode (a lone surrogate) cannot be sent as UTF-8 at all. The session
 * library holds new sessions to the same rules (`checkNewSession`).
 */
export function identityNameProblem(name: unknown): string | undefined {
    if (typeof name !== "string" || name === "") return "must be a non-empty string";
    if (name.length > maxNameLength) return `must be at most ${maxNameLength} characters`;
    if (separatorInName.test(name)) return `${JSON.stringify(name)} holds a comma, double quote, semicolon or backslash; names travel joined by commas, and a CSV or structured-field parser would not read it back as one name`;
    if (controlCharacter.test(name)) return "must not contain control characters";
    if (loneSurrogate.test(name)) return "must be valid Unicode text (it holds a lone surrogate)";
    return undefined;
}

/** Why a user id (or a username) cannot be part of an identity, or undefined when it can (any text without control characters: headers carry it encoded). */
export function userIdProblem(userId: unknown, maxLength = maxUserIdLength): string | undefined {
    if (typeof userId !== "string" || userId.trim() === "") return "must be a non-empty string";
    if (userId.length > maxLength) return `must be at most ${maxLength} characters`;
    if (controlCharacter.test(userId)) return "must not contain control characters";
    if (loneSurrogate.test(userId)) return "must be valid Unicode text (it holds a lone surrogate)";
    return undefined;
}

/** True when every part of the identity can be expressed to an upstream. */
export function isExpressible(identity: Pick<Identity, "userId" | "username" | "roles" | "permissions">): boolean {
    return (
        userIdProblem(identity.userId) === undefined &&
        (identity.username === undefined || userIdProblem(identity.username) === undefined) &&
        [...identity.roles, ...identity.permissions].every((name) => identityNameProblem(name) === undefined)
    );
}

/**
 * An identity value as a header (and a comma-separated list) can carry it:
 * `%`, `,`, `"`, `;`, `\`, space, control and non-ASCII characters
 * percent-encoded as UTF-8, everything else as it is. `alice` stays `alice`,
 * `用户` becomes `%E7%94%A8%E6%88%B7`; an upstream reads it back with
 * `decodeURIComponent`. Throws on text that is not valid Unicode
 * (`isExpressible` refuses it first).
 */
export function encodeIdentityValue(value: string): string {
    return value.replace(/[^\x21\x23\x24\x26-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]/gu, (character) => encodeURIComponent(character));
}
