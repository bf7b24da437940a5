/**
 * 9. The trust boundary's own costs: signing the identity assertion on every
 * request, and the memory an upstream's answer can make the gateway hold.
 *
 * Signing: the gateway signs with `node:crypto` over a prepared KeyObject and
 * a pre-encoded header (runtime/auth/gatewayKeys.ts); beside it, the same
 * claims signed through jose's SignJWT with the key imported once, the
 * obvious way to write it. CPU per signature, median of rounds.
 *
 * Memory: the handler in a fresh process for each figure (support/memoryMain.ts), the
 * upstream in this one, answering a body of exactly the limit (4.5 MB), and
 * 400 MB with and without Content-Length; for comparison, the transport
 * tollgate had before (`fetch`, which reads a whole body before checking
 * it) with a 40 MB body, a tenth of the size, to keep the run light. The
 * figure is how far the resident set grew over what it was before the
 * request, at its highest, sampled every 2 ms.
 */
import { spawn } from "node:child_process";
import { importPKCS8, SignJWT } from "jose";
import { generateKeyMaterial } from "../../local/keys";
import { gatewayKeysOf } from "../../runtime/auth/gatewayKeys";
import { assertionClaims } from "../../runtime/steps/assertion";
import { maxResponseBodyBytes } from "../../runtime/steps/proxy";
import { projectDir } from "../../specs/stackFile";
import { startRecordingUpstream } from "../../test/support/upstreams";
import { median, round } from "../support/stats";

export interface BoundaryResult {
    assertion: { sign_us: number; jose_sign_us: number; rounds: number; signs_per_round: number };
    upstream_memory: {
        limit_bytes: number;
        /** Resident set growth while the handler proxies each answer, MB. */
        at_limit_mb: number;
        over_limit_400mb_content_length_mb: number;
        over_limit_400mb_chunked_mb: number;
        /** The `fetch` transport tollgate had before, with a tenth of that body. */
        before_fetch_40mb_mb: number;
        statuses: Record<string, number>;
    };
}

function cpuMicrosPer(count: number, work: () => void): number {
    const before = process.cpuUsage();
    for (let i = 0; i < count; i++) work();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / count;
}

async function signingCost(rounds: number, signs: number): Promise<BoundaryResult["assertion"]> {
    const material = generateKeyMaterial();
    const keys = gatewayKeysOf(material);
    const claims = assertionClaims({
        issuer: "https://api.example.com",
        route: { name: "users" },
        identity: { userId: "u-1234", username: "ada", roles: ["member"], permissions: ["orders:read"], method: "session" },
        assertionId: "Qk3xJhhLjoEEPiwA",
        now: Date.now(),
    });
    const key = await importPKCS8(material.signingKeys[0], "ES256");
    const joseSign = async () => {
        const before = process.cpuUsage();
        for (let i = 0; i < signs; i++) await new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "JWT", kid: keys.kid }).sign(key);
        const used = process.cpuUsage(before);
        return (used.user + used.system) / signs;
    };
    cpuMicrosPer(200, () => keys.sign(claims));
    await joseSign();
    const node: number[] = [];
    const jose: number[] = [];
    for (let i = 0; i < rounds; i++) {
        node.push(cpuMicrosPer(signs, () => keys.sign(claims)));
        jose.push(await joseSign());
    }
    return { sign_us: round(median(node), 1), jose_sign_us: round(median(jose), 1), rounds, signs_per_round: signs };
}

function runMemoryChild(upstream: string, requests: { path: string; label: string }[], transport: "node-http" | "fetch"): Promise<Record<string, { status: number; growth_mb: number }>> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", "bench/support/memoryMain.ts"], {
            cwd: projectDir,
            env: { ...process.env, UPSTREAM_URL: upstream, REQUESTS: JSON.stringify(requests), TRANSPORT: transport, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => (stdout += chunk));
        child.stderr.on("data", (chunk) => (stderr += chunk));
        const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
        child.on("exit", (code) => {
            clearTimeout(timer);
            if (code !== 0) return reject(new Error(`the memory run exited with ${code}:\n${stderr}`));
            resolve(JSON.parse(stdout.trim().split("\n").pop()!));
        });
    });
}

export async function measureBoundary(options: { rounds: number; signsPerRound: number }): Promise<BoundaryResult> {
    const assertion = await signingCost(options.rounds, options.signsPerRound);
    const upstream = await startRecordingUpstream();
    try {
        const big = 400 * 1000 * 1000;
        // One process per figure: a resident set that grew once does not shrink for the next request.
        const one = async (path: string, transport: "node-http" | "fetch") => (await runMemoryChild(upstream.url, [{ path, label: "one" }], transport)).one;
        const after = {
            at_limit: await one(`/big/bytes/${maxResponseBodyBytes}?chunked=1`, "node-http"),
            over_content_length: await one(`/big/bytes/${big}`, "node-http"),
            over_chunked: await one(`/big/bytes/${big}?chunked=1`, "node-http"),
        };
        const before = { fetch_40mb: await one(`/big/bytes/${big / 10}`, "fetch") };
        return {
            assertion,
            upstream_memory: {
                limit_bytes: maxResponseBodyBytes,
                at_limit_mb: after.at_limit.growth_mb,
                over_limit_400mb_content_length_mb: after.over_content_length.growth_mb,
                over_limit_400mb_chunked_mb: after.over_chunked.growth_mb,
                before_fetch_40mb_mb: before.fetch_40mb.growth_mb,
                statuses: { at_limit: after.at_limit.status, over_content_length: after.over_content_length.status, over_chunked: after.over_chunked.status, fetch_40mb: before.fetch_40mb.status },
            },
        };
    } finally {
        await upstream.close();
    }
}
