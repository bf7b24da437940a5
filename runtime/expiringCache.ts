/**
 * The container's bounded caches. `ExpiringCache`: a map whose entries lapse
 * at a given time (the limiter's refusals and previous-window counts, the
 * session cache). `rememberedPerKey`: a function of a limiter key worked out
 * once (the key's HMAC for the log line, its window seed). Bounded, so a
 * flood of distinct keys cannot grow a container's memory without limit.
 */

/**
 * `compute` remembered per key, for up to `maxKeys` keys; past that it starts
 * again (a flood of distinct keys costs one computation each, as without it).
 * An undefined result (the secret it needs is not read yet) is not remembered.
 */
export function rememberedPerKey<V>(compute: (key: string) => V | undefined, maxKeys = 10_000): (key: string) => V | undefined {
    const remembered = new Map<string, V>();
    return (key) => {
        const known = remembered.get(key);
        if (known !== undefined) return known;
        const value = compute(key);
        if (value === undefined) return undefined;
        if (remembered.size >= maxKeys) remembered.clear();
        remembered.set(key, value);
        return value;
    };
}

/** Past `maxEntries` lapsed entries are swept, then the oldest are dropped. */
export class ExpiringCache<K, V> {
    private readonly entries = new Map<K, { value: V; expiresAt: number }>();

    constructor(private readonly maxEntries = 10_000) {}

    /** The value, if present and `now` (epoch ms) is before its expiry. */
    get(key: K, now: number): V | undefined {
        const entry = this.entries.get(key);
        if (!entry) return undefined;
        if (now >= entry.expiresAt) {
            this.entries.delete(key);
            return undefined;
        }
        return entry.value;
    }

    set(key: K, value: V, expiresAt: number, now: number): void {
        this.entries.delete(key);
        this.entries.set(key, { value, expiresAt });
        if (this.entries.size > this.maxEntries) this.sweep(now);
    }

    delete(key: K): void {
        this.entries.delete(key);
    }

    /** Deletes every entry whose value matches. */
    deleteWhere(matches: (value: V) => boolean): void {
        for (const [key, entry] of this.entries) if (matches(entry.value)) this.entries.delete(key);
    }

    get size(): number {
        return this.entries.size;
    }

    private sweep(now: number): void {
        for (const [key, entry] of this.entries) if (now >= entry.expiresAt) this.entries.delete(key);
        // Map iteration follows insertion order: the first entries are the oldest.
        const excess = this.entries.size - Math.floor(this.maxEntries * 0.9);
        if (excess <= 0) return;
        let dropped = 0;
        for (const key of this.entries.keys()) {
            if (dropped++ >= excess) break;
            this.entries.delete(key);
        }
    }
}
