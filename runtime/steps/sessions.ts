/**
 * Step 5: sessions. What the gateway does with the upstream's answer before
 * the client sees it:
 *
 * - `x-gateway-session` and `x-gateway-session-token` never reach the client,
 *   and neither does an upstream's `Set-Cookie` for the session cookie (only
 *   the gateway sets it); each is logged as a warning when it was there and
 *   not acted on.
 * - On a route with `sessions.issue`, a 2xx answer whose instruction is
 *   `{userId, username?, roles?, permissions?, ttlSeconds?}` creates a session
 *   (the session library's rules, `tollgate:sessions.maxTtlSeconds`), sets the
 *   cookie (and, with `returnToken`, `x-gateway-session-token`), and revokes
 *   whatever session tokens the request carried, every cookie included: a
 *   login never keeps a session the client arrived with.
 * - On a route with `sessions.revoke`, a 2xx answer with `{"revoke":
 *   "current"}` deletes the caller's session, `{"revoke": "all"}` every
 *   session of the caller's user; both clear the cookie.
 * - An instruction a route acts on but cannot read (not JSON, unknown keys,
 *   a rule broken) is a 502 and nothing is created: the upstream meant
 *   something the gateway will not guess at. On any other route, and on a
 *   non-2xx answer, the instruction is dropped with a warning.
 * - Otherwise, when the request renewed its session (rolling sessions) and
 *   came with the cookie, the cookie is set again with its new `Max-Age`.
 *
 * Answers that carry a token or change a session are `Cache-Control: no-store`.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { Reason } from "../../specs/reasons";
import type { RouteSpec } from "../../specs/routes";
import { sessionHeaders, type SessionSettings } from "../../specs/sessions";
import type { Identity } from "../auth/identity";
import type { SessionAuthenticator } from "../auth/sessionAuth";
import { checkNewSession, SessionInputError, sessionIdOf, type NewSession, type Sessions } from "../sessions";
import { problem } from "./respond";
import { clearedOtherSessionCookie, clearedSessionCookie, sessionCookie, setsSessionCookie } from "./sessionCookie";

type Result = APIGatewayProxyStructuredResultV2;

export type SessionInstruction =
    | { kind: "issue"; session: NewSession }
    | { kind: "revoke"; scope: "current" | "all" }
    | { kind: "malformed"; reason: string };

/** Longer instructions are refused unread; a session's fields fit well within it. */
const maxInstructionLength = 8192;
const issueFields = new Set(["userId", "username", "roles", "permissions", "ttlSeconds"]);

/** Reads an `x-gateway-session` value. Nothing outside the documented shapes is accepted, so a typo is an error rather than a quieter session. */
export function readInstruction(text: string, limits: { maxTtlSeconds: number }): SessionInstruction {
    if (text.length > maxInstructionLength) return { kind: "malformed", reason: `longer than ${maxInstructionLength} characters` };
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        return { kind: "malformed", reason: "not JSON" };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) return { kind: "malformed", reason: "not a JSON object" };
    const fields = value as Record<string, unknown>;
    const keys = Object.keys(fields);
    if ("revoke" in fields) {
        if (keys.length !== 1) return { kind: "malformed", reason: "revoke comes alone" };
        if (fields.revoke !== "current" && fields.revoke !== "all") return { kind: "malformed", reason: "revoke must be \"current\" or \"all\"" };
        return { kind: "revoke", scope: fields.revoke };
    }
    const unknown = keys.filter((key) => !issueFields.has(key));
    if (unknown.length) return { kind: "malformed", reason: `unknown key ${unknown.map((key) => JSON.stringify(key)).join(", ")}` };
    const nulls = keys.filter((key) => fields[key] === null);
    if (nulls.length) return { kind: "malformed", reason: `${nulls.join(", ")}: null` };
    const session = fields as unknown as NewSession;
    try {
        checkNewSession(session, limits);
    } catch (error) {
        if (error instanceof SessionInputError) return { kind: "malformed", reason: error.message };
        throw error;
    }
    return { kind: "issue", session: { userId: session.userId, username: session.username, roles: session.roles, permissions: session.permissions, ttlSeconds: session.ttlSeconds } };
}

export interface SessionStepContext {
    route: RouteSpec;
    /** The upstream's answer. */
    result: Result;
    identity?: Identity;
    /** The session token that authenticated the caller, if one did. */
    authenticatedToken?: string;
    /** Every session token the request carried (cookie, bearer), valid or not. */
    presentedTokens: string[];
    /** The caller's token came in the cookie, so a renewal sets it again. */
    fromCookie: boolean;
    /** Names of session cookies the request carried besides the current one (set before it took its name): cleared when a session is issued or ended. */
    otherCookieNames: string[];
    /** This request's renewal of its session, if one was due: the new `expires_at`. */
    renewal?: Promise<number | undefined>;
    sessions: Sessions;
    authenticator: SessionAuthenticator;
    settings: SessionSettings;
    /** Epoch milliseconds. */
    now: () => number;
}

export interface SessionStepOutcome {
    result: Result;
    /** What happened to sessions, for the request's log line. */
    event?: "issued" | "revoked" | "revoked-all" | "renewed" | "refused";
    /** Why the gateway answered instead of the upstream (`refused`). */
    reason?: Reason;
    /** Each is logged as a warning with the route. */
    warnings: string[];
}

/**
 * True when the step has something to do with an answer: an instruction or
 * token header or a cookie to look at, or a renewal to wait for. Most
 * answers have none of these and go to the client as they are.
 */
export function touchesSessions(result: Result, renewal: Promise<number | undefined> | undefined): boolean {
    if (renewal !== undefined || result.cookies?.length) return true;
    for (const name in result.headers ?? {}) {
        const lower = name.toLowerCase();
        if (lower === sessionHeaders.instruction || lower === sessionHeaders.token) return true;
    }
    return false;
}

const unavailable = () => problem(503, "Sessions are temporarily unavailable.", { "retry-after": "1", "cache-control": "no-store" });

export async function applySessionAnswer(context: SessionStepContext): Promise<SessionStepOutcome> {
    const { route, settings } = context;
    const warnings: string[] = [];
    const { result, instruction } = withoutSessionHeaders(context.result, warnings);
    const renewedTo = context.renewal ? await context.renewal : undefined;
    const status = result.statusCode ?? 200;
    const success = status >= 200 && status < 300;

    if (instruction !== undefined) {
        const acts = route.sessions?.issue || route.sessions?.revoke;
        const read = readInstruction(instruction, { maxTtlSeconds: settings.maxTtlSeconds });
        if (!success) {
            warnings.push(`${sessionHeaders.instruction} on a ${status} answer ignored: only a 2xx answer issues or ends a session`);
        } else if (read.kind === "malformed") {
            if (acts) {
                warnings.push(`${sessionHeaders.instruction} refused (502): ${read.reason}`);
                return { result: problem(502, "The upstream's answer could not be used.", { "cache-control": "no-store" }), event: "refused", reason: "session.instruction", warnings };
            }
            warnings.push(`${sessionHeaders.instruction} ignored: the route neither issues nor ends sessions (and it was malformed: ${read.reason})`);
        } else if (read.kind === "issue") {
            if (route.sessions?.issue) return issue(context, read.session, result, warnings);
            warnings.push(`${sessionHeaders.instruction} ignored: the route does not issue sessions`);
        } else {
            if (route.sessions?.revoke) return revoke(context, read.scope, result, warnings);
            warnings.push(`${sessionHeaders.instruction} ignored: the route does not end sessions`);
        }
    }

    if (renewedTo !== undefined && context.fromCookie && context.authenticatedToken) {
        const maxAge = renewedTo - Math.floor(context.now() / 1000);
        return { result: withCookie(result, sessionCookie(settings.cookie, context.authenticatedToken, maxAge)), event: "renewed", warnings };
    }
    return { result, event: renewedTo !== undefined ? "renewed" : undefined, warnings };
}

async function issue(context: SessionStepContext, newSession: NewSession, result: Result, warnings: string[]): Promise<SessionStepOutcome> {
    const { sessions, settings } = context;
    const [created, ...replaced] = await Promise.allSettled([
        sessions.create(newSession, { defaultTtlSeconds: settings.defaultTtlSeconds, maxTtlSeconds: settings.maxTtlSeconds }),
        ...context.presentedTokens.map((token) => sessions.revoke(token)),
    ]);
    if (created.status === "rejected" || replaced.some((outcome) => outcome.status === "rejected")) {
        // All or nothing: a login that could not end the old session hands out no new one.
        if (created.status === "fulfilled") await sessions.revoke(created.value.token).catch(() => undefined);
        warnings.push("the session could not be created, or the one the request carried could not be revoked (503)");
        return { result: unavailable(), event: "refused", reason: "session.unavailable", warnings };
    }
    for (const token of context.presentedTokens) context.authenticator.forget(sessionIdOf(token));
    const { token, session } = created.value;
    const headers: Record<string, string | number | boolean> = { ...result.headers, "cache-control": "no-store" };
    if (context.route.sessions?.returnToken) headers[sessionHeaders.token] = token;
    const issued = withCookie({ ...result, headers }, sessionCookie(settings.cookie, token, session.ttlSeconds));
    return { result: withOtherCookiesCleared(issued, context), event: "issued", warnings };
}

async function revoke(context: SessionStepContext, scope: "current" | "all", result: Result, warnings: string[]): Promise<SessionStepOutcome> {
    const { sessions, authenticator, identity } = context;
    try {
        if (scope === "current") {
            const token = context.authenticatedToken;
            if (!token) {
                warnings.push(`${sessionHeaders.instruction} {"revoke": "current"} ignored: the caller did not authenticate with a session`);
                return { result, warnings };
            }
            // Forgotten whatever the outcome: a revoke that failed may still have deleted it, and the cache must not outlive it.
            await sessions.revoke(token).finally(() => authenticator.forget(sessionIdOf(token)));
        } else {
            if (!identity) {
                warnings.push(`${sessionHeaders.instruction} {"revoke": "all"} ignored: the caller is anonymous`);
                return { result, warnings };
            }
            // A revoke-all that fails part way has deleted some of them: forget them all either way.
            await sessions.revokeAllForUser(identity.userId).finally(() => authenticator.forgetUser(identity.userId));
        }
    } catch {
        warnings.push(`the ${scope === "all" ? "user's sessions" : "session"} could not be revoked (503)`);
        return { result: unavailable(), event: "refused", reason: "session.unavailable", warnings };
    }
    const cleared = withCookie({ ...result, headers: { ...result.headers, "cache-control": "no-store" } }, clearedSessionCookie(context.settings.cookie));
    return { result: withOtherCookiesCleared(cleared, context), event: scope === "all" ? "revoked-all" : "revoked", warnings };
}

/** The answer without the session headers and without any session cookie of the upstream's; the instruction, if there was one. */
function withoutSessionHeaders(answer: Result, warnings: string[]): { result: Result; instruction?: string } {
    let instruction: string | undefined;
    const headers: Record<string, string | number | boolean> = {};
    for (const [name, value] of Object.entries(answer.headers ?? {})) {
        const lower = name.toLowerCase();
        if (lower === sessionHeaders.instruction) instruction = headerText(String(value));
        else if (lower === sessionHeaders.token) warnings.push(`the upstream sent ${sessionHeaders.token}; dropped (only the gateway issues tokens)`);
        else headers[name] = value;
    }
    const cookies = (answer.cookies ?? []).filter((cookie) => !setsSessionCookie(cookie));
    if (cookies.length !== (answer.cookies ?? []).length) warnings.push("the upstream set the session cookie; dropped (only the gateway sets it)");
    const result: Result = { ...answer, headers };
    if (cookies.length) result.cookies = cookies;
    else delete result.cookies;
    return { result, instruction };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A header value as the upstream wrote it. HTTP clients read header bytes as
 * Latin-1, so JSON an upstream wrote as raw UTF-8 (Go's encoding/json, say)
 * arrives as mojibake; read those bytes as UTF-8 when they are UTF-8.
 * ASCII JSON with `\u` escapes (Python's json.dumps) needs none of this.
 */
function headerText(value: string): string {
    if (!/[\u0080-\u00ff]/.test(value) || /[^\u0000-\u00ff]/.test(value)) return value;
    try {
        return strictUtf8.decode(Buffer.from(value, "latin1"));
    } catch {
        return value;
    }
}

function withCookie(result: Result, cookie: string): Result {
    return { ...result, cookies: [...(result.cookies ?? []), cookie] };
}

function withOtherCookiesCleared(result: Result, context: SessionStepContext): Result {
    return context.otherCookieNames.reduce((cleared, name) => withCookie(cleared, clearedOtherSessionCookie(context.settings.cookie, name)), result);
}
