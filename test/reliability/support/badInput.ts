/**
 * fast-check arbitraries for the bad-input fuzzers, and the checks every
 * answer and every upstream call must pass. A case is a request aimed at one
 * of the fuzz routes (or none), with path traversal in every spelling, odd
 * methods, huge and non-ASCII headers, spoofed gateway headers, valid and
 * forged credentials, and bodies (invalid base64 among them).
 */
import fc from "fast-check";
import type { NamedCredential } from "./credentials";
import type { RecordedCall } from "./recordingUpstream";

/** The fuzz routes: name, path prefix, auth. Their upstreams are `<recorder>/base/<name>`. */
export const fuzzRoutes = [
    { name: "pub", pathPrefix: "/pub", auth: "none" },
    { name: "sess", pathPrefix: "/sess", auth: "session" },
    { name: "jwt", pathPrefix: "/jwt", auth: "jwt" },
    { name: "any", pathPrefix: "/any/deep", auth: "any" },
] as const;

export const spoofedUser = "spoofed-admin";
export const forgedAssertion = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzcG9vZmVkLWFkbWluIn0.";

const segment = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom("items", "42", "a b", "ü", "%C3%BC", "x.json", "", "~user", "a;b=c", "😀") },
    {
        weight: 3,
        arbitrary: fc.constantFrom(
            "..", ".", "%2e%2e", "%2E%2e", ".%2e", "%2e", "..%2f", "%2f", "%2F", "%5c", "%5C", "\\", "..\\..", "%00", "\u0000", "%252e%252e", "%252f",
            "..;", "%c0%ae%c0%ae", "%ff", "%", "%zz", "\u202e", "\r\n", "\t", "?", "#frag", "%3F", "%23", "//evil.example", "@evil.example", "http:",
        ),
    },
    { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
);

export const pathArbitrary = fc
    .tuple(
        fc.constantFrom("/pub", "/sess", "/jwt", "/any/deep", "/any", "/health/live", "/health/ready", "", "/nowhere", "/pubx", "//pub", "/PUB"),
        fc.array(segment, { maxLength: 4 }),
        fc.boolean(),
    )
    .map(([prefix, segments, trailingSlash]) => `${prefix}${segments.map((s) => `/${s}`).join("")}${trailingSlash ? "/" : ""}`);

export const queryArbitrary = fc.oneof(fc.constant(""), fc.constantFrom("a=1&b=2", "x=%00", "q=ü", "%%%", "next=..%2f..%2fadmin", "a=1#x"), fc.string({ maxLength: 30 }));

export const methodArbitrary = fc.oneof({ weight: 12, arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS") }, { weight: 1, arbitrary: fc.string({ maxLength: 25 }) });

/** Where a credential goes. Named, not carried: a counterexample then prints a name, not a 1 MB token. */
export type Placement = { kind: "none" } | { kind: "bearer" | "cookie"; credential: string } | { kind: "raw-authorization"; value: string };

export function placementArbitrary(credentials: NamedCredential[]): fc.Arbitrary<Placement> {
    const credential = fc.constantFrom(...credentials.map((c) => c.name));
    return fc.oneof(
        { weight: 2, arbitrary: fc.constant<Placement>({ kind: "none" }) },
        { weight: 4, arbitrary: credential.map<Placement>((name) => ({ kind: "bearer", credential: name })) },
        { weight: 2, arbitrary: credential.map<Placement>((name) => ({ kind: "cookie", credential: name })) },
        { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom("Bearer", "Bearer ", "Basic YTpi", "bearer  x  y", "Bearer \u00fc")).map<Placement>((value) => ({ kind: "raw-authorization", value })) },
    );
}

export function credentialHeaders(placement: Placement, credentials: NamedCredential[]): Record<string, string> {
    const token = () => credentials.find((c) => c.name === (placement as { credential: string }).credential)!.token;
    switch (placement.kind) {
        case "none":
            return {};
        case "bearer":
            return { authorization: `Bearer ${token()}` };
        case "cookie":
            return { cookie: `theme=dark; session=${token()}` };
        case "raw-authorization":
            return { authorization: placement.value };
    }
}

/** Whether a request so placed may reach the upstream of an authenticated route: only with a valid credential. */
export function mayPassAuth(placement: Placement, credentials: NamedCredential[]): boolean {
    if (placement.kind !== "bearer" && placement.kind !== "cookie") return false;
    return credentials.find((c) => c.name === placement.credential)?.kind === "valid";
}

/** Extra headers: random ones, and flags for a huge one, non-ASCII ones, and headers only the gateway may set. */
export const extraHeadersArbitrary = fc.record({
    random: fc.oneof({ weight: 2, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(fc.string({ minLength: 1, maxLength: 16 }), fc.string({ maxLength: 40 }), { minKeys: 1, maxKeys: 3 }) }),
    huge: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    nonAscii: fc.boolean(),
    spoof: fc.boolean(),
});

export type ExtraHeaders = { random: Record<string, string>; huge: boolean; nonAscii: boolean; spoof: boolean };

/** `hugeBytes`: 64 KiB straight to the handler; through HTTP, a size Node's parser lets through (its limit is 16 KiB a head). */
export function expandHeaders(extra: ExtraHeaders, hugeBytes = 64 * 1024): Record<string, string> {
    return {
        ...extra.random,
        ...(extra.huge ? { "x-huge": "h".repeat(hugeBytes) } : {}),
        ...(extra.nonAscii ? { "x-name": "Zoë 😀 \u2028 ñ" } : {}),
        ...(extra.spoof
            ? {
                  "x-gateway-user-id": spoofedUser,
                  "x-gateway-permissions": "admin,orders:read",
                  "x-forwarded-for": "10.0.0.1",
                  // spelled for servers that fold '_' into '-' (WSGI, Rack, PHP, CGI), and the assertion itself
                  x_gateway_user_id: spoofedUser,
                  "X-Gateway_Roles": "admin",
                  "x-gateway-assertion": forgedAssertion,
              }
            : {}),
    };
}

export type Body = { body?: string; isBase64Encoded?: boolean };

export const bodyArbitrary: fc.Arbitrary<Body> = fc.oneof(
    { weight: 6, arbitrary: fc.constant<Body>({}) },
    { weight: 4, arbitrary: fc.string({ maxLength: 40 }).map<Body>((body) => ({ body, isBase64Encoded: false })) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map<Body>((text) => ({ body: Buffer.from(text).toString("base64"), isBase64Encoded: true })) },
    { weight: 1, arbitrary: fc.constantFrom("!!!!", "abc", "a===", "====", "@@==", " Zm9v ", "Zm9v\u0000", "Zm9v====", "Zm 9v", "ü").map<Body>((body) => ({ body, isBase64Encoded: true })) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }).chain((body) => fc.boolean().map<Body>((isBase64Encoded) => ({ body, isBase64Encoded }))) },
);

/** Fields of a 2.0 event a malformed one may lack or carry with the wrong type. */
export const eventFields = [
    "version",
    "routeKey",
    "rawPath",
    "rawQueryString",
    "headers",
    "cookies",
    "requestContext",
    "requestContext.http",
    "requestContext.http.method",
    "requestContext.http.sourceIp",
    "requestContext.requestId",
    "body",
    "isBase64Encoded",
    "pathParameters",
] as const;

export type Mutation = { field: (typeof eventFields)[number]; value: unknown | "<delete>" };

/** One event in four has one or two fields missing or of the wrong type. */
export const mutationsArbitrary: fc.Arbitrary<Mutation[]> = fc.oneof(
    { weight: 3, arbitrary: fc.constant<Mutation[]>([]) },
    {
        weight: 1,
        arbitrary: fc.array(
            fc.record({
                field: fc.constantFrom(...eventFields),
                value: fc.oneof(fc.constant("<delete>"), fc.constant(null), fc.integer(), fc.boolean(), fc.constant([]), fc.constant({}), fc.string({ maxLength: 10 }), fc.constant(["a", 1]), fc.constant({ toString: 1 })),
            }),
            { minLength: 1, maxLength: 2 },
        ),
    },
);

/** A request target as a client library would send it: characters that cannot travel raw percent-encoded (UTF-8), escapes kept. */
export function encodeTarget(target: string): string {
    let out = "";
    for (const character of target) {
        out += /^[\x21-\x7e]$/.test(character) ? character : Buffer.from(character, "utf8").toString("hex").replace(/../g, (byte) => `%${byte.toUpperCase()}`);
    }
    return out;
}

export function applyMutations(event: any, mutations: Mutation[]): any {
    for (const { field, value } of mutations) {
        const parts = field.split(".");
        let holder = event;
        for (const part of parts.slice(0, -1)) {
            if (holder === null || typeof holder !== "object") break;
            holder = holder[part];
        }
        if (holder === null || typeof holder !== "object") continue;
        const last = parts[parts.length - 1];
        if (value === "<delete>") delete holder[last];
        else holder[last] = value;
    }
    return event;
}

/** What a problem's detail must never show: an error message, a stack, a file, an address or a dependency's name. */
const internalDetail = /\b(stack|error|exception|dynamodb|table|undefined|null)\b|at [\w.<>]+ \(|\.ts\b|\.js\b|node:|ECONN|ETIMEDOUT|127\.0\.0\.1/i;
const problemKeys = new Set(["type", "title", "status", "detail"]);

/**
 * Problems with a gateway answer, or an empty list. `localRoutes`: the answer
 * came through `npm start`, whose 404 for a path no route matches lists the
 * routes (name and prefix) in `routes` and at the end of `detail`; that list,
 * and nothing else, is let through there.
 */
export function answerProblems(
    status: number,
    contentType: string | undefined,
    body: string,
    options: { head?: boolean; localRoutes?: readonly { name: string; pathPrefix: string }[] } = {},
): string[] {
    const problems: string[] = [];
    if (!Number.isInteger(status) || status < 100 || status > 599) problems.push(`status ${status}`);
    if (status === 500) problems.push("500 answer");
    // A HEAD answer has the headers of the GET one and no body.
    if (contentType?.startsWith("application/problem+json") && !options.head) {
        try {
            const parsed = JSON.parse(body);
            if (options.localRoutes && status === 404 && "routes" in parsed) {
                const expected = options.localRoutes.map(({ name, pathPrefix }) => ({ name, pathPrefix }));
                if (JSON.stringify(parsed.routes) !== JSON.stringify(expected)) problems.push(`404 lists other routes: ${JSON.stringify(parsed.routes)}`);
                const listed = ` Routes of this gateway: ${expected.map((route) => `${route.name} ${route.pathPrefix}`).join(", ")}.`;
                if (typeof parsed.detail !== "string" || !parsed.detail.endsWith(listed)) problems.push(`404 detail does not end with the route list: ${parsed.detail}`);
                else parsed.detail = parsed.detail.slice(0, -listed.length);
                delete parsed.routes;
            }
            const extra = Object.keys(parsed).filter((key) => !problemKeys.has(key));
            if (extra.length) problems.push(`problem body has ${extra.join(", ")}`);
            if (typeof parsed.title !== "string" || !/^[A-Za-z ]+$/.test(parsed.title)) problems.push(`problem title ${parsed.title}`);
            if (parsed.detail !== undefined && (typeof parsed.detail !== "string" || internalDetail.test(parsed.detail))) problems.push(`internal detail in ${body}`);
        } catch {
            problems.push("problem body is not JSON");
        }
    }
    return problems;
}

const forbiddenEscape = /%(00|2f|5c)/i;

/** Problems with an upstream call (its path must stay under the route's base path), or an empty list. */
export function callProblems(call: RecordedCall): string[] {
    const problems: string[] = [];
    const path = call.target.split("?")[0];
    const match = /^\/base\/(pub|sess|jwt|any)(\/.*)?$/.exec(path);
    if (!match) return [`upstream path outside every route's base: ${call.target}`];
    for (const raw of (match[2] ?? "").split("/").slice(1)) {
        if (forbiddenEscape.test(raw) || raw.includes("\\") || raw.includes("\u0000")) problems.push(`forbidden character in ${call.target}`);
        let decoded = raw;
        try {
            decoded = decodeURIComponent(raw);
        } catch {
            problems.push(`undecodable segment in ${call.target}`);
        }
        // however often it is decoded again, with or without its ';' parameters
        for (let round = 0; round < 4; round++) {
            if ([".", ".."].includes(decoded.split(";")[0])) problems.push(`dot segment in ${call.target}`);
            decoded = decoded.replace(/%([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
        }
    }
    if (call.headers["x-gateway-user-id"] === spoofedUser) problems.push("a spoofed x-gateway-user-id reached the upstream");
    for (const [name, value] of Object.entries(call.headers)) {
        const normal = name.toLowerCase().replace(/_/g, "-");
        if (normal.startsWith("x-gateway-") && normal !== name) problems.push(`a header read as ${normal} reached the upstream as ${name}`);
        if (String(value).includes(forgedAssertion) || String(value) === spoofedUser) problems.push(`a spoofed value reached the upstream in ${name}`);
    }
    if (String(call.headers["x-gateway-permissions"] ?? "").includes("admin,orders:read") && !call.headers["x-gateway-user-id"]) problems.push("spoofed x-gateway-permissions reached the upstream");
    return problems;
}

/** The route an upstream call was made for, from its base path. */
export function routeOfCall(call: RecordedCall): string | undefined {
    return /^\/base\/(pub|sess|jwt|any)(?:[/?]|$)/.exec(call.target)?.[1];
}
