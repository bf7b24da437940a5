/** Small statistics over samples. */

export function median(samples: number[]): number {
    return percentile(samples, 50);
}

/** Nearest-rank percentile (0-100) of the samples. */
export function percentile(samples: number[], p: number): number {
    if (samples.length === 0) return NaN;
    const sorted = [...samples].sort((a, b) => a - b);
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function mean(samples: number[]): number {
    return samples.length === 0 ? NaN : samples.reduce((sum, x) => sum + x, 0) / samples.length;
}

/** Rounds to `digits` decimals (keeps the JSON readable). */
export function round(value: number, digits = 2): number {
    const factor = 10 ** digits;
    return Math.round(value * factor) / factor;
}
