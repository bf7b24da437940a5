/**
 * Step 4 (part of proxy): the identity assertion, and the JWKS it is
 * verified with.
 *
 * Every proxied request carries `x-gateway-assertion`: a JWT the gateway
 * signs with ES256 for this one request, as Google IAP's
 * `x-goog-iap-jwt-assertion` and Cloudflare Access's `Cf-Access-Jwt-Assertion`
 * do. An upstream that verifies it (signature against the gateway's JWKS,
 * `iss`, its own `aud`, `exp`) knows the request came through the gateway,
 * for which route, and for whom, whatever else reached it. Claims:
 *
 * - `iss`: the stack's gateway (`tollgate:identity.issuer`);
 * - `aud`: the route's `assertionAudience`, else its name;
 * - `sub`: the user id, absent on anonymous requests; `username` when known;
 * - `roles`, `permissions`: lists, empty when anonymous;
 * - `auth`: `session`, `jwt` or `none`, what proved the identity;
 * - `iat`, `exp` (a minute later), `jti`: the request id.
 *
 * The JWKS (`GET /.well-known/jwks.json`) is answered from memory with every
 * signing key's public half (the current and, after a rotation, the previous
 * one), cacheable for five minutes, and counted by no rate limit: verifiers
 * fetch it on a new `kid`, and a refusal would fail every upstream at once.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { RouteSpec } from "../../specs/routes";
import type { Identity } from "../auth/identity";
import type { GatewayKeys } from "../auth/gatewayKeys";
import { json } from "./respond";

/** Seconds an assertion is valid: long enough for clock skew and a slow upstream to read it, short enough to be useless if it leaks. */
export const assertionLifetimeSeconds = 60;

/** How long a verifier may keep the JWKS before asking again (it asks again anyway on an unknown `kid`). */
export const jwksMaxAgeSeconds = 300;

export interface AssertionContext {
    issuer: string;
    route: Pick<RouteSpec, "name" | "assertionAudience">;
    identity?: Identity;
    requestId: string;
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
        jti: context.requestId,
    };
}

export function signAssertion(keys: GatewayKeys, context: AssertionContext): string {
    return keys.sign(assertionClaims(context));
}

export function jwksAnswer(keys: GatewayKeys): APIGatewayProxyStructuredResultV2 {
    return json(200, keys.jwks, { "content-type": "application/jwk-set+json", "cache-control": `public, max-age=${jwksMaxAgeSeconds}` });
}
