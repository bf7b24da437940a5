/**
 * Reads a whole table with a parallel scan: `segments` workers each scan
 * their own part of the key space (DynamoDB's Segment/TotalSegments), so a
 * large table is read at several times the speed of one scan.
 */
import type { TableClient } from "./client";
import { itemToLine, type ItemFormat } from "./itemFormat";
import type { Item } from "./keys";

export interface ScanAllOptions {
    /** Parallel scan workers. Default 4. */
    segments?: number;
    /** Items per Scan request. */
    pageSize?: number;
    consistent?: boolean;
    /** Stops after the pages being read. */
    signal?: AbortSignal;
}

/** Calls `onPage` with every page of the table, from `segments` scans at once; returns the item count. */
export async function scanAll(table: TableClient, onPage: (items: Item[]) => void | Promise<void>, options: ScanAllOptions = {}): Promise<number> {
    const totalSegments = Math.max(1, options.segments ?? 4);
    let count = 0;
    await Promise.all(
        Array.from({ length: totalSegments }, async (_, segment) => {
            const pages = table.scanPages({
                segment: totalSegments > 1 ? segment : undefined,
                totalSegments: totalSegments > 1 ? totalSegments : undefined,
                pageSize: options.pageSize,
                consistent: options.consistent,
            });
            for await (const items of pages) {
                count += items.length;
                await onPage(items);
                if (options.signal?.aborted) break;
            }
        }),
    );
    return count;
}

export interface ExportOptions extends ScanAllOptions {
    format?: Exclude<ItemFormat, "auto">;
    onProgress?(exported: number): void;
}

/** Writes every item of the table to `out` as JSON lines (DynamoDB JSON unless `format` is plain); returns the count. */
export async function exportTable(table: TableClient, out: NodeJS.WritableStream, options: ExportOptions = {}): Promise<number> {
    let exported = 0;
    const count = await scanAll(
        table,
        async (items) => {
            if (items.length === 0) return;
            // One write per page: lines of concurrent segments never interleave.
            const text = items.map((item) => itemToLine(item, options.format ?? "dynamodb")).join("");
            exported += items.length;
            if (!out.write(text)) await new Promise<void>((resolve) => out.once("drain", resolve));
            options.onProgress?.(exported);
        },
        options,
    );
    return count;
}
