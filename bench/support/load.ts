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

/** One autocannon run: the 2xx latencies (ms) and the counts, to be combined with other runs of the same target. */
export interface LoadRun {
    latencies: number[];
    requests: number;
    non2xx: number;
    errors: number;
    durationSeconds: number;
}

export async function runLoad(options: autocannon.Options & { duration: number }): Promise<LoadRun> {
    const latencies: number[] = [];
    const instance = startLoad({ timeout: 10, ...options });
    instance.on("response", (_client, statusCode, _bytes, responseTimeMs) => {
        if (statusCode >= 200 && statusCode < 300) latencies.push(responseTimeMs);
    });
    const result = await instance;
    return { latencies, requests: result.requests.total, non2xx: result.non2xx, errors: result.errors + result.timeouts, durationSeconds: options.duration };
}

/** The figures of one or more runs of a target taken together. */
export function figuresOf(runs: LoadRun[]): LoadFigures {
    const latencies = runs.flatMap((run) => run.latencies);
    const requests = runs.reduce((sum, run) => sum + run.requests, 0);
    const seconds = runs.reduce((sum, run) => sum + run.durationSeconds, 0);
    return {
        rps: round(requests / seconds, 1),
        p50_ms: round(percentile(latencies, 50), 3),
        p99_ms: round(percentile(latencies, 99), 3),
        requests,
        non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
        errors: runs.reduce((sum, run) => sum + run.errors, 0),
    };
}

export async function measureLoad(options: autocannon.Options & { duration: number }): Promise<LoadFigures> {
    return figuresOf([await runLoad(options)]);
}
