/**
 * Loads items into a table: the engine of `seed`, `import` and `migrate`.
 *
 * Records are read in order, checked (JSON, key attributes, 400 KB), and
 * written in batches of 25 with several batches in flight. Puts are
 * idempotent by key, so a run that is repeated or resumed writes no
 * duplicates; when the same key comes twice the later record wins, also
 * across batches in flight (a batch waits for any earlier batch holding one
 * of its keys).
 *
 * The committed position is the last record position (line) up to which
 * every record is written or skipped: batches finish out of order, and a
 * position only counts once everything before it is done. That is what a
 * checkpoint stores and where a resumed run starts.
 */
import { BatchWriteError, type TableClient } from "./client";
import { itemSize, maxItemBytes } from "./itemFormat";
import { keyIdentity, type Item } from "./keys";

export interface LoadRecord {
    /** Orders records and is what the committed position counts (a line number for files). */
    position: number;
    /** Where the record is, for messages: `line 12`, `users[3]`. */
    where: string;
    /** The item, or throws saying what is wrong with the record. */
    read(): Item;
}

export type OnError = "skip" | "stop";

export interface LoadProblem {
    position: number;
    where: string;
    message: string;
}

export interface LoadProgress {
    /** Items DynamoDB has taken. */
    written: number;
    /** Bad records passed over (`--on-error skip`). */
    skipped: number;
    /** Records read so far. */
    read: number;
    /** Every record at or before this position is written or skipped. */
    committedPosition: number;
}

export interface LoadResult extends LoadProgress {
    outcome: "complete" | "stopped-on-bad-input" | "write-failed" | "interrupted";
    /** The bad record that stopped the run, or the write that failed. */
    failure?: LoadProblem;
}

export interface LoadOptions {
    table: TableClient;
    records: AsyncIterable<LoadRecord> | Iterable<LoadRecord>;
    onError: OnError;
    /** Batches of 25 in flight. Default 8. */
    concurrency?: number;
    /** Position of the first record to load; the committed position starts just before it. Default 1. */
    startPosition?: number;
    /** The position the source has read up to, counted as committed once all before it is (trailing blank lines). */
    lastPositionRead?: () => number;
    /** Stops reading; batches already read are still written. */
    signal?: AbortSignal;
    onProblem?(problem: LoadProblem): void;
    /** After each batch is written. */
    onProgress?(progress: LoadProgress): void;
    /** After the committed position moves. */
    onCommit?(progress: LoadProgress): void;
}

const batchSize = 25;

interface PendingItem {
    item: Item;
    position: number;
    where: string;
}

interface Batch {
    items: Map<string, PendingItem>;
    lastPosition: number;
}

/** DynamoDB refused the batch for what is in an item (duplicate set elements, a bad nested value...). */
function refusedForContent(error: unknown): boolean {
    const cause = error instanceof BatchWriteError ? error.cause : error;
    return (cause as Error)?.name === "ValidationException";
}

export async function loadItems(options: LoadOptions): Promise<LoadResult> {
    const { table } = options;
    const concurrency = Math.max(1, options.concurrency ?? 8);
    const progress: LoadProgress = { written: 0, skipped: 0, read: 0, committedPosition: (options.startPosition ?? 1) - 1 };
    const inFlight = new Set<Promise<void>>();
    const keysInFlight = new Map<string, Promise<void>>();
    // Batches finish in any order; the committed position follows them in the order they were sent.
    const finished = new Map<number, number>();
    let nextBatch = 0;
    let nextToCommit = 0;
    let failure: LoadProblem | undefined;
    let outcome: LoadResult["outcome"] = "complete";
    let batch: Batch = { items: new Map(), lastPosition: progress.committedPosition };

    // Set when a write finds a bad item with --on-error stop: nothing at or after it counts as committed.
    let haltPosition: number | undefined;
    const commit = (sequence: number, lastPosition: number) => {
        finished.set(sequence, lastPosition);
        let moved = false;
        while (finished.has(nextToCommit)) {
            progress.committedPosition = finished.get(nextToCommit)!;
            finished.delete(nextToCommit++);
            moved = true;
        }
        if (haltPosition !== undefined) progress.committedPosition = Math.min(progress.committedPosition, haltPosition - 1);
        if (moved) options.onCommit?.({ ...progress });
    };

    const reportBadItem = (problem: LoadProblem) => {
        options.onProblem?.(problem);
        if (options.onError === "skip") {
            progress.skipped++;
            return;
        }
        if (haltPosition === undefined || problem.position < haltPosition) {
            haltPosition = problem.position;
            failure = problem;
        }
        outcome = "stopped-on-bad-input";
    };

    /**
     * DynamoDB refuses a whole batch for one bad item without saying which;
     * writing the batch's items one by one finds it, so it is reported by line.
     */
    const writeOneByOne = async (pending: PendingItem[]) => {
        for (const { item, position, where } of pending) {
            try {
                await table.put(item);
                progress.written++;
            } catch (error) {
                if (!refusedForContent(error)) throw error;
                reportBadItem({ position, where, message: `DynamoDB refused the item: ${(error as Error).message}` });
                if (options.onError === "stop") return;
            }
        }
    };

    const send = async (sending: Batch) => {
        const sequence = nextBatch++;
        if (sending.items.size === 0) return commit(sequence, sending.lastPosition);
        const earlier = [...new Set([...sending.items.keys()].flatMap((identity) => (keysInFlight.has(identity) ? [keysInFlight.get(identity)!] : [])))];
        const write = (async () => {
            await Promise.allSettled(earlier);
            const pending = [...sending.items.values()];
            try {
                const { written } = await table.batchWrite(
                    pending.map(({ item }) => ({ put: item })),
                    { concurrency: 1 },
                );
                progress.written += written;
            } catch (error) {
                if (!refusedForContent(error)) throw error;
                await writeOneByOne(pending);
            }
            commit(sequence, sending.lastPosition);
            options.onProgress?.({ ...progress });
        })().catch((error: Error) => {
            const first = Math.min(...[...sending.items.values()].map((pending) => pending.position));
            failure ??= { position: first, where: `the batch of records ${first} to ${sending.lastPosition}`, message: error.message };
            outcome = "write-failed";
        });
        inFlight.add(write);
        for (const identity of sending.items.keys()) keysInFlight.set(identity, write);
        write.finally(() => {
            inFlight.delete(write);
            for (const identity of sending.items.keys()) if (keysInFlight.get(identity) === write) keysInFlight.delete(identity);
        });
        while (inFlight.size >= concurrency) await Promise.race(inFlight);
    };

    for await (const record of options.records) {
        if (outcome !== "complete" || haltPosition !== undefined) break;
        if (options.signal?.aborted) {
            outcome = "interrupted";
            break;
        }
        progress.read++;
        let item: Item;
        try {
            item = record.read();
            table.checkItem(item);
            const size = itemSize(item);
            if (size > maxItemBytes) throw new Error(`item is ${Math.ceil(size / 1024)} KB; DynamoDB takes at most 400 KB`);
        } catch (error) {
            const problem = { position: record.position, where: record.where, message: (error as Error).message };
            options.onProblem?.(problem);
            if (options.onError === "stop") {
                failure = problem;
                outcome = "stopped-on-bad-input";
                batch.lastPosition = record.position - 1;
                break;
            }
            progress.skipped++;
            batch.lastPosition = record.position;
            continue;
        }
        const identity = keyIdentity(table.spec, item);
        batch.items.delete(identity);
        batch.items.set(identity, { item, position: record.position, where: record.where });
        batch.lastPosition = record.position;
        if (batch.items.size >= batchSize) {
            await send(batch);
            batch = { items: new Map(), lastPosition: batch.lastPosition };
        }
    }
    if (outcome === "complete" && options.lastPositionRead) batch.lastPosition = Math.max(batch.lastPosition, options.lastPositionRead());
    // What was read before a stop is still written: nothing read is dropped silently.
    // A write failure may have come in from a batch in flight since the loop.
    const writeFailed = () => outcome === "write-failed";
    const halted = () => haltPosition !== undefined;
    if (!writeFailed() && !halted()) await send(batch);
    while (inFlight.size > 0) await Promise.race(inFlight);
    return { ...progress, outcome, failure };
}
