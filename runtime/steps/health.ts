/**
 * The gateway's own endpoints. `/health/live` answers from memory (no
 * DynamoDB call): the container runs. `/health/ready` proves both tables
 * answer a GetItem of a key that never exists (cheap, and it needs no
 * permission beyond what the gateway already has); 503 when either fails.
 * A container keeps that answer for `readyCacheMs`, and checks in flight are
 * shared, so a probe flood (or an attacker hammering the path) costs DynamoDB
 * at most two reads per container every few seconds.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { json, problem } from "./respond";

export function live(): APIGatewayProxyStructuredResultV2 {
    return json(200, { status: "ok" }, { "cache-control": "no-store" });
}

export async function ready(checks: Array<() => Promise<void>>): Promise<APIGatewayProxyStructuredResultV2> {
    try {
        await Promise.all(checks.map((check) => check()));
        return json(200, { status: "ok" }, { "cache-control": "no-store" });
    } catch {
        return problem(503, "A dependency of the gateway is not answering.", { "cache-control": "no-store", "retry-after": "5" });
    }
}

/** How long a container keeps `/health/ready`'s answer. */
export const readyCacheMs = 5_000;

/** `ready`, answered from the container's memory while its last answer is younger than `readyCacheMs`. */
export function cachedReady(checks: Array<() => Promise<void>>, now: () => number): () => Promise<APIGatewayProxyStructuredResultV2> {
    let last: { at: number; answer: Promise<APIGatewayProxyStructuredResultV2> } | undefined;
    return () => {
        const at = now();
        if (!last || at - last.at >= readyCacheMs || at < last.at) last = { at, answer: ready(checks) };
        return last.answer;
    };
}
