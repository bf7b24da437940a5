/**
 * AWS's JSON protocols spoken directly: `POST /` with
 * `X-Amz-Target: <prefix>.<Operation>` (DynamoDB's JSON 1.0, Secrets
 * Manager's JSON 1.1), signed with Signature Version 4, over the runtime's
 * keep-alive HTTP client (upstream/client.ts). The Lambda loads no AWS SDK
 * client: the SDK's DynamoDB and Secrets Manager clients took about 100 ms
 * of a cold start between them (`npm run bench`, `cold`).
 *
 * It is what the Lambda's stores use, in place of the AWS SDK's client: the
 * stores already write every attribute value out in the low-level form, which
 * is the wire form, so a call is one `JSON.stringify` of the input, three
 * hashes to sign it and one `JSON.parse` of the answer. The SDK spends most of
 * a request's CPU on the same call (its schema-driven serialisers, endpoint
 * rules, signer, retry strategy and middleware; `npm run bench`,
 * `details.handler`), and the gateway makes this call on every request. The
 * gateway keys and the JWT secret are read from Secrets Manager the same way
 * (auth/secret.ts).
 *
 * What it keeps of the SDK's behaviour, as the stores rely on it:
 * - errors carry the service's error name (`ConditionalCheckFailedException`,
 *   `ResourceNotFoundException`, ...) as `name` and its message, and
 *   `$metadata.httpStatusCode`;
 * - an attempt that times out, a connection refused or reset, a 5xx answer
 *   and the throttling errors are tried again, up to `maxAttempts` attempts
 *   in all, after a random share of `backoffMs`;
 * - an answer whose body does not match its `x-amz-crc32` header (DynamoDB
 *   sends one) is not believed, and tried again, as the SDK's DynamoDB
 *   client does;
 * - the endpoint is the one the SDK would call (`serviceEndpoint`);
 * - the credentials are the ones Lambda gives the function in its
 *   environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
 *   `AWS_SESSION_TOKEN`), read once, as the SDK's environment provider does.
 *
 * Where there are no credentials in the environment (a developer's machine
 * with a profile or SSO), or the SDK's endpoint rules would choose another
 * endpoint (FIPS or dual-stack asked for, an isolated partition), the
 * callers (stores/dynamo.ts, auth/secret.ts) use the SDK's client instead,
 * loaded only then.
 */
import { createHash, createHmac } from "node:crypto";
import { crc32 } from "node:zlib";
import { createHttpClient, type UpstreamClient } from "./upstream/client";

export interface WireCredentials {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
}

/** What differs between the services spoken this way. */
export interface WireService {
    /** The Signature Version 4 service name, and the endpoint's first label. */
    signingName: string;
    /** What `X-Amz-Target` starts with. */
    targetPrefix: string;
    contentType: string;
    /** The SDK's service-specific endpoint variable. */
    endpointVariable: string;
}

export const dynamodbService: WireService = { signingName: "dynamodb", targetPrefix: "DynamoDB_20120810", contentType: "application/x-amz-json-1.0", endpointVariable: "AWS_ENDPOINT_URL_DYNAMODB" };
export const secretsManagerService: WireService = { signingName: "secretsmanager", targetPrefix: "secretsmanager", contentType: "application/x-amz-json-1.1", endpointVariable: "AWS_ENDPOINT_URL_SECRETS_MANAGER" };

export interface WireClientOptions {
    service: WireService;
    region: string;
    /** `https://<service>.<region>.amazonaws.com` (`regionalEndpoint`) unless set (DynamoDB Local, dynalite, a VPC endpoint). */
    endpoint?: string;
    credentials: WireCredentials;
    /** Attempts per call, the first included. */
    maxAttempts: number;
    /** One attempt: connecting, the answer's head and its whole body. */
    attemptTimeoutMs: number;
    /** The longest wait before trying again; the wait is a random share of it. */
    backoffMs: number;
    /** Carries the signed request (the benchmark answers DynamoDB in memory); a keep-alive HTTP client of its own unless set. */
    transport?: UpstreamClient;
    /** Epoch milliseconds, for the signature's date. */
    now?: () => number;
    /** Sent, unsigned, with every call. */
    userAgent?: string;
}

/** A service's error, as the SDK's have it: `name` is the service's error name. */
export class AwsServiceError extends Error {
    readonly $metadata: { httpStatusCode?: number; attempts: number };
    constructor(name: string, message: string, httpStatusCode: number | undefined, attempts: number) {
        super(message);
        this.name = name;
        this.$metadata = { httpStatusCode, attempts };
    }
}

/** DynamoDB's largest answer is a 1 MB query page, a secret at most 64 KB; this leaves room for their JSON. */
const maxAnswerBytes = 16 << 20;
const retriedErrors = new Set(["ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable", "TransactionInProgressException"]);

/**
 * A service's regional endpoint in the commercial, GovCloud and China
 * partitions; undefined elsewhere (the isolated partitions), where the SDK's
 * endpoint rules know the domain.
 */
export function regionalEndpoint(service: WireService, region: string): string | undefined {
    if (!/^[a-z]{2}(-gov)?-[a-z]+-\d+$/.test(region)) return undefined;
    return `https://${service.signingName}.${region}.${region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com"}`;
}

/**
 * The endpoint the SDK would call: the one given, else the service's
 * variable (`AWS_ENDPOINT_URL_DYNAMODB`, ...), else `AWS_ENDPOINT_URL`
 * (neither when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true), else the
 * regional one. Undefined where the SDK's endpoint rules would choose
 * another (FIPS or dual-stack asked for, an isolated partition).
 */
export function serviceEndpoint(service: WireService, region: string, given: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
    if (given) return given;
    if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS !== "true") {
        const configured = env[service.endpointVariable] || env.AWS_ENDPOINT_URL;
        if (configured) return configured;
    }
    if (env.AWS_USE_FIPS_ENDPOINT === "true" || env.AWS_USE_DUALSTACK_ENDPOINT === "true") return undefined;
    return regionalEndpoint(service, region);
}

const sha256Hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** `20261206T003000Z` and `20261206`. */
function amzDates(epochMs: number): { amzDate: string; day: string } {
    const iso = new Date(epochMs).toISOString();
    const amzDate = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
    return { amzDate, day: amzDate.slice(0, 8) };
}

/**
 * Signature Version 4 for one request of these protocols (`POST /`, no query): the
 * headers to send, `authorization` added. `headers` are lower-case and all
 * signed; their names sort as given. The signing key is derived once a day.
 */
export function createSigner(region: string, service: string, credentials: WireCredentials) {
    let keyDay = "";
    let signingKey = Buffer.alloc(0);
    return (headers: Record<string, string>, body: Buffer, epochMs: number): Record<string, string> => {
        const { amzDate, day } = amzDates(epochMs);
        if (day !== keyDay) {
            const dateKey = createHmac("sha256", `AWS4${credentials.secretAccessKey}`).update(day).digest();
            const regionKey = createHmac("sha256", dateKey).update(region).digest();
            const serviceKey = createHmac("sha256", regionKey).update(service).digest();
            signingKey = createHmac("sha256", serviceKey).update("aws4_request").digest();
            keyDay = day;
        }
        const signed: Record<string, string> = { ...headers, "x-amz-date": amzDate };
        if (credentials.sessionToken) signed["x-amz-security-token"] = credentials.sessionToken;
        const names = Object.keys(signed).sort();
        let canonicalHeaders = "";
        for (const name of names) canonicalHeaders += `${name}:${signed[name].trim().replace(/\s+/g, " ")}\n`;
        const signedHeaders = names.join(";");
        const canonicalRequest = `POST\n/\n\n${canonicalHeaders}\n${signedHeaders}\n${sha256Hex(body)}`;
        const scope = `${day}/${region}/${service}/aws4_request`;
        const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
        const signature = createHmac("sha256", signingKey).update(stringToSign).digest("hex");
        signed.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
        return signed;
    };
}

/** The credentials Lambda puts in a function's environment; undefined when a part is missing. */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): WireCredentials | undefined {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) return undefined;
    return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined };
}

export interface WireClient {
    /** One operation of the service's API, its input and output as the API writes them (DynamoDB's attribute values as `{ S: ... }`). */
    call(operation: string, input: object): Promise<Record<string, unknown>>;
    destroy(): void;
}

/** The name the service gives an error: `__type`, or its part after `#`. */
function errorName(type: unknown, status: number): string {
    if (typeof type !== "string" || type === "") return status >= 500 ? "InternalServerError" : `HttpError${status}`;
    return type.slice(type.lastIndexOf("#") + 1);
}

function parseAnswer(body: Buffer): Record<string, unknown> | undefined {
    try {
        const parsed = JSON.parse(body.length === 0 ? "{}" : body.toString("utf8"));
        return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : undefined;
    } catch {
        return undefined;
    }
}

export function createWireClient(options: WireClientOptions): WireClient {
    const endpoint = options.endpoint ?? regionalEndpoint(options.service, options.region);
    if (!endpoint) throw new Error(`no ${options.service.signingName} endpoint known for region ${options.region}: give one`);
    const url = new URL(endpoint);
    const ownTransport = options.transport ? undefined : createHttpClient();
    const transport = options.transport ?? ownTransport!;
    const { service } = options;
    const sign = createSigner(options.region, service.signingName, options.credentials);
    const now = options.now ?? Date.now;
    const fixedHeaders = { "content-type": service.contentType, host: url.host };

    /** One attempt: the answer, or the error and whether another attempt may help. */
    const attempt = async (operation: string, body: Buffer): Promise<{ output: Record<string, unknown> } | { error: AwsServiceError; retry: boolean }> => {
        const headers = sign({ ...fixedHeaders, "x-amz-target": `${service.targetPrefix}.${operation}` }, body, now());
        headers["content-length"] = String(body.length);
        if (options.userAgent) headers["user-agent"] = options.userAgent;
        const result = await transport.send({ url, method: "POST", headers, body, timeoutMs: options.attemptTimeoutMs, maxBodyBytes: maxAnswerBytes });
        if (result.kind === "timeout") return { error: new AwsServiceError("TimeoutError", `${service.signingName} did not answer ${operation} within ${options.attemptTimeoutMs} ms`, undefined, 0), retry: true };
        if (result.kind === "refused") return { error: new AwsServiceError("NetworkingError", `the connection to ${service.signingName} failed during ${operation}`, undefined, 0), retry: true };
        if (result.kind === "too-large") return { error: new AwsServiceError("ResponseTooLarge", `${service.signingName}'s answer to ${operation} is over ${maxAnswerBytes} bytes`, undefined, 0), retry: false };
        const { status, headers: answerHeaders, body: answer } = result.answer;
        const checksum = answerHeaders.find(([name]) => name === "x-amz-crc32")?.[1];
        if (checksum !== undefined && Number(checksum) !== crc32(answer)) {
            return { error: new AwsServiceError("CRC32CheckFailed", `${service.signingName}'s answer to ${operation} does not match its x-amz-crc32`, status, 0), retry: true };
        }
        const parsed = parseAnswer(answer);
        if (status === 200 && parsed) return { output: parsed };
        const name = status === 200 ? "InvalidResponse" : errorName(parsed?.__type, status);
        const message = typeof parsed?.message === "string" ? parsed.message : typeof parsed?.Message === "string" ? parsed.Message : `${service.signingName} answered ${operation} with HTTP ${status}`;
        return { error: new AwsServiceError(name, message, status, 0), retry: status >= 500 || retriedErrors.has(name) };
    };

    return {
        async call(operation, input) {
            const body = Buffer.from(JSON.stringify(input), "utf8");
            for (let attempts = 1; ; attempts++) {
                const outcome = await attempt(operation, body);
                if ("output" in outcome) return outcome.output;
                if (!outcome.retry || attempts >= options.maxAttempts) {
                    outcome.error.$metadata.attempts = attempts;
                    throw outcome.error;
                }
                await new Promise((resolve) => setTimeout(resolve, Math.random() * options.backoffMs));
            }
        },
        destroy() {
            ownTransport?.close();
        },
    };
}
