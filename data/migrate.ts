/**
 * `migrate`: moves a JSON document database (json-server's `db.json`:
 * `{ "users": [...], "threads": [...], "posts": [...] }`) into tables, one
 * collection a table, as a mapping file says.
 *
 * The mapping file (YAML or JSON) maps each collection to a table spec name,
 * either directly or with attribute changes applied in this order:
 *
 *     users: users                      # collection -> table, items as they are
 *     posts:
 *       table: posts
 *       omit: [draft]                   # attributes left out
 *       rename: { threadId: thread_id } # db.json name -> table name
 *       coerce: { id: string, created_at: epochSeconds }  # table name -> type
 *
 * Coercions: `string`, `number`, `boolean`, `epochSeconds` (an ISO date or
 * date-time string, or a number of seconds, to whole epoch seconds; what TTL
 * attributes need).
 */
import * as fs from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { Item } from "./keys";
import type { LoadRecord } from "./load";

export const coercions = ["string", "number", "boolean", "epochSeconds"] as const;
export type Coercion = (typeof coercions)[number];

// `users: users` is short for `users: { table: users }`; expanding it first keeps errors pointed at the field.
const collectionMapping = z.preprocess(
    (value) => (typeof value === "string" ? { table: value } : value),
    z.strictObject({
        table: z.string().min(1),
        omit: z.array(z.string().min(1)).default([]),
        rename: z.record(z.string().min(1), z.string().min(1)).default({}),
        coerce: z.record(z.string().min(1), z.enum(coercions)).default({}),
    }),
);

export const mappingSchema = z.record(z.string().min(1), collectionMapping).refine((mapping) => Object.keys(mapping).length > 0, "maps no collection");

export interface CollectionMapping {
    collection: string;
    table: string;
    omit: string[];
    rename: Record<string, string>;
    coerce: Record<string, Coercion>;
}

export class MappingError extends Error {
    constructor(readonly problems: string[]) {
        super(problems.length === 1 ? problems[0] : `invalid mapping:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "MappingError";
    }
}

/** Reads and checks a mapping file; every problem names the file and the key. */
export function readMapping(file: string): CollectionMapping[] {
    let raw: unknown;
    try {
        raw = parseYaml(fs.readFileSync(file, "utf8"));
    } catch (error) {
        throw new MappingError([`${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `is not valid YAML or JSON (${(error as Error).message.split("\n")[0]})`}`]);
    }
    const parsed = mappingSchema.safeParse(raw ?? {});
    if (!parsed.success) {
        throw new MappingError(parsed.error.issues.map((issue) => `${file}: ${issue.path.length ? `${issue.path.join(".")}: ` : ""}${issue.message}`));
    }
    return Object.entries(parsed.data).map(([collection, mapping]) => ({ collection, ...mapping }));
}

/** The collections of a db.json file; throws naming the file or collection when it does not have that shape. */
export function readDocumentDatabase(file: string): Record<string, unknown[]> {
    let document: unknown;
    try {
        document = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (error) {
        throw new MappingError([`${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `is not valid JSON (${(error as Error).message})`}`]);
    }
    if (document === null || typeof document !== "object" || Array.isArray(document)) {
        throw new MappingError([`${file}: expected an object of collections ({ "users": [...], ... })`]);
    }
    return document as Record<string, unknown[]>;
}

export function coerce(value: unknown, to: Coercion): unknown {
    if (value === null || value === undefined) return value;
    switch (to) {
        case "string":
            if (typeof value === "string") return value;
            if (typeof value === "number" || typeof value === "boolean") return String(value);
            break;
        case "number":
            if (typeof value === "number") return value;
            if (typeof value === "string" && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value)) return Number(value);
            break;
        case "boolean":
            if (typeof value === "boolean") return value;
            if (value === "true" || value === 1) return true;
            if (value === "false" || value === 0) return false;
            break;
        case "epochSeconds":
            if (typeof value === "number" && Number.isFinite(value)) return Math.floor(value);
            if (typeof value === "string") {
                const millis = Date.parse(value);
                if (!Number.isNaN(millis)) return Math.floor(millis / 1000);
            }
            break;
    }
    throw new Error(`cannot be coerced to ${to}: ${JSON.stringify(value)}`);
}

/** The item a db.json record becomes under its collection's mapping. */
export function mapRecord(record: unknown, mapping: CollectionMapping): Item {
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
        throw new Error(`a record must be an object, got ${record === null ? "null" : Array.isArray(record) ? "a list" : typeof record}`);
    }
    const item: Item = {};
    for (const [name, value] of Object.entries(record)) {
        if (mapping.omit.includes(name)) continue;
        item[mapping.rename[name] ?? name] = value;
    }
    for (const [name, to] of Object.entries(mapping.coerce)) {
        try {
            if (name in item) item[name] = coerce(item[name], to);
        } catch (error) {
            throw new Error(`attribute '${name}' ${(error as Error).message}`);
        }
    }
    return item;
}

/** Load records of one collection: position is the record's index + 1, `where` reads `users[3]`. */
export function collectionRecords(collection: string, records: unknown[], mapping: CollectionMapping): LoadRecord[] {
    return records.map((record, index) => ({
        position: index + 1,
        where: `${collection}[${index}]`,
        read: () => mapRecord(record, mapping),
    }));
}
