/**
 * Items and keys checked against a table spec before DynamoDB sees them, so a
 * missing or mistyped key attribute is reported by name (DynamoDB's own
 * message, "The provided key element does not match the schema", names none).
 */
import { NumberValue } from "@aws-sdk/lib-dynamodb";
import type { KeyAttribute, KeyType, TableSpec } from "../specs/tables";

/** A native item as the document client reads and writes it. */
export type Item = Record<string, unknown>;
/** A native key scalar: S -> string, N -> number | bigint | NumberValue, B -> bytes. */
export type KeyValue = string | number | bigint | NumberValue | Uint8Array;
export type TableKey = Record<string, KeyValue>;

export class ItemKeyError extends Error {
    constructor(
        readonly table: string,
        /** The key attribute at fault. */
        readonly attribute: string,
        problem: string,
    ) {
        super(`${table}: ${problem}`);
        this.name = "ItemKeyError";
    }
}

const typeNames: Record<KeyType, string> = { S: "a non-empty string (S)", N: "a number (N)", B: "non-empty binary (B)" };

function describe(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return "a list";
    if (value instanceof Uint8Array) return `binary of ${value.length} bytes`;
    if (value instanceof NumberValue) return "a number";
    if (typeof value === "string") return value === "" ? "an empty string" : "a string";
    return `a ${typeof value}`;
}

function hasKeyType(value: unknown, type: KeyType): boolean {
    switch (type) {
        case "S":
            return typeof value === "string" && value.length > 0;
        case "N":
            return (typeof value === "number" && Number.isFinite(value)) || typeof value === "bigint" || value instanceof NumberValue;
        case "B":
            return value instanceof Uint8Array && value.length > 0;
    }
}

/** Throws ItemKeyError unless `item` holds `attribute` with its declared type (or, when not required, lacks it). */
export function checkKeyAttribute(table: string, item: Item, attribute: KeyAttribute, required: boolean, role: string): void {
    const value = item[attribute.name];
    if (value === undefined) {
        if (required) throw new ItemKeyError(table, attribute.name, `item has no key attribute '${attribute.name}' (${role}, ${attribute.type})`);
        return;
    }
    if (!hasKeyType(value, attribute.type)) {
        throw new ItemKeyError(table, attribute.name, `key attribute '${attribute.name}' (${role}) must be ${typeNames[attribute.type]}, got ${describe(value)}`);
    }
}

/**
 * Throws ItemKeyError unless the item has the table's key attributes with the
 * declared types. Index key attributes may be absent (the item is then not
 * in that index) but must have the declared type when present: DynamoDB
 * rejects the whole write otherwise.
 */
export function checkItemKeys(spec: TableSpec, item: Item, table = spec.name): void {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
        throw new ItemKeyError(table, spec.hashKey.name, `an item must be an object, got ${describe(item)}`);
    }
    checkKeyAttribute(table, item, spec.hashKey, true, "hash key");
    if (spec.rangeKey) checkKeyAttribute(table, item, spec.rangeKey, true, "range key");
    for (const index of spec.globalSecondaryIndexes ?? []) {
        checkKeyAttribute(table, item, index.hashKey, false, `hash key of ${index.name}`);
        if (index.rangeKey) checkKeyAttribute(table, item, index.rangeKey, false, `range key of ${index.name}`);
    }
}

/** The table key of an item or key-like object (other attributes are left out), checked against the spec. */
export function keyOf(spec: TableSpec, itemOrKey: Item, table = spec.name): TableKey {
    if (itemOrKey === null || typeof itemOrKey !== "object" || Array.isArray(itemOrKey)) {
        throw new ItemKeyError(table, spec.hashKey.name, `a key must be an object, got ${describe(itemOrKey)}`);
    }
    checkKeyAttribute(table, itemOrKey, spec.hashKey, true, "hash key");
    const key: TableKey = { [spec.hashKey.name]: itemOrKey[spec.hashKey.name] as KeyValue };
    if (spec.rangeKey) {
        checkKeyAttribute(table, itemOrKey, spec.rangeKey, true, "range key");
        key[spec.rangeKey.name] = itemOrKey[spec.rangeKey.name] as KeyValue;
    }
    return key;
}

/**
 * A string that is equal for two keys exactly when DynamoDB would consider
 * them the same item (numbers compared by value: `1.50` and `1.5` match).
 */
export function keyIdentity(spec: TableSpec, key: Item): string {
    const part = (attribute: KeyAttribute) => {
        const value = key[attribute.name];
        if (attribute.type === "N") return canonicalNumber(String(value instanceof NumberValue ? value.toString() : value));
        if (attribute.type === "B") return Buffer.from(value as Uint8Array).toString("base64");
        return String(value);
    };
    return JSON.stringify(spec.rangeKey ? [part(spec.hashKey), part(spec.rangeKey)] : [part(spec.hashKey)]);
}

/**
 * The canonical text of a DynamoDB number: no leading or trailing zeros, no
 * exponent, `-0` as `0`. DynamoDB compares and stores numbers by value, so
 * `1.50`, `1.5` and `15E-1` are one number; this makes them one string.
 */
export function canonicalNumber(text: string): string {
    const match = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(text);
    if (!match || (match[2] === "" && (match[3] ?? "") === "")) return text;
    const [, sign, whole, fraction = "", exponentText = "0"] = match;
    let digits = whole + fraction;
    let pointAt = whole.length + Number(exponentText);
    const leading = digits.length - digits.replace(/^0+/, "").length;
    digits = digits.slice(leading);
    pointAt -= leading;
    digits = digits.replace(/0+$/, "");
    if (digits === "") return "0";
    let body: string;
    if (pointAt <= 0) body = `0.${"0".repeat(-pointAt)}${digits}`;
    else if (pointAt >= digits.length) body = digits + "0".repeat(pointAt - digits.length);
    else body = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
    return (sign === "-" ? "-" : "") + body;
}
