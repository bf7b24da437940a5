/**
 * The caller's own sessions, answered by the gateway itself for a caller
 * with a valid session (after the same admission as any route, under
 * `tollgate:defaultRateLimit`):
 *
 * - `GET /.well-known/sessions`: the caller's active sessions, latest expiry
 *   first, at most 100: `{"sessions": [{id, createdAt, expiresAt, current}]}`.
 *   The id is the `session_id` (the token's SHA-256), never a token.
 * - `DELETE /.well-known/sessions/{id}`: revokes one of them ("log out other
 *   devices"): one DeleteItem conditional on the session's `user_id` being
 *   the caller's, so another user's session, or none, is the same 404, and
 *   nothing is read first. Revoking the current one also clears the cookie.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { Reason } from "../../specs/reasons";
import type { RouteSpec } from "../../specs/routes";
import { selfServicePath, type SessionCookieSettings } from "../../specs/sessions";
import type { SessionAuthenticator } from "../auth/sessionAuth";
import type { Session } from "../stores/sessionStore";
import type { Sessions } from "../sessions";
import { json, problem } from "./respond";
import { clearedSessionCookie } from "./sessionCookie";

/** The route the self-service requests are admitted and counted under; its name cannot collide with a configured one (no `/` there). */
export const selfServiceRoute: RouteSpec = { name: selfServicePath, pathPrefix: selfServicePath, upstream: "", auth: "session", permissions: [] };

/** Sessions listed at most: one page of the index, whatever a user has piled up. */
export const selfServiceListLimit = 100;

const sessionIdPattern = /^[0-9a-f]{64}$/;
const noStore = { "cache-control": "no-store" };

/** Methods each self-service path answers; others get 405 before any admission. */
export function selfServiceMethods(sessionId: string | undefined): string[] {
    return sessionId === undefined ? ["GET", "HEAD"] : ["DELETE"];
}

export interface SelfServiceContext {
    method: string;
    /** What followed the path, for `DELETE`. */
    sessionId?: string;
    /** The caller's session, from admission. */
    session: Session;
    sessions: Sessions;
    authenticator: SessionAuthenticator;
    cookie: SessionCookieSettings;
}

export async function answerSelfService(context: SelfServiceContext): Promise<{ result: APIGatewayProxyStructuredResultV2; event?: "revoked"; reason?: Reason }> {
    const { session, sessions } = context;
    if (context.sessionId === undefined) {
        let listed: Session[];
        try {
            listed = await sessions.listForUser(session.userId, { limit: selfServiceListLimit });
        } catch {
            return { result: problem(503, "Sessions are temporarily unavailable.", { "retry-after": "1", ...noStore }), reason: "session.unavailable" };
        }
        // UserIdIndex is eventually consistent: the session just used may not be in it yet.
        if (!listed.some((entry) => entry.sessionId === session.sessionId)) listed.unshift(session);
        listed.sort((a, b) => b.expiresAt - a.expiresAt);
        const body = {
            sessions: listed.map((entry) => ({
                id: entry.sessionId,
                createdAt: new Date(entry.createdAt * 1000).toISOString(),
                expiresAt: new Date(entry.expiresAt * 1000).toISOString(),
                current: entry.sessionId === session.sessionId,
            })),
        };
        return { result: json(200, body, noStore) };
    }

    const notYours = () => ({ result: problem(404, "You have no session with this id.", noStore), reason: "self_service.unknown_session" as const });
    if (!sessionIdPattern.test(context.sessionId)) return notYours();
    let revoked: boolean;
    try {
        revoked = await sessions.revokeOwned(session.userId, context.sessionId);
    } catch {
        return { result: problem(503, "Sessions are temporarily unavailable.", { "retry-after": "1", ...noStore }), reason: "session.unavailable" };
    }
    if (!revoked) return notYours();
    context.authenticator.forget(context.sessionId);
    const result: APIGatewayProxyStructuredResultV2 = { statusCode: 204, headers: { ...noStore }, body: "", isBase64Encoded: false };
    if (context.sessionId === session.sessionId) result.cookies = [clearedSessionCookie(context.cookie)];
    return { result, event: "revoked" };
}
