/**
 * Steps 2 and 3 together: authenticate || rate limit, arranged so that a
 * request waits for one DynamoDB round trip where the key allows it.
 *
 * - Keyed by `ip`, or anonymous: the limiter key is known up front, so the
 *   session read and the counter write run in parallel.
 * - Keyed by `user`/`route` with a JWT: the JWT is verified in memory first
 *   (no DynamoDB), then the counter is written: one round trip.
 * - Keyed by `user`/`route` with a session token: the user is needed for the
 *   key. When this container has already seen the token (it remembers which
 *   user each token belongs to: a session never changes user) the read and
 *   the write run in parallel on `user:<id>`. The first time a container sees
 *   a token they run one after the other: two round trips, once per token
 *   per container.
 *
 * Requests without a valid credential are charged to the anonymous fallback
 * key (`ip:<ip>`, or `ip:<ip>:route:<name>`), so guessing tokens is rate
 * limited too; once that key is refused, this container answers 429 without
 * reading the session. A request with no credential at all is refused (401)
 * with no DynamoDB call.
 *
 * Precedence of the outcome: refused by this container's refusal cache (429,
 * nothing read) > authentication unavailable (503, fails closed) > limiter
 * failed closed (503) > limited (429) > no valid credential (401) > missing
 * permission (403) > admitted.
 */
import type { RouteSpec } from "../../specs/routes";
import type { Identity, Verification } from "../auth/identity";
import type { JwtVerifier } from "../auth/jwt";
import type { SessionAuthenticator, SessionVerification } from "../auth/sessionAuth";
import type { Session } from "../stores/sessionStore";
import { holdsPermissions, type Credential } from "./authenticate";
import { limiterKeyFor, type CounterScope, type RateLimitDecision, type RateLimiter } from "./rateLimit";
import type { GatewayRequest } from "./request";

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
    request: GatewayRequest;
    credential: Credential;
    sessions: SessionAuthenticator;
    jwt: JwtVerifier;
    limiter: RateLimiter;
}

export async function admit(context: AdmitContext): Promise<Admission> {
    const { route, scope, request, credential, limiter } = context;
    const policy = scope.policy;
    const keyFor = (userId: string | undefined) => limiterKeyFor(scope, userId, request.sourceIp);
    const check = (key: string) => limiter.check(key, policy, scope.name);
    const refusedLocally = (key: string) => limiter.refusedLocally(key, policy, scope.name);

    if (credential.kind === "missing") return { status: "missing-credential" };

    if (credential.kind === "anonymous") {
        const rateLimit = await check(keyFor(undefined));
        return decide(route, { status: "valid-anonymous" }, rateLimit);
    }

    const anonymousKey = keyFor(undefined);
    const keyedByCaller = policy.by !== "ip";

    if (credential.kind === "jwt") {
        if (keyedByCaller) {
            const verification = await context.jwt.verify(credential.token);
            const key = verification.status === "valid" ? keyFor(verification.identity.userId) : anonymousKey;
            if (verification.status === "unavailable") return { status: "auth-unavailable" };
            return decide(route, verification, await check(key));
        }
        const local = refusedLocally(anonymousKey);
        if (local) return { status: "limited", rateLimit: local };
        const [verification, rateLimit] = await Promise.all([context.jwt.verify(credential.token), check(anonymousKey)]);
        return decide(route, verification, rateLimit);
    }

    // A session token.
    const knownOwner = keyedByCaller ? context.sessions.knownOwner(credential.token) : undefined;
    if (!keyedByCaller || knownOwner !== undefined) {
        const key = keyedByCaller ? keyFor(knownOwner) : anonymousKey;
        const local = refusedLocally(key);
        if (local) return { status: "limited", rateLimit: local };
        const [verification, rateLimit] = await Promise.all([context.sessions.verify(credential.token), check(key)]);
        return decide(route, verification, rateLimit);
    }
    const local = refusedLocally(anonymousKey);
    if (local) return { status: "limited", rateLimit: local };
    const verification = await context.sessions.verify(credential.token);
    if (verification.status === "unavailable") return { status: "auth-unavailable" };
    const key = verification.status === "valid" ? keyFor(verification.identity.userId) : anonymousKey;
    return decide(route, verification, await check(key));
}

function decide(route: RouteSpec, verification: Verification | SessionVerification | { status: "valid-anonymous" }, rateLimit: RateLimitDecision): Admission {
    const identity = verification.status === "valid" ? verification.identity : undefined;
    const session = verification.status === "valid" && "session" in verification ? verification.session : undefined;
    if (verification.status === "unavailable") return { status: "auth-unavailable", rateLimit };
    if (rateLimit.outcome === "failed-closed") return { status: "limiter-unavailable", identity, rateLimit };
    if (rateLimit.outcome === "limited") return { status: "limited", identity, rateLimit };
    if (verification.status === "invalid") return { status: "invalid-credential", rateLimit };
    if (!holdsPermissions(route, identity)) return { status: "forbidden", identity, rateLimit };
    return { status: "admitted", identity, session, rateLimit };
}
