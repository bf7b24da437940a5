/**
 * Step 4 (part of proxy): the identity assertion, and the JWKS it is
 * verified with.
 *
 * Every proxied request carries `x-gateway-assertion`: a JWT the gateway
 * signs with ES256, as Google IAP's `x-goog-iap-jwt-assertion` and Cloudflare
 * Access's `Cf-Access-Jwt-Assertion` do. An upstream that verifies it
 * (signature against the gateway's JWKS, `iss`, its own `aud`, `exp`) knows
 * the request came through the gateway, for which route, and for whom,
 * whatever else reached it. Claims:
 *
 * - `iss`: the stack's gateway (`tollgate:identity.issuer`);
 * - `aud`: the route's `assertionAudience`, else its name;
 * - `sub`: the user id, absent on anonymous requests; `username` when known;
 * - `roles`, `permissions`: lists, empty when anonymous;
 * - `auth`: `session`, `jwt` or `none`, what proved the identity;
 * - `iat`, `exp` (a minute later), `jti`: a random id naming the assertion.
 *
 * Signing costs more than the rest of a request's own work, so a container
 * keeps each assertion it signed and sends it again for the same caller,
 * route and claims for `tollgate:identity.assertionReuseSeconds` (30 by
 * default), and never once less than 30 s of its minute is left: a caller's
 * repeated requests share one assertion, and `jti` names the assertion, not
 * the request (the request has `x-request-id`).
 *
 * The JWKS (`GET /.well-known/jwks.json`) is answered from memory with every
 * signing key's public half (the current and, after a rotation, the previous
 * one), cacheable for five minutes, and counted by no rate limit: verifiers
 * fetch it on a new `kid`, and a refusal would fail every upstream at once.
 */
import { randomBytes } from "node:crypto";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { assertionLifetimeSeconds, assertionMinimumValiditySeconds } from "../../specs/identity";
import type { RouteSpec } from "../../specs/routes";
import type { Identity } from "../auth/identity";
import type { GatewayKeys } from "../auth/gatewayKeys";
import { ExpiringCache } from "../expiringCache";
import { json } from "./respond";

export { assertionLifetimeSeconds };

/** How long a verifier may keep the JWKS before asking again (it asks again anyway on an unknown `kid`). */
export const jwksMaxAgeSeconds = 300;

export interface AssertionContext {
    issuer: string;
    route: Pick<RouteSpec, "name" | "assertionAudience">;
    identity?: Identity;
    /** Names the assertion (`jti`). */
    assertionId: string;
    /** Epoch milliseconds. */
    now: number;
}

export function assertionClaims(context: AssertionContext): Record<string, unknown> {
    const { identity } = context;
    const iat = Math.floor(context.now / 1000);
    return {
        iss: context.issuer,
        aud: context.route.assertionAudience ?? context.route.name,
        ...(identity ? { sub: identity.userId } : {}),
        ...(identity?.username !== undefined ? { username: identity.username } : {}),
        roles: identity?.roles ?? [],
        permissions: identity?.permissions ?? [],
        auth: identity?.method ?? "none",
        iat,
        exp: iat + assertionLifetimeSeconds,
        jti: context.assertionId,
    };
}

export function signAssertion(keys: GatewayKeys, context: AssertionContext): string {
    return keys.sign(assertionClaims(context));
}

interface Signed {
    assertion: string;
    keys: GatewayKeys;
}

/** A new assertion id: 96 random bits, base64url. */
const newAssertionId = () => randomBytes(12).toString("base64url");

/**
 * The container's signed assertions, each kept for the caller, route and
 * claims it was signed for, until `reuseSeconds` after its signing or 30 s
 * before its `exp`, whichever comes first. Bounded like every cache of the
 * container: a flood of distinct callers costs a signature each, as without it.
 */
export class Assertions {
    private readonly signed = new ExpiringCache<string, Signed>();
    private readonly reuseMs: number;

    constructor(
        private readonly issuer: string,
        reuseSeconds: number,
        private readonly assertionId: () => string = newAssertionId,
    ) {
        this.reuseMs = Math.max(0, Math.min(reuseSeconds, assertionLifetimeSeconds - assertionMinimumValiditySeconds)) * 1000;
    }

    /** An assertion for this caller and route, valid for at least 30 s more: one kept, or one signed now. */
    for(keys: GatewayKeys, route: Pick<RouteSpec, "name" | "assertionAudience">, identity: Identity | undefined, now: number): string {
        if (this.reuseMs === 0) return signAssertion(keys, { issuer: this.issuer, route, identity, assertionId: this.assertionId(), now });
        const audience = route.assertionAudience ?? route.name;
        const key = identity
            ? JSON.stringify([audience, identity.method, identity.userId, identity.username ?? null, identity.roles, identity.permissions])
            : audience;
        const kept = this.signed.get(key, now);
        if (kept && kept.keys === keys) return kept.assertion;
        const assertion = signAssertion(keys, { issuer: this.issuer, route, identity, assertionId: this.assertionId(), now });
        // Never past exp minus 30 s: iat is `now` rounded down to the second.
        const until = Math.min(now + this.reuseMs, (Math.floor(now / 1000) + assertionLifetimeSeconds - assertionMinimumValiditySeconds) * 1000);
        this.signed.set(key, { assertion, keys }, until, now);
        return assertion;
    }
}

export function jwksAnswer(keys: GatewayKeys): APIGatewayProxyStructuredResultV2 {
    return json(200, keys.jwks, { "content-type": "application/jwk-set+json", "cache-control": `public, max-age=${jwksMaxAgeSeconds}` });
}
