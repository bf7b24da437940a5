/**
 * Exponential backoff with full jitter (the AWS Architecture Blog's
 * "Exponential Backoff and Jitter"): the n-th retry waits a uniformly random
 * time in [0, min(cap, base * 2^n)). Spreading retries over the whole window
 * keeps many writers that were throttled together from retrying together.
 */
export interface Backoff {
    baseDelayMs: number;
    maxDelayMs: number;
    /** Uniform in [0, 1); `Math.random` unless a test passes its own. */
    random?: () => number;
}

/** The wait before retry number `retry` (1 for the first retry). */
export function fullJitterDelay(retry: number, backoff: Backoff): number {
    const ceiling = Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** retry);
    return Math.floor((backoff.random ?? Math.random)() * ceiling);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Errors the SDK classifies as throttling or transient, after its own retries gave up. */
export function isRetryableDynamoError(error: unknown): boolean {
    const name = (error as { name?: string })?.name;
    if (name === "ProvisionedThroughputExceededException" || name === "ThrottlingException" || name === "RequestLimitExceeded") return true;
    const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
    return Boolean((error as { $retryable?: unknown })?.$retryable) || (status !== undefined && status >= 500);
}

/** Runs `work` over `inputs` with at most `concurrency` at a time; the first error is thrown after the running ones settle. */
export async function forEachConcurrently<T>(inputs: readonly T[], concurrency: number, work: (input: T) => Promise<void>): Promise<void> {
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async () => {
        while (!failure && next < inputs.length) {
            const input = inputs[next++];
            try {
                await work(input);
            } catch (error) {
                failure ??= { error };
            }
        }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, inputs.length)) }, worker));
    if (failure) throw failure.error;
}
