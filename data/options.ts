/**
 * The storage settings of every table client: which tables (prefix), where
 * (endpoint, region), how reads behave (consistency) and how hard to retry
 * (attempts and backoff). One typed object, defaults applied in one place
 * (`resolveDataSettings`), shared by the session store, the data tools and
 * anything else that reads or writes tollgate's tables.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export interface Credentials {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
}

export interface DataSettings {
    /**
     * Prefix of physical table names: the table of spec `users` is `{prefix}-users`.
     * The stack's `tollgate:prefix`. Not needed when a client is given its `tableName`.
     * @example "tollgate-dev"
     */
    prefix?: string;
    /**
     * DynamoDB endpoint override. Unset: the AWS regional endpoint.
     * @example "http://127.0.0.1:8000" (the `npm start` store, DynamoDB Local)
     */
    endpoint?: string;
    /** AWS region. Unset: the SDK's own lookup (`AWS_REGION`, profile); `us-east-1` with an endpoint override. */
    region?: string;
    /** Credentials. Unset: the SDK's default provider chain. Local stores accept any pair. */
    credentials?: Credentials;
    /**
     * Strongly consistent reads for `get`, `batchGet`, `scan` and base-table `query`
     * unless a call says otherwise. Index queries are always eventually consistent
     * (GSIs offer nothing else). Default `false`.
     */
    consistentReads?: boolean;
    /**
     * Attempts per request, the first included. Applies twice: the SDK retries
     * throttling, 5xx and network errors of each request up to this many times,
     * and `batchGet`/`batchWrite` resend unprocessed keys/items up to this many
     * times. Default 5.
     */
    maxAttempts?: number;
    /** Backoff of batch retries, full jitter: wait random(0, min(maxDelayMs, baseDelayMs * 2^retry)). Default 50 ms. */
    baseDelayMs?: number;
    /** Ceiling of one backoff wait. Default 5000 ms. */
    maxDelayMs?: number;
    /** Give up on one HTTP request after this long (then the SDK retries it). Default: the SDK's (none). */
    requestTimeoutMs?: number;
    /**
     * Read numbers as `NumberValue` (the exact decimal string) instead of JS numbers,
     * so values beyond 2^53 or 15 significant digits survive a read-write round trip.
     * The data tools turn it on. Default `false`.
     */
    exactNumbers?: boolean;
}

export interface ResolvedDataSettings {
    prefix?: string;
    endpoint?: string;
    region?: string;
    credentials?: Credentials;
    consistentReads: boolean;
    maxAttempts: number;
    baseDelayMs: number;
    maxDelayMs: number;
    requestTimeoutMs?: number;
    exactNumbers: boolean;
}

export const dataSettingDefaults = {
    consistentReads: false,
    maxAttempts: 5,
    baseDelayMs: 50,
    maxDelayMs: 5000,
    exactNumbers: false,
} as const;

export class DataSettingsError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "DataSettingsError";
    }
}

export function resolveDataSettings(settings: DataSettings = {}): ResolvedDataSettings {
    const resolved: ResolvedDataSettings = {
        ...settings,
        consistentReads: settings.consistentReads ?? dataSettingDefaults.consistentReads,
        maxAttempts: settings.maxAttempts ?? dataSettingDefaults.maxAttempts,
        baseDelayMs: settings.baseDelayMs ?? dataSettingDefaults.baseDelayMs,
        maxDelayMs: settings.maxDelayMs ?? dataSettingDefaults.maxDelayMs,
        exactNumbers: settings.exactNumbers ?? dataSettingDefaults.exactNumbers,
    };
    if (!Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) {
        throw new DataSettingsError(`maxAttempts: must be a whole number of at least 1, got ${settings.maxAttempts}`);
    }
    for (const key of ["baseDelayMs", "maxDelayMs"] as const) {
        if (!(resolved[key] >= 0)) throw new DataSettingsError(`${key}: must be 0 or more, got ${settings[key]}`);
    }
    if (resolved.endpoint !== undefined) {
        try {
            new URL(resolved.endpoint);
        } catch {
            throw new DataSettingsError(`endpoint: '${resolved.endpoint}' is not a URL`);
        }
    }
    return resolved;
}

/** The low-level client of the settings (what `createTable`-style calls need). */
export function createDynamoClient(settings: DataSettings = {}): DynamoDBClient {
    const resolved = resolveDataSettings(settings);
    return new DynamoDBClient({
        endpoint: resolved.endpoint,
        region: resolved.region ?? (resolved.endpoint ? "us-east-1" : undefined),
        credentials: resolved.credentials,
        maxAttempts: resolved.maxAttempts,
        ...(resolved.requestTimeoutMs ? { requestHandler: { requestTimeout: resolved.requestTimeoutMs } } : {}),
    });
}

/**
 * One document client for any number of table clients. Writes drop
 * `undefined` attributes (as DynamoDB has no such value); reads keep numbers
 * exact when `exactNumbers` is set.
 */
export function createDocumentClient(settings: DataSettings = {}, client: DynamoDBClient = createDynamoClient(settings)): DynamoDBDocumentClient {
    return DynamoDBDocumentClient.from(client, {
        marshallOptions: { removeUndefinedValues: true },
        unmarshallOptions: { wrapNumbers: resolveDataSettings(settings).exactNumbers },
    });
}
