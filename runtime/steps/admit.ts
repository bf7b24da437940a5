/**
 * Steps 2 and 3 together: authenticate || rate limit. A request is counted
 * against the key of the caller it proved to be, and only that key:
 *
 * - Anonymous (`auth: none`): the client's key (`ip:<client>`).
 * - A valid credential: the caller's own key, `user:<id>` when the policy
 *   keys on users, else `ip:<client>`.
 * - A credential that fails: `auth-failed:<client>`, a key of its own, so
 *   guessing tokens is limited without spending, or getting refused, the
 *   budget of valid callers behind the same address (a NAT, a corporate
 *   proxy). The refusal cache is asked only about the key a request is
 *   counted against: a refused `auth-failed` key never refuses a valid caller.
 *
 * Which key a credential is counted against is known only once it has been
 * checked, so:
 *
 * - a JWT is verified first (in memory), then counted: one round trip;
 * - a session token this container has seen valid (it remembers which user
 *   each token belongs to: a session never changes user) is read and counted
 *   in parallel on its owner's key: one round trip;
 * - any other session token is read first, then counted: two round trips,
 *   once per token per container.
 *
 * A request with no credential at all is refused (401) with no DynamoDB call.
 *
 * Precedence of the outcome: refused by this container's refusal cache (429,
 * nothing read) > authentication unavailable (503, fails closed) > limiter
 * failed closed (503) > limited (429) > no valid credential (401) > missing
 * permission (403) > admitted.
 */
import type { Reason } from "../../specs/reasons";
import type { RouteSpec } from "../../specs/routes";
import type { Identity, Verification } from "../auth/identity";
import type { JwtVerifier } from "../auth/jwt";
import type { SessionAuthenticator, SessionVerification } from "../auth/sessionAuth";
import type { Session } from "../stores/sessionStore";
import { holdsPermissions, type Credential } from "./authenticate";
import { limiterKeyFor, type CounterScope, type RateLimitDecision, type RateLimiter } from "./rateLimit";

export type AdmissionStatus =
    | "admitted"
    | "limited"
    | "missing-credential"
    | "invalid-credential"
    | "forbidden"
    | "auth-unavailable"
    | "limiter-unavailable";

export interface Admission {
    status: AdmissionStatus;
    /** Why the credential was refused (`invalid-credential`). */
    reason?: Reason;
    identity?: Identity;
    /** The session that proved the identity, when a session did. */
    session?: Session;
    /** The limiter's decision, when it was consulted. */
    rateLimit?: RateLimitDecision;
}

export interface AdmitContext {
    route: RouteSpec;
    /** The counter the route's requests are charged to, and its policy. */
    scope: CounterScope;
    /** The client as `by: ip` counts it (`clientOf`: an IPv6 client by its prefix). */
    client: string;
    /** An ambiguous credential was refused before admission. */
    credential: Exclude<Credential, { kind: "ambiguous" }>;
    sessions: SessionAuthenticator;
    jwt: JwtVerifier;
    limiter: RateLimiter;
}

export async function admit(context: AdmitContext): Promise<Admission> {
    const { route, scope, client, credential, limiter } = context;
    const check = (key: string) => limiter.check(key, scope.policy, scope.name);
    const keyOf = (verification: Verification | SessionVerification) =>
        verification.status === "valid" ? limiterKeyFor(scope, { userId: verification.identity.userId, client }) : limiterKeyFor(scope, { client, failed: true });

    if (credential.kind === "missing") return { status: "missing-credential" };

    if (credential.kind === "anonymous") return decide(route, { status: "valid-anonymous" }, await check(limiterKeyFor(scope, { client })));

    if (credential.kind === "jwt") {
        const verification = await context.jwt.verify(credential.token);
        if (verification.status === "unavailable") return { status: "auth-unavailable" };
        return decide(route, verification, await check(keyOf(verification)));
    }

    // A session token this container has seen valid: its owner's key is known, so the read and the count run side by side.
    // The token's session_id, hashed once for both questions.
    const sessionId = context.sessions.sessionIdOf(credential.token);
    const owner = context.sessions.knownOwner(sessionId);
    if (owner !== undefined) {
        const key = limiterKeyFor(scope, { userId: owner, client });
        const local = limiter.refusedLocally(key, scope.policy, scope.name);
        if (local) return { status: "limited", rateLimit: local };
        const [verification, rateLimit] = await Promise.all([context.sessions.verify(credential.token, sessionId), check(key)]);
        return decide(route, verification, rateLimit);
    }
    const verification = await context.sessions.verify(credential.token, sessionId);
    if (verification.status === "unavailable") return { status: "auth-unavailable" };
    return decide(route, verification, await check(keyOf(verification)));
}

function decide(route: RouteSpec, verification: Verification | SessionVerification | { status: "valid-anonymous" }, rateLimit: RateLimitDecision): Admission {
    const identity = verification.status === "valid" ? verification.identity : undefined;
    const session = verification.status === "valid" && "session" in verification ? verification.session : undefined;
    if (verification.status === "unavailable") return { status: "auth-unavailable", rateLimit };
    if (rateLimit.outcome === "failed-closed") return { status: "limiter-unavailable", identity, rateLimit };
    if (rateLimit.outcome === "limited") return { status: "limited", identity, rateLimit };
    if (verification.status === "invalid") return { status: "invalid-credential", reason: verification.reason, rateLimit };
    if (!holdsPermissions(route, identity)) return { status: "forbidden", identity, rateLimit };
    return { status: "admitted", identity, session, rateLimit };
}
