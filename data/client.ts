/**
 * A typed client for one DynamoDB table, built from its TableSpec: the spec
 * says which attributes are keys, so the client checks items before writing
 * them, builds every key and expression itself, and knows the table's indexes.
 *
 *     const sessions = new TableClient<SessionItem>(sessionsTable, { prefix: "tollgate-dev", endpoint });
 *     await sessions.put(session, { ifNotExists: true });
 *     for await (const s of sessions.query({ index: "UserIdIndex", hashKey: userId, rangeKey: { gt: now } })) ...
 *
 * Batch calls chunk (100 keys / 25 writes a request), resend what DynamoDB
 * leaves unprocessed with exponential backoff and full jitter, and throw an
 * error saying how many items were not read or written after the last attempt.
 */
import {
    BatchGetCommand,
    BatchWriteCommand,
    DeleteCommand,
    GetCommand,
    PutCommand,
    QueryCommand,
    ScanCommand,
    TransactWriteCommand,
    UpdateCommand,
    type DynamoDBDocumentClient,
    type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { physicalTableName, type GlobalSecondaryIndexSpec, type TableSpec } from "../specs/tables";
import { forEachConcurrently, fullJitterDelay, isRetryableDynamoError, sleep as realSleep } from "./backoff";
import { changedAttributes, ExpressionBuilder, updateExpression, type Condition, type ItemChanges } from "./expressions";
import { checkItemKeys, checkKeyAttribute, ItemKeyError, keyIdentity, keyOf, type Item, type KeyValue, type TableKey } from "./keys";
import { createDocumentClient, DataSettingsError, resolveDataSettings, type DataSettings, type ResolvedDataSettings } from "./options";

export type { Condition, ItemChanges } from "./expressions";
export type { Item, KeyValue, TableKey } from "./keys";

export interface TableClientOptions extends DataSettings {
    /** The physical table name, when it does not follow `{prefix}-{spec.name}` (the Lambda reads it from its environment). */
    tableName?: string;
    /** Share one document client between tables (one per Lambda container). Unset: the client makes its own from the settings. */
    documentClient?: DynamoDBDocumentClient;
    /** Waits between batch retries; tests pass their own. */
    sleep?: (ms: number) => Promise<void>;
    /** Jitter source in [0, 1). */
    random?: () => number;
}

export interface ReadOptions {
    /** Strongly consistent read; default from the `consistentReads` setting. */
    consistent?: boolean;
    /** Only these attributes (a projection); key attributes are always included. */
    attributes?: string[];
}

export interface PutOptions {
    /** Refuse (ConditionFailedError) when an item with this key exists. */
    ifNotExists?: boolean;
    condition?: Condition;
}

export interface UpdateOptions {
    /** Refuse (ConditionFailedError) when no item has this key, instead of creating one. */
    ifExists?: boolean;
    condition?: Condition;
}

export interface DeleteOptions {
    /** Refuse (ConditionFailedError) when no item has this key. */
    ifExists?: boolean;
    condition?: Condition;
}

/** A condition on the range key of a query. */
export type RangeCondition =
    | { eq: KeyValue }
    | { lt: KeyValue }
    | { le: KeyValue }
    | { gt: KeyValue }
    | { ge: KeyValue }
    | { between: [KeyValue, KeyValue] }
    | { beginsWith: string };

export interface QueryInput {
    /** A global secondary index of the spec; unset: the table itself. */
    index?: string;
    /** Value of the (table's or index's) hash key. */
    hashKey: KeyValue;
    rangeKey?: RangeCondition;
    /** Applied by DynamoDB after reading: items it drops still cost read capacity. */
    filter?: Condition;
    /** Highest range key first. */
    descending?: boolean;
    /** Stop after this many items in all. */
    limit?: number;
    /** Items per request (DynamoDB's `Limit`). */
    pageSize?: number;
    /** Base table only; an index query asking for it is refused. */
    consistent?: boolean;
    attributes?: string[];
}

export interface ScanInput {
    /** Parallel scan: this worker's segment, 0-based, of `totalSegments`. */
    segment?: number;
    totalSegments?: number;
    pageSize?: number;
    consistent?: boolean;
    filter?: Condition;
}

export type WriteRequest<T extends Item = Item> = { put: T } | { delete: TableKey };

export interface BatchWriteOptions {
    /** Requests of 25 sent at once. Default 4. */
    concurrency?: number;
}

/** One write of a `transactWrite`; made by `txPut`, `txUpdate`, `txDelete`, `txCheck` of any table's client. */
export interface TransactOperation {
    description: string;
    request: NonNullable<TransactWriteCommandInput["TransactItems"]>[number];
}

export class ConditionFailedError extends Error {
    constructor(
        readonly table: string,
        readonly key: TableKey,
        readonly cause: unknown,
    ) {
        super(`${table}: the condition of the write to ${JSON.stringify(key, jsonSafe)} was not met`);
        this.name = "ConditionFailedError";
    }
}

export class BatchWriteError extends Error {
    constructor(
        readonly table: string,
        /** The requests that were not written; everything else was. */
        readonly notWritten: WriteRequest[],
        readonly total: number,
        readonly attempts: number,
        readonly cause?: unknown,
    ) {
        super(
            cause
                ? `${table}: ${notWritten.length} of ${total} items were not written (${(cause as Error).name ?? "error"}: ${(cause as Error).message ?? String(cause)})`
                : `${table}: ${notWritten.length} of ${total} items were not written after ${attempts} attempts (DynamoDB kept returning them as unprocessed: the table is throttled or over capacity)`,
        );
        this.name = "BatchWriteError";
    }
}

export class BatchGetError extends Error {
    constructor(
        readonly table: string,
        readonly notRead: TableKey[],
        readonly total: number,
        readonly attempts: number,
    ) {
        super(`${table}: ${notRead.length} of ${total} keys were not read after ${attempts} attempts (DynamoDB kept returning them as unprocessed)`);
        this.name = "BatchGetError";
    }
}

export class TransactionFailedError extends Error {
    constructor(
        /** Per operation, in order: the reason it failed, or undefined. */
        readonly reasons: ({ code: string; message?: string } | undefined)[],
        operations: TransactOperation[],
        readonly cause: unknown,
    ) {
        const failed = reasons
            .map((reason, i) => (reason ? `#${i + 1} ${operations[i]?.description ?? "?"}: ${reason.code}${reason.message ? ` (${reason.message})` : ""}` : ""))
            .filter(Boolean);
        super(`transaction cancelled, nothing written: ${failed.join("; ") || (cause as Error)?.message}`);
        this.name = "TransactionFailedError";
    }
}

function jsonSafe(_key: string, value: unknown): unknown {
    if (typeof value === "bigint") return value.toString();
    if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
    if (value && typeof value === "object" && "value" in value && value.constructor?.name === "NumberValue") return (value as { value: string }).value;
    return value;
}

const batchWriteLimit = 25;
const batchGetLimit = 100;
const transactionLimit = 100;

export class TableClient<T extends Item = Item> {
    readonly tableName: string;
    readonly documentClient: DynamoDBDocumentClient;
    readonly settings: ResolvedDataSettings;
    private readonly ownsClient: boolean;
    private readonly sleep: (ms: number) => Promise<void>;
    private readonly random: () => number;

    constructor(
        readonly spec: TableSpec,
        options: TableClientOptions = {},
    ) {
        this.settings = resolveDataSettings(options);
        if (!options.tableName && !this.settings.prefix) {
            throw new DataSettingsError(`prefix: required to name table '${spec.name}' (or give the client its tableName)`);
        }
        this.tableName = options.tableName ?? physicalTableName(this.settings.prefix!, spec);
        this.ownsClient = !options.documentClient;
        this.documentClient = options.documentClient ?? createDocumentClient(options);
        this.sleep = options.sleep ?? realSleep;
        this.random = options.random ?? Math.random;
    }

    /** Throws ItemKeyError naming the attribute unless the item's key attributes match the spec. */
    checkItem(item: Item): void {
        checkItemKeys(this.spec, item, this.tableName);
    }

    /** The key of an item (or of any object holding the key attributes), checked against the spec. */
    keyOf(itemOrKey: Item): TableKey {
        return keyOf(this.spec, itemOrKey, this.tableName);
    }

    async get(key: Item, options: ReadOptions = {}): Promise<T | undefined> {
        const builder = new ExpressionBuilder();
        const { Item: found } = await this.documentClient.send(
            new GetCommand({
                TableName: this.tableName,
                Key: this.keyOf(key),
                ConsistentRead: options.consistent ?? this.settings.consistentReads,
                ...this.projection(options.attributes, builder),
                ...builder.attributes(),
            }),
        );
        return found as T | undefined;
    }

    async put(item: T, options: PutOptions = {}): Promise<void> {
        this.checkItem(item);
        const builder = new ExpressionBuilder();
        const condition = this.condition(options.ifNotExists ? "attribute_not_exists" : undefined, options.condition, builder);
        try {
            await this.documentClient.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: condition, ...builder.attributes() }));
        } catch (error) {
            throw this.conditionError(error, item);
        }
    }

    /** Applies the changes and returns the item as it is afterwards. */
    async update(key: Item, changes: ItemChanges, options: UpdateOptions = {}): Promise<T> {
        const input = this.updateInput(key, changes, options);
        try {
            const { Attributes } = await this.documentClient.send(new UpdateCommand({ ...input, ReturnValues: "ALL_NEW" }));
            return Attributes as T;
        } catch (error) {
            throw this.conditionError(error, key);
        }
    }

    /** Deletes the item and returns it as it was (undefined when there was none). */
    async delete(key: Item, options: DeleteOptions = {}): Promise<T | undefined> {
        const builder = new ExpressionBuilder();
        const condition = this.condition(options.ifExists ? "attribute_exists" : undefined, options.condition, builder);
        try {
            const { Attributes } = await this.documentClient.send(
                new DeleteCommand({ TableName: this.tableName, Key: this.keyOf(key), ConditionExpression: condition, ReturnValues: "ALL_OLD", ...builder.attributes() }),
            );
            return Attributes as T | undefined;
        } catch (error) {
            throw this.conditionError(error, key);
        }
    }

    /** Items of one hash key (of the table or an index), page after page as they are iterated. */
    async *query(input: QueryInput): AsyncGenerator<T> {
        const index = input.index === undefined ? undefined : this.index(input.index);
        const hashKey = index?.hashKey ?? this.spec.hashKey;
        const rangeKey = index ? index.rangeKey : this.spec.rangeKey;
        if (index && input.consistent) {
            throw new ItemKeyError(this.tableName, hashKey.name, `index ${index.name}: global secondary indexes do not support consistent reads`);
        }
        checkKeyAttribute(this.tableName, { [hashKey.name]: input.hashKey }, hashKey, true, index ? `hash key of ${index.name}` : "hash key");
        const builder = new ExpressionBuilder();
        let keyCondition = `${builder.name(hashKey.name)} = ${builder.value(input.hashKey)}`;
        if (input.rangeKey) {
            if (!rangeKey) {
                throw new ItemKeyError(this.tableName, hashKey.name, `rangeKey: ${index ? `index ${index.name}` : "the table"} has no range key`);
            }
            keyCondition += ` AND ${rangeCondition(rangeKey.name, input.rangeKey, builder)}`;
        }
        const filter = input.filter ? builder.include(input.filter) : undefined;
        let remaining = input.limit ?? Infinity;
        let startKey: Record<string, unknown> | undefined;
        do {
            const page = await this.documentClient.send(
                new QueryCommand({
                    TableName: this.tableName,
                    IndexName: index?.name,
                    KeyConditionExpression: keyCondition,
                    FilterExpression: filter,
                    ScanIndexForward: !input.descending,
                    ConsistentRead: index ? undefined : (input.consistent ?? this.settings.consistentReads),
                    Limit: input.pageSize,
                    ExclusiveStartKey: startKey,
                    ...this.projection(input.attributes, builder, index),
                    ...builder.attributes(),
                }),
            );
            for (const item of page.Items ?? []) {
                if (remaining-- <= 0) return;
                yield item as T;
            }
            startKey = page.LastEvaluatedKey;
        } while (startKey && remaining > 0);
    }

    /** Every item (of one segment, for a parallel scan), a page at a time. */
    async *scanPages(input: ScanInput = {}): AsyncGenerator<T[]> {
        const builder = new ExpressionBuilder();
        const filter = input.filter ? builder.include(input.filter) : undefined;
        let startKey: Record<string, unknown> | undefined;
        do {
            const page = await this.documentClient.send(
                new ScanCommand({
                    TableName: this.tableName,
                    Segment: input.segment,
                    TotalSegments: input.totalSegments,
                    Limit: input.pageSize,
                    ConsistentRead: input.consistent ?? this.settings.consistentReads,
                    FilterExpression: filter,
                    ExclusiveStartKey: startKey,
                    ...builder.attributes(),
                }),
            );
            yield (page.Items ?? []) as T[];
            startKey = page.LastEvaluatedKey;
        } while (startKey);
    }

    /**
     * The items of these keys, in the order of the keys; absent ones are left
     * out. Reads 100 keys a request; throws BatchGetError after the last attempt.
     */
    async batchGet(keys: Item[], options: ReadOptions = {}): Promise<T[]> {
        const unique = new Map<string, TableKey>();
        for (const key of keys) {
            const tableKey = this.keyOf(key);
            unique.set(keyIdentity(this.spec, tableKey), tableKey);
        }
        const found = new Map<string, T>();
        const notRead: TableKey[] = [];
        const builder = new ExpressionBuilder();
        const projection = this.projection(options.attributes, builder);
        const chunks = chunk([...unique.values()], batchGetLimit);
        await forEachConcurrently(chunks, 4, async (chunkKeys) => {
            const left = await this.resendUnprocessed(chunkKeys, async (pending) => {
                const out = await this.documentClient.send(
                    new BatchGetCommand({
                        RequestItems: {
                            [this.tableName]: {
                                Keys: pending,
                                ConsistentRead: options.consistent ?? this.settings.consistentReads,
                                ...projection,
                                ...builder.attributes(),
                            },
                        },
                    }),
                );
                for (const item of out.Responses?.[this.tableName] ?? []) found.set(keyIdentity(this.spec, item), item as T);
                return (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as TableKey[];
            });
            notRead.push(...left);
        });
        if (notRead.length) throw new BatchGetError(this.tableName, notRead, unique.size, this.settings.maxAttempts);
        return [...unique.keys()].flatMap((identity) => (found.has(identity) ? [found.get(identity)!] : []));
    }

    /**
     * Puts and deletes, 25 a request, not atomically. When the same key comes
     * twice, the later request wins (DynamoDB refuses a batch holding a key
     * twice). Unprocessed items are resent with backoff up to `maxAttempts`
     * times; what is still left then is thrown as a BatchWriteError that
     * lists it. Every item checked against the spec before anything is sent.
     */
    async batchWrite(requests: WriteRequest<T>[], options: BatchWriteOptions = {}): Promise<{ written: number }> {
        const unique = new Map<string, WriteRequest>();
        for (const request of requests) {
            let identity: string;
            if ("put" in request) {
                this.checkItem(request.put);
                identity = keyIdentity(this.spec, request.put);
            } else {
                identity = keyIdentity(this.spec, this.keyOf(request.delete));
            }
            unique.delete(identity);
            unique.set(identity, request);
        }
        const notWritten: WriteRequest[] = [];
        let cause: unknown;
        await forEachConcurrently(chunk([...unique.values()], batchWriteLimit), options.concurrency ?? 4, async (requestsOfChunk) => {
            if (cause !== undefined) {
                notWritten.push(...requestsOfChunk);
                return;
            }
            try {
                notWritten.push(...(await this.writeChunk(requestsOfChunk)));
            } catch (error) {
                cause ??= error;
                notWritten.push(...requestsOfChunk);
            }
        });
        if (notWritten.length) throw new BatchWriteError(this.tableName, notWritten, unique.size, this.settings.maxAttempts, cause);
        return { written: unique.size };
    }

    /** Sends one chunk until DynamoDB has taken all of it or attempts run out; returns what was left. */
    private writeChunk(requests: WriteRequest[]): Promise<WriteRequest[]> {
        return this.resendUnprocessed(requests, async (pending) => {
            const out = await this.documentClient.send(
                new BatchWriteCommand({
                    RequestItems: {
                        [this.tableName]: pending.map((request) =>
                            "put" in request ? { PutRequest: { Item: request.put } } : { DeleteRequest: { Key: this.keyOf(request.delete) } },
                        ),
                    },
                }),
            );
            return (out.UnprocessedItems?.[this.tableName] ?? []).map((request) =>
                request.PutRequest ? { put: request.PutRequest.Item as Item } : { delete: request.DeleteRequest!.Key as TableKey },
            );
        });
    }

    /**
     * Sends `requests` with `send`, which returns what DynamoDB left
     * unprocessed, and resends that with backoff until nothing is left or
     * `maxAttempts` sends were made; returns what is left then. A retryable
     * error counts as nothing processed; any other is thrown.
     */
    private async resendUnprocessed<R>(requests: R[], send: (pending: R[]) => Promise<R[]>): Promise<R[]> {
        let pending = requests;
        for (let attempt = 1; ; attempt++) {
            let unprocessed: R[];
            try {
                unprocessed = await send(pending);
            } catch (error) {
                if (!isRetryableDynamoError(error)) throw error;
                unprocessed = pending;
            }
            if (unprocessed.length === 0) return [];
            if (attempt >= this.settings.maxAttempts) return unprocessed;
            await this.sleep(fullJitterDelay(attempt, { ...this.settings, random: this.random }));
            pending = unprocessed;
        }
    }

    /** A put for `transactWrite`. */
    txPut(item: T, options: PutOptions = {}): TransactOperation {
        this.checkItem(item);
        const builder = new ExpressionBuilder();
        const condition = this.condition(options.ifNotExists ? "attribute_not_exists" : undefined, options.condition, builder);
        return {
            description: `put ${this.tableName} ${JSON.stringify(this.keyOf(item), jsonSafe)}`,
            request: { Put: { TableName: this.tableName, Item: item, ConditionExpression: condition, ...builder.attributes() } },
        };
    }

    txUpdate(key: Item, changes: ItemChanges, options: UpdateOptions = {}): TransactOperation {
        const input = this.updateInput(key, changes, options);
        return { description: `update ${this.tableName} ${JSON.stringify(input.Key, jsonSafe)}`, request: { Update: input } };
    }

    txDelete(key: Item, options: DeleteOptions = {}): TransactOperation {
        const builder = new ExpressionBuilder();
        const condition = this.condition(options.ifExists ? "attribute_exists" : undefined, options.condition, builder);
        const tableKey = this.keyOf(key);
        return {
            description: `delete ${this.tableName} ${JSON.stringify(tableKey, jsonSafe)}`,
            request: { Delete: { TableName: this.tableName, Key: tableKey, ConditionExpression: condition, ...builder.attributes() } },
        };
    }

    /** A condition on an item the transaction does not write. */
    txCheck(key: Item, condition: Condition): TransactOperation {
        const builder = new ExpressionBuilder();
        const tableKey = this.keyOf(key);
        return {
            description: `check ${this.tableName} ${JSON.stringify(tableKey, jsonSafe)}`,
            request: { ConditionCheck: { TableName: this.tableName, Key: tableKey, ConditionExpression: builder.include(condition), ...builder.attributes() } },
        };
    }

    /** All of the operations or none (they may span tables of the same document client). */
    transactWrite(operations: TransactOperation[], options: { clientRequestToken?: string } = {}): Promise<void> {
        return transactWrite(this.documentClient, operations, options);
    }

    /** Closes the HTTP connections of a document client this client made itself. */
    close(): void {
        if (this.ownsClient) this.documentClient.destroy();
    }

    private index(name: string): GlobalSecondaryIndexSpec {
        const index = this.spec.globalSecondaryIndexes?.find((candidate) => candidate.name === name);
        if (!index) {
            const known = (this.spec.globalSecondaryIndexes ?? []).map((candidate) => candidate.name);
            throw new ItemKeyError(this.tableName, name, `index: no index '${name}' (indexes: ${known.join(", ") || "none"})`);
        }
        return index;
    }

    private condition(existence: "attribute_exists" | "attribute_not_exists" | undefined, custom: Condition | undefined, builder: ExpressionBuilder) {
        const parts: string[] = [];
        if (existence) parts.push(`${existence}(${builder.name(this.spec.hashKey.name)})`);
        if (custom) parts.push(builder.include(custom));
        return parts.length ? parts.join(" AND ") : undefined;
    }

    private updateInput(key: Item, changes: ItemChanges, options: UpdateOptions) {
        const tableKey = this.keyOf(key);
        const keyNames = new Set([this.spec.hashKey.name, this.spec.rangeKey?.name]);
        for (const attribute of changedAttributes(changes)) {
            if (keyNames.has(attribute)) throw new ItemKeyError(this.tableName, attribute, `update: '${attribute}' is a key attribute and cannot be changed`);
        }
        const builder = new ExpressionBuilder();
        const expression = updateExpression(changes, builder);
        if (!expression) throw new ItemKeyError(this.tableName, this.spec.hashKey.name, "update: no changes given (set, setIfNotExists, add or remove)");
        const condition = this.condition(options.ifExists ? "attribute_exists" : undefined, options.condition, builder);
        return { TableName: this.tableName, Key: tableKey, UpdateExpression: expression, ConditionExpression: condition, ...builder.attributes() };
    }

    private projection(attributes: string[] | undefined, builder: ExpressionBuilder, index?: GlobalSecondaryIndexSpec) {
        if (!attributes?.length) return {};
        const keys = [this.spec.hashKey, this.spec.rangeKey, index?.hashKey, index?.rangeKey].flatMap((key) => (key ? [key.name] : []));
        const names = [...new Set([...keys, ...attributes])];
        return { ProjectionExpression: names.map((name) => builder.name(name)).join(", ") };
    }

    private conditionError(error: unknown, key: Item): unknown {
        if ((error as Error)?.name === "ConditionalCheckFailedException") return new ConditionFailedError(this.tableName, this.keyOf(key), error);
        return error;
    }
}

function rangeCondition(attribute: string, condition: RangeCondition, builder: ExpressionBuilder): string {
    const name = builder.name(attribute);
    if ("eq" in condition) return `${name} = ${builder.value(condition.eq)}`;
    if ("lt" in condition) return `${name} < ${builder.value(condition.lt)}`;
    if ("le" in condition) return `${name} <= ${builder.value(condition.le)}`;
    if ("gt" in condition) return `${name} > ${builder.value(condition.gt)}`;
    if ("ge" in condition) return `${name} >= ${builder.value(condition.ge)}`;
    if ("between" in condition) return `${name} BETWEEN ${builder.value(condition.between[0])} AND ${builder.value(condition.between[1])}`;
    return `begins_with(${name}, ${builder.value(condition.beginsWith)})`;
}

function chunk<T>(items: T[], size: number): T[][] {
    const chunks: T[][] = [];
    for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
    return chunks;
}

/** Writes all of the operations or none; a cancelled transaction is a TransactionFailedError saying which operation failed and why. */
export async function transactWrite(
    documentClient: DynamoDBDocumentClient,
    operations: TransactOperation[],
    options: { clientRequestToken?: string } = {},
): Promise<void> {
    if (operations.length === 0) return;
    if (operations.length > transactionLimit) {
        throw new RangeError(`transactWrite: ${operations.length} operations given; DynamoDB takes at most ${transactionLimit} in one transaction`);
    }
    try {
        await documentClient.send(
            new TransactWriteCommand({ TransactItems: operations.map((operation) => operation.request), ClientRequestToken: options.clientRequestToken }),
        );
    } catch (error) {
        if ((error as Error)?.name !== "TransactionCanceledException") throw error;
        const reasons = ((error as { CancellationReasons?: { Code?: string; Message?: string }[] }).CancellationReasons ?? []).map((reason) =>
            reason.Code && reason.Code !== "None" ? { code: reason.Code, message: reason.Message } : undefined,
        );
        throw new TransactionFailedError(reasons, operations, error);
    }
}
