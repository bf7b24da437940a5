/**
 * The gateway's request handler: API Gateway HTTP API 2.0 event in, 2.0
 * result out. It reads as its steps:
 *
 *   request -> route -> (authenticate || rate limit) -> assertion -> proxy -> sessions -> respond, observe
 *
 * (`/.well-known/sessions` is admitted the same way and answered by the
 * gateway itself instead of an upstream; `/.well-known/jwks.json` and the
 * health paths are answered before any of it.)
 *
 * `createHandler` is called once per container (the Lambda entry, the local
 * gateway); everything built here (DynamoDB client, stores, caches, the JWT
 * secret and JWKS, the gateway's own keys, the upstream connections, logger
 * and metrics) lives as long as the container, and
 * nothing of it is rebuilt per request. Time and randomness come from `deps`.
 *
 * Every request has a trace (runtime/steps/trace.ts): the client's W3C trace
 * continued, a new one, or the invocation's X-Ray trace with
 * `tollgate:lambda.tracing`; its id is in every log line and its
 * `traceparent` goes to the upstream.
 */
import { randomBytes } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { RuntimeSettings } from "./settings";
import type { Identity } from "./auth/identity";
import { createJwtVerifier } from "./auth/jwt";
import { createSecretSource, secretsManagerLoader, type SecretLoader } from "./auth/secret";
import { SessionAuthenticator } from "./auth/sessionAuth";
import { createGatewayKeySource } from "./auth/gatewayKeys";
import { Sessions } from "./sessions";
import { defaultSessionSettings, sessionCookieName } from "../specs/sessions";
import { bearerChallenge, statusOf, type Reason } from "../specs/reasons";
import { defaultIpv6PrefixLength } from "../specs/routes";
import { asStoreClient, createStoreClient, type DynamoInput } from "./stores/dynamo";
import { DynamoRateLimitStore } from "./stores/rateLimitStore";
import { DynamoSessionStore } from "./stores/sessionStore";
import { admit, type Admission } from "./steps/admit";
import { Assertions, jwksAnswer } from "./steps/assertion";
import { authorizationCredentials, isCrossSiteWrite, otherSessionCookieNames, presentedSessionTokens, readCredential, type Credential } from "./steps/authenticate";
import { cachedReady, live } from "./steps/health";
import { createObserver, type LogSink, type RequestRecord } from "./steps/observe";
import { clientHeaders, gatewayHeaders, proxy } from "./steps/proxy";
import { clientOf, counterScope, rateLimitHeaders, RateLimiter, type CounterScope, type RateLimitDecision } from "./steps/rateLimit";
import { readRequest, type GatewayRequest } from "./steps/request";
import { problem, withHeaders } from "./steps/respond";
import { compileRoutes, matchRoute, upstreamUrl } from "./steps/route";
import { answerSelfService, selfServiceMethods, selfServiceRoute } from "./steps/selfService";
import { notStoredIfItCarriesASession } from "./steps/sessionCookie";
import { applySessionAnswer, touchesSessions } from "./steps/sessions";
import { continueOrStart, invocationXrayHeader, randomTraceIds, xrayTrace, type TraceContext, type TraceIds } from "./steps/trace";
import { createHttpClient, type UpstreamClient } from "./upstream/client";

export interface HandlerDeps {
    /** Epoch milliseconds. */
    now: () => number;
    /** Used to fetch the JWKS of `tollgate:jwt.jwksUrl`. */
    fetch: typeof fetch;
    /** Sends requests to upstreams; a keep-alive node:http client made once per container when not given. */
    upstream: UpstreamClient;
    /** What both stores call DynamoDB through: a store client, or an SDK client to call it with; the wire client (runtime/awsClient.ts) built from the settings when not given. */
    dynamo: DynamoInput;
    /** Reads the JWT secret from Secrets Manager by ARN. */
    loadSecret: SecretLoader;
    /** Receives each log line and EMF document; stdout by default. */
    log: LogSink;
    /** Request ids for events that carry none. */
    randomToken: () => string;
    /** The CSPRNG behind new session tokens. */
    randomBytes: (size: number) => Buffer;
    /** A number in [0, 1): which successful requests' log lines a `logSampleRate` below 1 keeps. */
    random: () => number;
    /** New W3C trace and span ids; random, from the CSPRNG, when not given. */
    traceIds: TraceIds;
    /** The X-Ray tracing header of the invocation, read per request when `settings.tracing` is on; Lambda's (`invocationXrayHeader`) when not given. */
    xrayTraceHeader: () => string | undefined;
    /**
     * Told, after each request, what the handler decided and what the upstream
     * saw and sent: the local gateway's inspector. Called only when given (the
     * Lambda never gives it): nothing of it is gathered otherwise.
     */
    inspect?: (inspection: RequestInspection) => void;
}

/**
 * One request's decision, for the local gateway's inspector (`HandlerDeps.inspect`).
 * It holds no credential: the kind of credential, never the token; the
 * headers the upstream was sent may hold a forwarded `Authorization` and the
 * signed assertion, which the inspector masks.
 */
export interface RequestInspection {
    requestId: string;
    trace: TraceContext;
    route?: string;
    status: number;
    reason?: Reason;
    /** The credential the request carried: its kind and where it came from, never its value. */
    credential?: { kind: Credential["kind"]; from?: "authorization" | "cookie" };
    /** `auth` of the log line. */
    auth?: string;
    identity?: Identity;
    rateLimit?: RateLimitDecision;
    /** What the request did to sessions. */
    session?: string;
    upstream?: {
        url: string;
        method: string;
        /** Every header the upstream was sent. */
        headers: Record<string, string>;
        /** The upstream's answer, as it came (before the gateway dropped hop-by-hop headers and its own). */
        status?: number;
        answerHeaders?: [string, string][];
        latencyMs?: number;
        error?: "refused" | "timeout" | "too-large";
    };
}

export type Handler = (event: APIGatewayProxyEventV2, context?: Pick<Context, "getRemainingTimeInMillis">) => Promise<APIGatewayProxyStructuredResultV2>;

/** Time kept back from the Lambda's remaining time, to answer 504 before Lambda cuts the invocation off. */
const invocationMarginMs = 250;

interface Outcome {
    result: APIGatewayProxyStructuredResultV2;
    record: Omit<RequestRecord, "requestId" | "traceId" | "latencyMs" | "status">;
    /** Logged as warnings with the route. */
    warnings?: string[];
}

export function createHandler(settings: RuntimeSettings, deps: Partial<HandlerDeps> = {}): Handler {
    const now = deps.now ?? Date.now;
    const upstream = deps.upstream ?? createHttpClient();
    const randomToken = deps.randomToken ?? (() => randomBytes(12).toString("base64url"));
    const dynamo = deps.dynamo ? asStoreClient(deps.dynamo) : createStoreClient({ region: settings.region, endpoint: settings.dynamoEndpoint, requestTimeoutMs: settings.storeRequestTimeoutMs });
    const rateLimitStore = new DynamoRateLimitStore(dynamo, settings.tables.rateLimits);
    const loadSecret = deps.loadSecret ?? secretsManagerLoader(settings.region);
    const sessionStore = new DynamoSessionStore(dynamo, settings.tables.sessions);
    const gatewayKeys = createGatewayKeySource(settings.gatewayKeys, loadSecret);
    const limiter = new RateLimiter({ store: rateLimitStore, now, failureMode: settings.rateLimitFailureMode, windowKey: () => gatewayKeys.loaded()?.windowKey });
    const ipv6PrefixLength = settings.rateLimitIpv6PrefixLength ?? defaultIpv6PrefixLength;
    const sessionSettings = settings.sessions ?? defaultSessionSettings();
    const cookieName = sessionCookieName(sessionSettings.cookie);
    const sessions = new SessionAuthenticator({
        store: sessionStore,
        now,
        cacheSeconds: settings.sessionCacheSeconds,
        renewWithinSeconds: sessionSettings.renewWithinSeconds,
        maxLifetimeSeconds: sessionSettings.maxLifetimeSeconds,
    });
    const sessionLibrary = new Sessions({ store: sessionStore, now, randomBytes: deps.randomBytes });
    const jwt = createJwtVerifier({
        settings: settings.jwt,
        secret: createSecretSource(settings.jwtSecret, loadSecret),
        now,
        fetch: deps.fetch,
    });
    // Read at cold start, so the first request rarely waits for it; a failure here is tried again by that request.
    gatewayKeys.get().catch(() => undefined);
    const observer = createObserver({
        logLevel: settings.logLevel,
        sampleRate: settings.logSampleRate,
        sink: deps.log,
        now,
        random: deps.random,
        logKey: () => gatewayKeys.loaded()?.logKey,
    });
    const assertions = new Assertions(settings.identity.issuer, settings.identity.assertionReuseSeconds ?? 0);
    const routes = compileRoutes(settings.routes);
    const traceIds = deps.traceIds ?? randomTraceIds();
    const xrayTraceHeader = deps.xrayTraceHeader ?? invocationXrayHeader;
    const traceOf = (headers: Record<string, string> | undefined): TraceContext =>
        (settings.tracing ? xrayTrace(xrayTraceHeader(), traceIds) : undefined) ?? continueOrStart(headers, traceIds);
    const readiness = cachedReady([() => rateLimitStore.ping(), () => sessionStore.ping()], now);

    const inspect = deps.inspect;

    async function serve(request: GatewayRequest, trace: TraceContext, remainingMs: number | undefined, seen: Partial<RequestInspection> | undefined): Promise<Outcome> {
        const match = matchRoute(routes, request.rawPath);
        if (match.kind === "bad-path") return refuse(match.reason, "The request path is not acceptable.");
        if (match.kind === "not-found") return refuse("route.none", "No route matches this path.");
        if ((match.kind === "health" || match.kind === "jwks") && request.method !== "GET" && request.method !== "HEAD") {
            return refuse("method.not_allowed", undefined, { allow: "GET, HEAD" }, { route: match.kind });
        }
        if (match.kind === "health") {
            const result = match.check === "live" ? live() : await readiness();
            return { result, record: { route: "health", reason: result.statusCode === 503 ? "health.not_ready" : undefined } };
        }
        if (match.kind === "jwks") {
            const keys = await gatewayKeys.get().catch(() => undefined);
            if (!keys) return refuse("keys.unavailable", "The gateway's keys are temporarily unavailable.", { "retry-after": "1" }, { route: "jwks" });
            return { result: jwksAnswer(keys), record: { route: "jwks" } };
        }

        if (match.kind === "self-service" && !selfServiceMethods(match.sessionId).includes(request.method)) {
            return refuse("method.not_allowed", undefined, { allow: selfServiceMethods(match.sessionId).join(", ") }, { route: selfServiceRoute.name });
        }
        const route = match.kind === "self-service" ? selfServiceRoute : match.route;
        const url = match.kind === "route" ? upstreamUrl(route.upstream, match.upstreamPath, request.rawQueryString) : undefined;
        if (match.kind === "route" && !url) return refuse("path.unsendable", "The request path is not acceptable.", {}, { route: route.name });

        if (authorizationCredentials(request.headers.authorization) > 1) {
            return refuse("credential.multiple", "Send one Authorization header with one credential.", {}, { route: route.name });
        }
        const forwardable = clientHeaders(request, route);
        if ("unsendable" in forwardable) return refuse("header.unsendable", "A request header cannot be forwarded as sent.", {}, { route: route.name });

        // Needed to place the rate-limit windows and sign the assertion; read once per container, by now usually read already.
        const keysRead = gatewayKeys.loaded() ?? gatewayKeys.get().catch(() => undefined);
        const credential = readCredential(route.auth, request, cookieName);
        if (seen) seen.credential = credential.kind === "session" ? { kind: "session", from: credential.from } : { kind: credential.kind };
        if (credential.kind === "ambiguous") return refuse("session.cookie_repeated", "Send the session cookie once.", {}, { route: route.name, auth: "invalid" });
        // The browser sends the cookie with a cross-site form; and a cross-site form on a route that issues or ends
        // sessions would log the browser in as someone else (login CSRF) or out, cookie or not.
        const cookieAuthenticated = credential.kind === "session" && credential.from === "cookie";
        if ((cookieAuthenticated || route.sessions?.issue || route.sessions?.revoke) && isCrossSiteWrite(request, settings.allowedOrigins ?? [])) {
            const detail = cookieAuthenticated ? "A request carrying the session cookie must come from an allowed origin." : "A request that logs in or out must come from an allowed origin.";
            return refuse("csrf.origin", detail, {}, { route: route.name, auth: "forbidden" });
        }
        // Without the keys the limiter answers as for a failed store, and no assertion can be signed.
        const keys = "then" in keysRead ? await keysRead : keysRead;
        const client = clientOf(request.sourceIp, ipv6PrefixLength);
        const scope = counterScope(route, settings.defaultRateLimit);
        const admission = await admit({ route, scope, client, credential, sessions, jwt, limiter });
        if (seen) {
            seen.identity = admission.identity;
            seen.rateLimit = admission.rateLimit;
        }
        const limitHeaders = admission.rateLimit ? rateLimitHeaders(admission.rateLimit) : {};
        const record = {
            route: route.name,
            authenticated: route.auth !== "none",
            limiterKey: admission.rateLimit?.limiterKey,
            decision: admission.rateLimit ? (admission.rateLimit.source === "container" ? "limited-local" : admission.rateLimit.outcome) : undefined,
            auth: authOutcome(credential, admission),
        };
        const refusal = refusalOf(admission, credential, scope);
        if (refusal) return refuse(refusal.reason, refusal.detail, { ...refusal.headers, ...limitHeaders }, record);

        if (match.kind === "self-service") {
            const answered = await answerSelfService({
                method: request.method,
                sessionId: match.sessionId,
                session: admission.session!,
                sessions: sessionLibrary,
                authenticator: sessions,
                cookie: sessionSettings.cookie,
            });
            return {
                result: withHeaders(answered.result, limitHeaders),
                record: { ...record, session: answered.event, reason: answered.reason },
            };
        }

        if (settings.identity.assertion && !keys) {
            return refuse("keys.unavailable", "The gateway cannot vouch for the caller right now.", { ...limitHeaders, "retry-after": "1" }, record);
        }
        const assertion = settings.identity.assertion ? assertions.for(keys!, route, admission.identity, now()) : undefined;

        // A due renewal runs while the upstream answers; the sessions step waits for it.
        const renewal = admission.session ? sessions.renewIfDue(admission.session) : undefined;
        const timeoutMs = remainingMs === undefined ? settings.upstreamTimeoutMs : Math.min(settings.upstreamTimeoutMs, remainingMs - invocationMarginMs);
        const upstreamHeaders = { ...forwardable.headers, ...gatewayHeaders(request.requestId, admission.identity, { assertion, identityHeaders: settings.identity.headers, trace }) };
        const forwarded = await proxy({ url: url!, method: request.method, headers: upstreamHeaders, body: request.body, timeoutMs, client: upstream, now });
        if (seen) {
            seen.upstream = { url: url!.href, method: request.method, headers: upstreamHeaders, latencyMs: forwarded.latencyMs };
            if (forwarded.kind === "answered") Object.assign(seen.upstream, { status: forwarded.status, answerHeaders: forwarded.answerHeaders });
            else seen.upstream.error = forwarded.kind;
        }
        if (forwarded.kind === "answered") {
            if (!touchesSessions(forwarded.result, renewal)) {
                return { result: withHeaders(forwarded.result, limitHeaders), record: { ...record, upstreamMs: forwarded.latencyMs } };
            }
            const authenticatedToken = admission.session && credential.kind === "session" ? credential.token : undefined;
            const settled = await applySessionAnswer({
                route,
                result: forwarded.result,
                identity: admission.identity,
                authenticatedToken,
                presentedTokens: route.sessions?.issue ? presentedSessionTokens(request) : [],
                otherCookieNames: route.sessions?.issue || route.sessions?.revoke ? otherSessionCookieNames(request, cookieName) : [],
                fromCookie: authenticatedToken !== undefined && credential.kind === "session" && credential.from === "cookie",
                renewal,
                sessions: sessionLibrary,
                authenticator: sessions,
                settings: sessionSettings,
                now,
            });
            return {
                result: withHeaders(settled.result, limitHeaders),
                record: { ...record, upstreamMs: forwarded.latencyMs, session: settled.event, reason: settled.reason },
                warnings: settled.warnings,
            };
        }
        const upstreamRecord = { ...record, upstreamMs: forwarded.latencyMs, upstreamError: forwarded.kind };
        if (forwarded.kind === "timeout") return refuse("upstream.timeout", "The upstream service did not answer in time.", limitHeaders, upstreamRecord);
        return refuse(forwarded.kind === "too-large" ? "upstream.too_large" : "upstream.refused", "The upstream service could not be reached.", limitHeaders, upstreamRecord);
    }

    return async (event, context) => {
        const started = now();
        const request = readRequest(event, randomToken);
        const requestId = request?.requestId ?? randomToken();
        const trace = traceOf(request?.headers);
        const seen: Partial<RequestInspection> | undefined = inspect ? {} : undefined;
        let outcome: Outcome;
        if (!request) {
            outcome = refuse("request.malformed", "The request is malformed.");
        } else {
            try {
                outcome = await serve(request, trace, remainingTime(context), seen);
            } catch (error) {
                observer.failure(requestId, trace.traceId, error);
                outcome = refuse("internal.error");
            }
        }
        const result = withHeaders(notStoredIfItCarriesASession(outcome.result), { "x-request-id": requestId });
        observer.request({ ...outcome.record, requestId, traceId: trace.traceId, method: request?.method, status: result.statusCode ?? 200, latencyMs: now() - started });
        for (const warning of outcome.warnings ?? []) observer.warning(requestId, trace.traceId, outcome.record.route, warning);
        if (inspect) {
            const { route, reason, auth, session } = outcome.record;
            inspect({ ...seen, requestId, trace, route, reason, auth, session, status: result.statusCode ?? 200 });
        }
        return result;
    };
}

function remainingTime(context: Pick<Context, "getRemainingTimeInMillis"> | undefined): number | undefined {
    try {
        const remaining = context?.getRemainingTimeInMillis?.();
        return typeof remaining === "number" && Number.isFinite(remaining) ? remaining : undefined;
    } catch {
        return undefined;
    }
}

/** A problem answer for `reason`, with its status and, for a credential refused, its RFC 6750 challenge; the reason goes in the log line. */
function refuse(reason: Reason, detail?: string, headers: Record<string, string> = {}, record: Outcome["record"] = {}): Outcome {
    const challenge = bearerChallenge(reason);
    return { result: problem(statusOf(reason), detail, challenge ? { ...headers, "www-authenticate": challenge } : headers), record: { ...record, reason } };
}

/** Why admission refused the request, and what the client is told; undefined when it was admitted. */
function refusalOf(admission: Admission, credential: Credential, scope: CounterScope): { reason: Reason; detail: string; headers?: Record<string, string> } | undefined {
    switch (admission.status) {
        case "admitted":
            return undefined;
        case "limited": {
            const failed = admission.rateLimit?.limiterKey.startsWith("auth-failed:") ?? false;
            return { reason: failed ? "ratelimit.auth_failed" : `ratelimit.${scope.kind}`, detail: "Too many requests; retry after the time in Retry-After." };
        }
        case "missing-credential":
            return { reason: credential.kind === "missing" && credential.tooLong ? "credential.too_long" : "credential.missing", detail: "A valid credential is required." };
        case "invalid-credential":
            return { reason: admission.reason!, detail: "A valid credential is required." };
        case "forbidden":
            return { reason: "permission.missing", detail: "The credential does not grant access to this route." };
        case "auth-unavailable":
            return { reason: credential.kind === "jwt" ? "jwt.unavailable" : "session.unavailable", detail: "Authentication is temporarily unavailable.", headers: { "retry-after": "1" } };
        case "limiter-unavailable":
            return { reason: "ratelimit.unavailable", detail: "The service is temporarily unavailable.", headers: { "retry-after": "1" } };
    }
}

function authOutcome(credential: Credential, admission: Admission): string {
    if (credential.kind === "anonymous") return "anonymous";
    switch (admission.status) {
        case "missing-credential":
            return "missing";
        case "invalid-credential":
            return "invalid";
        case "forbidden":
            return "forbidden";
        case "auth-unavailable":
            return "unavailable";
        default:
            return admission.identity ? "valid" : "unchecked";
    }
}

export type { Identity };
