/**
 * Credentials for the bad-input fuzzers: valid ones (a session, HS256 and
 * RS256 JWTs) and the forged ones an attacker tries: `alg: none`, a wrong
 * key, an expired `exp`, the HS/RS confusion (an HS256 token "signed" with
 * the RSA public key, an RS256 header over an HMAC signature), oversized
 * tokens. A local JWKS server publishes the RSA public key.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK } from "jose";

export const issuer = "https://issuer.reliability.test";
export const audience = "tollgate";
export const hsSecret = "reliability-hs256-secret-0123456789-abcdefghij";

export type CredentialKind = "valid" | "invalid";

export interface NamedCredential {
    name: string;
    kind: CredentialKind;
    /** Where it goes: a bearer token, or the `session` cookie. */
    token: string;
}

export interface JwksServer {
    url: string;
    close(): Promise<void>;
}

const base64url = (text: string) => Buffer.from(text).toString("base64url");

export async function forgeCredentials(options: { validSessions: string[]; permissions: string[] }): Promise<{ credentials: NamedCredential[]; jwks: JwksServer }> {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: "reliability", alg: "RS256", use: "sig" };
    const publicPem = await exportSPKI(publicKey);
    const server = http.createServer((_request, response) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const jwks: JwksServer = {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };

    const now = Math.floor(Date.now() / 1000);
    const claims = { permissions: options.permissions, roles: ["fuzz"] };
    const hs = (key: Uint8Array, exp = now + 3600) =>
        new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setSubject("jwt-user").setIssuer(issuer).setAudience(audience).setIssuedAt(now - 60).setExpirationTime(exp).sign(key);
    const encoder = new TextEncoder();
    const validHs = await hs(encoder.encode(hsSecret));
    const validRs = await new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid: "reliability" })
        .setSubject("jwt-rs-user")
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(now - 60)
        .setExpirationTime(now + 3600)
        .sign(privateKey);
    const payload = base64url(JSON.stringify({ sub: "admin", iss: issuer, aud: audience, exp: now + 3600, permissions: options.permissions }));
    const [hsHeader, , hsSignature] = validHs.split(".");
    const credentials: NamedCredential[] = [
        ...options.validSessions.map((token, i) => ({ name: `session-${i}`, kind: "valid" as const, token })),
        { name: "jwt-hs256", kind: "valid", token: validHs },
        { name: "jwt-rs256", kind: "valid", token: validRs },
        { name: "jwt-alg-none", kind: "invalid", token: `${base64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.` },
        { name: "jwt-alg-none-signed", kind: "invalid", token: `${base64url(JSON.stringify({ alg: "none" }))}.${payload}.${hsSignature}` },
        { name: "jwt-wrong-key", kind: "invalid", token: await hs(encoder.encode("another-secret-of-the-right-length-0123456789")) },
        { name: "jwt-expired", kind: "invalid", token: await hs(encoder.encode(hsSecret), now - 120) },
        { name: "jwt-hs256-with-rsa-public-key-pem", kind: "invalid", token: await hs(encoder.encode(publicPem)) },
        { name: "jwt-hs256-with-rsa-public-jwk", kind: "invalid", token: await hs(encoder.encode(JSON.stringify(publicJwk))) },
        { name: "jwt-rs256-header-hmac-signature", kind: "invalid", token: `${base64url(JSON.stringify({ alg: "RS256", kid: "reliability" }))}.${payload}.${hsSignature}` },
        { name: "jwt-payload-swapped", kind: "invalid", token: `${hsHeader}.${payload}.${hsSignature}` },
        { name: "session-shaped-unknown", kind: "invalid", token: "A".repeat(43) },
        { name: "token-1mb", kind: "invalid", token: "x".repeat(1024 * 1024) },
        { name: "jwt-1mb", kind: "invalid", token: `${hsHeader}.${"A".repeat(1024 * 1024)}.${hsSignature}` },
        { name: "garbage", kind: "invalid", token: "not.a.token" },
    ];
    return { credentials, jwks };
}
