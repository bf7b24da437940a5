/**
 * Trace context: the W3C `traceparent` (and `tracestate`) the gateway sends
 * each upstream, and the trace id of every log line.
 *
 * - A client's valid `traceparent` is continued: the same trace id, a new
 *   parent id (the gateway's own span), its sampled flag kept; its
 *   `tracestate` goes along when it is well formed. Valid is W3C Trace
 *   Context level 1: version `00` exactly 55 characters, or a later version
 *   (not `ff`) whose first fields read as version 00's; the trace id 32 and
 *   the parent id 16 lower-case hex digits, neither all zeros.
 * - Anything else (no header, a malformed one, upper-case hex, all-zero ids,
 *   two headers, which API Gateway joins with a comma) starts a new trace:
 *   random ids, sampled, since the gateway records every request in its log
 *   line. A `tracestate` without a valid `traceparent` is dropped unread, as
 *   the specification says.
 * - With X-Ray active tracing (`tollgate:lambda.tracing`), the trace is the
 *   invocation's X-Ray trace: the W3C trace id is the X-Ray trace id without
 *   its version and dashes (`1-5759e988-bd862e3fe1be46a994272793` is
 *   `5759e988bd862e3fe1be46a994272793`), the parent id X-Ray's `Parent` (the
 *   function's segment) and the sampled flag X-Ray's `Sampled`, so the
 *   upstream's spans join the X-Ray trace. The client's trace context is
 *   then not continued: an HTTP API passes X-Ray no trace of its own, so
 *   Lambda starts the trace, and a client cannot choose it.
 *
 * The client's `traceparent` and `tracestate`, in any spelling, are dropped
 * from what goes upstream (runtime/steps/proxy.ts); the gateway sends its own.
 */

import { randomFillSync } from "node:crypto";

export interface TraceContext {
    /** 32 lower-case hex digits. */
    traceId: string;
    /** The gateway's span: the parent id the upstream is sent. */
    parentId: string;
    sampled: boolean;
    /** Where the trace id came from: the client's `traceparent`, the gateway (a new trace), or the X-Ray trace of the invocation. */
    origin: "client" | "gateway" | "xray";
    /** The client's `tracestate`, passed on with the trace it belongs to. */
    tracestate?: string;
}

/** New random ids: a trace id (128 bits) and a span id (64 bits), as lower-case hex, never all zeros. */
export interface TraceIds {
    traceId(): string;
    spanId(): string;
}

const zeroTraceId = "0".repeat(32);
const zeroSpanId = "0".repeat(16);

/** Ids from the CSPRNG, drawn from a pool filled 4 KB at a time (one fill per 170 requests). */
export function randomTraceIds(fill: (buffer: Buffer) => void = randomFillSync): TraceIds {
    const pool = Buffer.allocUnsafe(4096);
    let at = pool.length;
    const take = (bytes: number) => {
        if (at + bytes > pool.length) {
            fill(pool);
            at = 0;
        }
        const hex = pool.toString("hex", at, at + bytes);
        at += bytes;
        return hex;
    };
    return {
        traceId() {
            let id = take(16);
            while (id === zeroTraceId) id = take(16);
            return id;
        },
        spanId() {
            let id = take(8);
            while (id === zeroSpanId) id = take(8);
            return id;
        },
    };
}

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;

/** The trace id, parent id and sampled flag of a valid `traceparent`, or undefined. */
export function parseTraceparent(value: string | undefined): { traceId: string; parentId: string; sampled: boolean } | undefined {
    if (value === undefined || value.length < 55) return undefined;
    const match = traceparentPattern.exec(value);
    if (!match) return undefined;
    const [, version, traceId, parentId, flags] = match;
    if (version === "ff" || (version === "00" && value.length !== 55)) return undefined;
    if (traceId === zeroTraceId || parentId === zeroSpanId) return undefined;
    return { traceId, parentId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** Most entries a `tracestate` holds, and the length the gateway passes on (the specification asks for at least 512). */
const maxTracestateMembers = 32;
const maxTracestateLength = 512;
const tracestateMember = /^[a-z0-9][a-z0-9_*\/@-]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * A `tracestate` as it goes on: its entries with the optional whitespace and
 * empty entries removed, cut to 512 characters by whole entries (those over
 * 128 characters first, then from the end), as the specification says to
 * truncate; undefined when it is malformed (an entry that is not `key=value`,
 * a key twice, more than 32 entries), and then dropped whole.
 */
export function readTracestate(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const members = value
        .split(",")
        .map((member) => member.replace(/^[ \t]+|[ \t]+$/g, ""))
        .filter((member) => member !== "");
    if (members.length === 0 || members.length > maxTracestateMembers) return undefined;
    const keys = new Set<string>();
    for (const member of members) {
        if (!tracestateMember.test(member)) return undefined;
        const key = member.slice(0, member.indexOf("="));
        if (keys.has(key)) return undefined;
        keys.add(key);
    }
    let kept = members;
    const length = () => kept.reduce((sum, member) => sum + member.length, 0) + kept.length - 1;
    if (length() > maxTracestateLength) kept = kept.filter((member) => member.length <= 128);
    while (kept.length > 0 && length() > maxTracestateLength) kept = kept.slice(0, -1);
    return kept.length ? kept.join(",") : undefined;
}

/** The trace of a request: the client's continued when its `traceparent` is valid, else a new one. `headers` have lower-case names. */
export function continueOrStart(headers: Readonly<Record<string, string>> | undefined, ids: TraceIds): TraceContext {
    const parent = parseTraceparent(headers?.traceparent);
    if (!parent) return { traceId: ids.traceId(), parentId: ids.spanId(), sampled: true, origin: "gateway" };
    const tracestate = readTracestate(headers!.tracestate);
    return { traceId: parent.traceId, parentId: ids.spanId(), sampled: parent.sampled, origin: "client", ...(tracestate ? { tracestate } : {}) };
}

const xrayRoot = /(?:^|;)\s*(?:Root=)?1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})\s*(?:;|$)/;
const xrayParent = /(?:^|;)\s*Parent=([0-9a-fA-F]{16})\s*(?:;|$)/;
const xraySampled = /(?:^|;)\s*Sampled=([01?])\s*(?:;|$)/;

/**
 * The invocation's X-Ray trace as a trace context, from its tracing header
 * (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`,
 * or the bare trace id); undefined when there is none to read. Without a `Parent` the gateway's own
 * span id is the parent; without `Sampled=1` the trace is not sampled.
 */
export function xrayTrace(header: string | undefined, ids: TraceIds): TraceContext | undefined {
    if (!header) return undefined;
    const root = xrayRoot.exec(header);
    if (!root) return undefined;
    const traceId = `${root[1]}${root[2]}`.toLowerCase();
    if (traceId === zeroTraceId) return undefined;
    const parent = xrayParent.exec(header)?.[1]?.toLowerCase();
    return {
        traceId,
        parentId: parent !== undefined && parent !== zeroSpanId ? parent : ids.spanId(),
        sampled: xraySampled.exec(header)?.[1] === "1",
        origin: "xray",
    };
}

/**
 * The X-Ray tracing header of the invocation running now: Lambda's Node.js
 * runtime keeps it per invocation in its invoke store
 * (`awslambda.InvokeStore.getXRayTraceId()`, which stays right when one
 * environment runs invocations concurrently) and in the environment
 * variable `_X_AMZN_TRACE_ID` (the current invocation's, when they run one
 * at a time). Undefined outside Lambda.
 */
export function invocationXrayHeader(): string | undefined {
    const store = (globalThis as { awslambda?: { InvokeStore?: { getXRayTraceId?: () => unknown } } }).awslambda?.InvokeStore;
    let fromStore: unknown;
    try {
        fromStore = store?.getXRayTraceId?.();
    } catch {
        fromStore = undefined;
    }
    if (typeof fromStore === "string" && fromStore !== "") return fromStore;
    return process.env._X_AMZN_TRACE_ID || undefined;
}

/** The `traceparent` the upstream is sent: version 00, the trace, the gateway's span, the sampled flag. */
export function traceparentOf(trace: TraceContext): string {
    return `00-${trace.traceId}-${trace.parentId}-${trace.sampled ? "01" : "00"}`;
}
