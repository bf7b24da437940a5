/**
 * How items look in files, and what of an item is compared and measured.
 *
 * Two formats, one item a line:
 * - `dynamodb`: `{"Item":{"id":{"S":"u1"},"age":{"N":"42"}}}`, the format of
 *   DynamoDB's own export to S3 (binary as base64). Lossless: sets, binary
 *   and numbers of any precision survive. What `export` writes by default.
 * - `plain`: `{"id":"u1","age":42}`, what people write by hand. Numbers are
 *   JS numbers, there are no sets and no binary.
 * `auto` (reading only) takes a line of the shape `{"Item":{...attribute values...}}`
 * as DynamoDB JSON and anything else as plain.
 */
import { createHash } from "node:crypto";
import { NumberValue } from "@aws-sdk/lib-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { canonicalNumber, type Item } from "./keys";

export type ItemFormat = "auto" | "plain" | "dynamodb";
export const itemFormats: readonly ItemFormat[] = ["auto", "plain", "dynamodb"];

/** DynamoDB's limit on one item, names and values together. */
export const maxItemBytes = 400 * 1024;

const typeTags = new Set(["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"]);

export class ItemFormatError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ItemFormatError";
    }
}

function isObject(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isAttributeValue(value: unknown): boolean {
    if (!isObject(value)) return false;
    const tags = Object.keys(value);
    return tags.length === 1 && typeTags.has(tags[0]);
}

function looksLikeDynamoJson(value: unknown): value is { Item: Record<string, unknown> } {
    return isObject(value) && Object.keys(value).length === 1 && isObject(value.Item) && Object.values(value.Item).every(isAttributeValue);
}

/** Base64 `B`/`BS` values of DynamoDB JSON as bytes, recursively, checking every type tag. */
function decodeAttributeValue(value: unknown, path: string): AttributeValue {
    if (!isAttributeValue(value)) throw new ItemFormatError(`${path}: not a DynamoDB attribute value (one of ${[...typeTags].join(", ")} as the only key)`);
    const [tag, inner] = Object.entries(value as Record<string, unknown>)[0];
    const bytes = (text: unknown, at: string) => {
        if (typeof text !== "string") throw new ItemFormatError(`${at}: binary must be a base64 string`);
        return Buffer.from(text, "base64");
    };
    switch (tag) {
        case "B":
            return { B: bytes(inner, path) };
        case "BS":
            if (!Array.isArray(inner)) throw new ItemFormatError(`${path}.BS: must be a list`);
            return { BS: inner.map((element, i) => bytes(element, `${path}.BS[${i}]`)) };
        case "M":
            if (!isObject(inner)) throw new ItemFormatError(`${path}.M: must be an object`);
            return { M: Object.fromEntries(Object.entries(inner).map(([name, element]) => [name, decodeAttributeValue(element, `${path}.${name}`)])) };
        case "L":
            if (!Array.isArray(inner)) throw new ItemFormatError(`${path}.L: must be a list`);
            return { L: inner.map((element, i) => decodeAttributeValue(element, `${path}[${i}]`)) };
        default:
            return value as AttributeValue;
    }
}

/** The native item (numbers exact, as NumberValue) of a DynamoDB JSON attribute map. */
export function fromDynamoJson(attributes: Record<string, unknown>): Item {
    const decoded = Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, decodeAttributeValue(value, name)]));
    try {
        return unmarshall(decoded, { wrapNumbers: true });
    } catch (error) {
        throw new ItemFormatError(`not a valid DynamoDB item: ${(error as Error).message}`);
    }
}

/** An item as read from a file: the parsed JSON value, in the given format. */
export function itemFromJson(value: unknown, format: ItemFormat): Item {
    if (format !== "plain" && looksLikeDynamoJson(value)) return fromDynamoJson(value.Item);
    if (format === "dynamodb") {
        if (isObject(value) && isObject(value.Item)) return fromDynamoJson(value.Item);
        if (isObject(value)) return fromDynamoJson(value);
        throw new ItemFormatError(`expected a DynamoDB JSON item ({"Item":{...}}), got ${Array.isArray(value) ? "a list" : typeof value}`);
    }
    if (!isObject(value)) throw new ItemFormatError(`an item must be a JSON object, got ${value === null ? "null" : Array.isArray(value) ? "a list" : typeof value}`);
    return value;
}

/** The DynamoDB JSON form of a native item, binary as base64. */
export function toAttributeMap(item: Item): Record<string, AttributeValue> {
    return marshall(item, { removeUndefinedValues: true });
}

function jsonAttributeValue(value: AttributeValue): unknown {
    if (value.B) return { B: Buffer.from(value.B).toString("base64") };
    if (value.BS) return { BS: value.BS.map((bytes) => Buffer.from(bytes).toString("base64")) };
    if (value.M) return { M: Object.fromEntries(Object.entries(value.M).map(([name, inner]) => [name, jsonAttributeValue(inner)])) };
    if (value.L) return { L: value.L.map(jsonAttributeValue) };
    return value;
}

/** Plain JSON of a native item: sets as lists, binary as base64, exact numbers as numbers where that loses nothing. */
function plainValue(value: unknown): unknown {
    if (value instanceof NumberValue) {
        const asNumber = Number(value.toString());
        return canonicalNumber(String(asNumber)) === canonicalNumber(value.toString()) ? asNumber : value.toString();
    }
    if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
    if (value instanceof Set) return [...value].map(plainValue);
    if (typeof value === "bigint") return value.toString();
    if (Array.isArray(value)) return value.map(plainValue);
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([name, inner]) => [name, plainValue(inner)]));
    return value;
}

/** One line of an export file, newline included. */
export function itemToLine(item: Item, format: Exclude<ItemFormat, "auto">): string {
    if (format === "plain") return `${JSON.stringify(plainValue(item))}\n`;
    const attributes = toAttributeMap(item);
    return `${JSON.stringify({ Item: Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, jsonAttributeValue(value)])) })}\n`;
}

/**
 * Text that is equal for two items exactly when DynamoDB holds the same
 * item: attribute order, set order and number spelling (`1.50`/`1.5`) do
 * not matter; types do (`"1"` is not `1`).
 */
function canonicalText(value: AttributeValue): string {
    if (value.S !== undefined) return `S${JSON.stringify(value.S)}`;
    if (value.N !== undefined) return `N${canonicalNumber(value.N)}`;
    if (value.B !== undefined) return `B${Buffer.from(value.B).toString("base64")}`;
    if (value.BOOL !== undefined) return `BOOL${value.BOOL}`;
    if (value.NULL !== undefined) return "NULL";
    if (value.SS) return `SS[${[...value.SS].sort().map((s) => JSON.stringify(s)).join(",")}]`;
    if (value.NS) return `NS[${value.NS.map(canonicalNumber).sort().join(",")}]`;
    if (value.BS) return `BS[${value.BS.map((bytes) => Buffer.from(bytes).toString("base64")).sort().join(",")}]`;
    if (value.L) return `L[${value.L.map(canonicalText).join(",")}]`;
    if (value.M) return `M{${canonicalMap(value.M)}}`;
    throw new ItemFormatError(`unknown attribute value ${JSON.stringify(value)}`);
}

function canonicalMap(attributes: Record<string, AttributeValue>): string {
    return Object.keys(attributes)
        .sort()
        .map((name) => `${JSON.stringify(name)}:${canonicalText(attributes[name])}`)
        .join(",");
}

/** SHA-256 (hex) of the item's canonical form. */
export function itemChecksum(item: Item): string {
    return createHash("sha256").update(canonicalMap(toAttributeMap(item))).digest("hex");
}

/**
 * The item's size as DynamoDB counts it against the 400 KB limit: UTF-8
 * lengths of names and strings, bytes of binary, about one byte per two
 * digits of a number, and 3 bytes plus one per element for lists and maps.
 */
export function itemSize(item: Item): number {
    return Object.entries(toAttributeMap(item)).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + attributeSize(value), 0);
}

function numberSize(text: string): number {
    const digits = canonicalNumber(text).replace(/[-.]/g, "").replace(/^0+/, "");
    return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

function attributeSize(value: AttributeValue): number {
    if (value.S !== undefined) return Buffer.byteLength(value.S);
    if (value.N !== undefined) return numberSize(value.N);
    if (value.B !== undefined) return value.B.length;
    if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
    if (value.SS) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
    if (value.NS) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
    if (value.BS) return value.BS.reduce((sum, bytes) => sum + bytes.length, 0);
    if (value.L) return 3 + value.L.reduce((sum, element) => sum + 1 + attributeSize(element), 0);
    if (value.M) return 3 + Object.entries(value.M).reduce((sum, [name, element]) => sum + 1 + Buffer.byteLength(name) + attributeSize(element), 0);
    return 0;
}
