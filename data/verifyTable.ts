/**
 * Compares a table with a file of items: counts on both sides, and for every
 * key whether the item is missing from the table, extra in it, or different
 * (by a SHA-256 checksum of its canonical form: attribute and set order and
 * number spelling do not count). The file is read first into a map of key ->
 * checksum (a few hundred bytes an item), then the table is scanned in
 * parallel segments and checked off against it.
 */
import type { TableClient } from "./client";
import { scanAll } from "./exportTable";
import { itemChecksum } from "./itemFormat";
import { keyIdentity, type Item } from "./keys";
import type { LoadProblem, LoadRecord, OnError } from "./load";

export interface KeyReport {
    key: Record<string, string | number>;
    /** Where the file holds the item (missing and different items). */
    where?: string;
}

export interface VerifyReport {
    outcome: "verified" | "stopped-on-bad-input" | "interrupted";
    /** Distinct keys in the file (a key given twice counts once, the later record winning, as import does). */
    fileItems: number;
    tableItems: number;
    matching: number;
    missing: KeyReport[];
    extra: KeyReport[];
    different: KeyReport[];
    /** Records whose key an earlier record of the file already had. */
    duplicateKeysInFile: number;
    /** Bad records, skipped (`--on-error skip`) or the one that stopped the run. */
    invalid: LoadProblem[];
    /** XOR of the item checksums: equal digests mean equal contents, whatever the order. */
    fileDigest: string;
    tableDigest: string;
}

export interface VerifyOptions {
    table: TableClient;
    records: AsyncIterable<LoadRecord> | Iterable<LoadRecord>;
    onError: OnError;
    segments?: number;
    consistent?: boolean;
    signal?: AbortSignal;
    onProblem?(problem: LoadProblem): void;
    onProgress?(phase: "file" | "table", count: number): void;
}

class Digest {
    private readonly bytes = Buffer.alloc(32);
    add(checksumHex: string): void {
        const other = Buffer.from(checksumHex, "hex");
        for (let i = 0; i < 32; i++) this.bytes[i] ^= other[i];
    }
    hex(): string {
        return this.bytes.toString("hex");
    }
}

export async function verifyTable(options: VerifyOptions): Promise<VerifyReport> {
    const { table } = options;
    const expected = new Map<string, { checksum: string; where: string }>();
    const report: VerifyReport = {
        outcome: "verified",
        fileItems: 0,
        tableItems: 0,
        matching: 0,
        missing: [],
        extra: [],
        different: [],
        duplicateKeysInFile: 0,
        invalid: [],
        fileDigest: "",
        tableDigest: "",
    };
    let read = 0;
    for await (const record of options.records) {
        if (options.signal?.aborted) {
            report.outcome = "interrupted";
            return report;
        }
        let item: Item;
        try {
            item = record.read();
            table.checkItem(item);
        } catch (error) {
            const problem = { position: record.position, where: record.where, message: (error as Error).message };
            report.invalid.push(problem);
            options.onProblem?.(problem);
            if (options.onError === "stop") {
                report.outcome = "stopped-on-bad-input";
                return report;
            }
            continue;
        }
        const identity = keyIdentity(table.spec, item);
        if (expected.has(identity)) report.duplicateKeysInFile++;
        expected.set(identity, { checksum: itemChecksum(item), where: record.where });
        if (++read % 1000 === 0) options.onProgress?.("file", read);
    }
    report.fileItems = expected.size;
    const fileDigest = new Digest();
    for (const { checksum } of expected.values()) fileDigest.add(checksum);
    report.fileDigest = fileDigest.hex();

    const tableDigest = new Digest();
    const seen = new Set<string>();
    report.tableItems = await scanAll(
        table,
        (items) => {
            for (const item of items) {
                const identity = keyIdentity(table.spec, item);
                const checksum = itemChecksum(item);
                tableDigest.add(checksum);
                const wanted = expected.get(identity);
                if (!wanted) report.extra.push({ key: displayKey(table, identity) });
                else if (wanted.checksum !== checksum) report.different.push({ key: displayKey(table, identity), where: wanted.where });
                else report.matching++;
                seen.add(identity);
            }
            options.onProgress?.("table", seen.size);
        },
        { segments: options.segments, consistent: options.consistent, signal: options.signal },
    );
    if (options.signal?.aborted) report.outcome = "interrupted";
    report.tableDigest = tableDigest.hex();
    for (const [identity, { where }] of expected) {
        if (!seen.has(identity)) report.missing.push({ key: displayKey(table, identity), where });
    }
    return report;
}

/** The key of an identity, numbers as numbers where that is exact. */
function displayKey(table: TableClient, identity: string): Record<string, string | number> {
    const parts = JSON.parse(identity) as string[];
    const attributes = [table.spec.hashKey, ...(table.spec.rangeKey ? [table.spec.rangeKey] : [])];
    return Object.fromEntries(
        attributes.map((attribute, i) => {
            const part = parts[i];
            if (attribute.type === "N" && String(Number(part)) === part) return [attribute.name, Number(part)];
            return [attribute.name, part];
        }),
    );
}

export function differenceCount(report: VerifyReport): number {
    return report.missing.length + report.extra.length + report.different.length;
}
