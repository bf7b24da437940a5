/**
 * autocannon runs whose latencies are kept in fractions of a millisecond:
 * taken from its per-response events, since its own histogram keeps whole
 * milliseconds, too coarse for calls that take less than one.
 */
import autocannon from "autocannon";
import { percentile, round } from "./stats";

export type LoadInstance = autocannon.Instance & PromiseLike<autocannon.Result>;

/** autocannon's programmatic API: the instance is both the event emitter and the promise of the result. */
export function startLoad(options: autocannon.Options): LoadInstance {
    return autocannon(options) as unknown as LoadInstance;
}

export interface LoadFigures {
    rps: number;
    p50_ms: number;
    p99_ms: number;
    requests: number;
    non2xx: number;
    errors: number;
}

export async function measureLoad(options: autocannon.Options & { duration: number }): Promise<LoadFigures> {
    const latencies: number[] = [];
    const instance = startLoad({ timeout: 10, ...options });
    instance.on("response", (_client, statusCode, _bytes, responseTimeMs) => {
        if (statusCode >= 200 && statusCode < 300) latencies.push(responseTimeMs);
    });
    const result = await instance;
    return {
        rps: round(result.requests.total / options.duration, 1),
        p50_ms: round(percentile(latencies, 50), 3),
        p99_ms: round(percentile(latencies, 99), 3),
        requests: result.requests.total,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
    };
}
