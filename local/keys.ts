/**
 * The gateway's keys for `npm start`: an ES256 signing key for the identity
 * assertion and the log key, as the deployed stack keeps them in Secrets
 * Manager (runtime/auth/gatewayKeys.ts). They are generated once per data
 * directory and kept in `gateway-keys.json` there (readable by its owner
 * only), so an upstream that cached the local JWKS keeps verifying across
 * restarts; with `--memory` they live as long as the process.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import type { KeyMaterial } from "../runtime/auth/gatewayKeys";

export const keysFileName = "gateway-keys.json";

/** A fresh signing key on P-256 and a 256-bit log key. */
export function generateKeyMaterial(): KeyMaterial {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    return {
        signingKeys: [privateKey.export({ format: "pem", type: "pkcs8" }).toString()],
        logKey: randomBytes(32).toString("base64url"),
    };
}

/** The data directory's keys, generated and written there the first time; fresh ones when there is no directory. */
export function localKeyMaterial(dataDir: string | undefined): { material: KeyMaterial; file?: string; created: boolean } {
    if (dataDir === undefined) return { material: generateKeyMaterial(), created: true };
    const file = path.join(dataDir, keysFileName);
    try {
        const material = JSON.parse(fs.readFileSync(file, "utf8")) as KeyMaterial;
        if (Array.isArray(material.signingKeys) && material.signingKeys.length > 0 && typeof material.logKey === "string") return { material, file, created: false };
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`${file} cannot be read as the gateway's keys (${(error as Error).message}); delete it to have new keys made`);
    }
    const material = generateKeyMaterial();
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(material, null, 2)}\n`, { mode: 0o600 });
    return { material, file, created: true };
}
