/**
 * The gateway's own keys: the ES256 keys that sign the identity assertion
 * (the first signs, every one is published in the JWKS, so assertions signed
 * before a rotation still verify), the per-stack key that makes the
 * limiter key in log lines an HMAC instead of a hash anyone could reverse,
 * and the window key derived from it, which places each rate-limit key's
 * windows (runtime/steps/rateLimit.ts).
 *
 * Deployed, they live in one Secrets Manager secret (`IDENTITY_KEYS_SECRET_ARN`),
 * read once per container: its SecretString is the JSON of `KeyMaterial`. A
 * failed read is not kept, so the next request tries again. Locally they are
 * a value `npm start` generated for its data directory.
 *
 * Everything per request is prepared here once: the private key as a
 * `KeyObject`, the encoded JWT header, the JWKS document.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, sign, type KeyObject } from "node:crypto";
import type { KeyMaterial } from "../../specs/lambda";
import type { SecretLoader } from "./secret";

export type { KeyMaterial };

export interface PublicJwk {
    kty: "EC";
    crv: "P-256";
    x: string;
    y: string;
    kid: string;
    alg: "ES256";
    use: "sig";
}

export interface GatewayKeys {
    /** A compact ES256 JWS of the claims, signed with the current key. */
    sign(claims: Record<string, unknown>): string;
    /** The JWKS document: every signing key's public half. */
    jwks: { keys: PublicJwk[] };
    /** The current key's `kid` (its RFC 7638 thumbprint). */
    kid: string;
    logKey: Buffer;
    /** HMAC key of each limiter key's window offset: derived from the log key, so the hashes in the logs do not give the offsets away. */
    windowKey: Buffer;
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString("base64url");

/** The RFC 7638 thumbprint of an EC public key: stable, so a key keeps its `kid` wherever it is loaded. */
function thumbprint(jwk: { crv: string; kty: string; x: string; y: string }): string {
    return createHash("sha256").update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest("base64url");
}

/** Builds the keys from their material; throws (naming no secret) on material that is not what it must be. */
export function gatewayKeysOf(material: KeyMaterial): GatewayKeys {
    if (!material || !Array.isArray(material.signingKeys) || material.signingKeys.length === 0) throw new Error("the gateway key material has no signing key");
    if (typeof material.logKey !== "string" || material.logKey.length < 32) throw new Error("the gateway key material has no log key of at least 32 characters");
    const keys = material.signingKeys.map((pem) => {
        const privateKey = createPrivateKey(pem);
        if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") throw new Error("a gateway signing key is not an EC key on P-256");
        const jwk = createPublicKey(privateKey).export({ format: "jwk" }) as { kty: "EC"; crv: "P-256"; x: string; y: string };
        const kid = thumbprint(jwk);
        return { privateKey, publicJwk: { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, kid, alg: "ES256", use: "sig" } as PublicJwk };
    });
    const current: KeyObject = keys[0].privateKey;
    const kid = keys[0].publicJwk.kid;
    const header = base64url(JSON.stringify({ alg: "ES256", typ: "JWT", kid }));
    const jwks = { keys: keys.filter((key, i) => keys.findIndex((other) => other.publicJwk.kid === key.publicJwk.kid) === i).map((key) => key.publicJwk) };
    return {
        sign(claims) {
            const signingInput = `${header}.${base64url(JSON.stringify(claims))}`;
            // JOSE wants the raw r || s signature, not DER.
            const signature = sign("sha256", Buffer.from(signingInput), { key: current, dsaEncoding: "ieee-p1363" });
            return `${signingInput}.${signature.toString("base64url")}`;
        },
        jwks,
        kid,
        logKey: Buffer.from(material.logKey, "utf8"),
        windowKey: createHmac("sha256", material.logKey).update("tollgate rate-limit window offsets").digest(),
    };
}

/** Where the keys come from: the secret's ARN (deployed), or the material itself (local gateway, tests). */
export type GatewayKeysConfig = { secretArn: string } | { value: KeyMaterial };

export interface GatewayKeySource {
    /** The keys, read once per container; rejects while they cannot be read (a later call tries again). */
    get(): Promise<GatewayKeys>;
    /** The keys if they have been read, without waiting. */
    loaded(): GatewayKeys | undefined;
}

export function createGatewayKeySource(config: GatewayKeysConfig, load: SecretLoader): GatewayKeySource {
    let pending: Promise<GatewayKeys> | undefined;
    let ready: GatewayKeys | undefined;
    if ("value" in config) {
        ready = gatewayKeysOf(config.value);
        pending = Promise.resolve(ready);
    }
    return {
        get() {
            pending ??= load((config as { secretArn: string }).secretArn)
                .then((text) => (ready = gatewayKeysOf(JSON.parse(text) as KeyMaterial)))
                .catch((error) => {
                    pending = undefined;
                    throw error;
                });
            return pending;
        },
        loaded: () => ready,
    };
}
