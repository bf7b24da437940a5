/**
 * Everything `npm start` runs, in order: the embedded store, the stack's
 * tables, an echo upstream per route (unless `--upstream` names a real one,
 * or the stack file's upstream is on this machine: that one is used as written),
 * one login upstream for the routes that issue or end sessions,
 * the handler with settings built the way the Lambda builds them, the
 * API Gateway emulation in front of it, and the inspector (local/inspector.ts)
 * beside it. `close()` stops them in reverse.
 */
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { type RuntimeSettings } from "../runtime/settings";
import { capturedSettings } from "../specs/lambda";
import type { StackConfig } from "../specs/stackFile";
import { builtInTables, rateLimitsTable, sessionsTable } from "../specs/tables";
import { isLoopbackUrl, jwksPath, type RateLimitPolicy, type RouteRateLimit, type RouteSpec } from "../specs/routes";
import type { KeyMaterial } from "../runtime/auth/gatewayKeys";
import { startEchoUpstream, type EchoUpstream } from "./echo";
import { startLoginUpstream, type LoginUpstream } from "./login";
import { startGateway, type GatewayHandler, type RunningGateway } from "./gateway";
import { checkUpstreamNames, envNames, type LocalOptions } from "./options";
import { startEmbeddedStore, type EmbeddedStore } from "./store";
import { ensureTables } from "../data/createTables";
import { DataDirInUseError, lockDataDir } from "./dataLock";
import { localKeyMaterial } from "./keys";
import { withRouteList } from "./notFound";
import { startInspector, type Inspector } from "./inspector";
import type { HandlerDeps } from "../runtime/handler";

/** The contract of `runtime/handler.ts`, with the deps `npm start` gives it. */
export type CreateHandler = (
    settings: RuntimeSettings,
    deps?: Pick<Partial<HandlerDeps>, "inspect" | "xrayTraceHeader">,
) => (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyStructuredResultV2 | unknown>;

export interface LocalRoute {
    name: string;
    pathPrefix: string;
    auth: RouteSpec["auth"];
    permissions: string[];
    rateLimit: RouteRateLimit;
    /** True when the route has no limit of its own and `tollgate:defaultRateLimit` applies. */
    defaultRateLimit: boolean;
    upstream: string;
    /** True when `upstream` is the built-in echo. */
    echo: boolean;
    /** True when `upstream` is the built-in login upstream (a route that issues or ends sessions). */
    login: boolean;
}

/** Where the JWT secret came from, and what to tell the developer about it. */
export interface JwtSecretChoice {
    secret: { value: string } | undefined;
    source: "environment" | "stack file" | "secure value in stack file" | "none";
    /** Printed at start when jwt routes cannot verify tokens. */
    notice?: string;
}

export interface LocalGateway {
    url: string;
    port: number;
    store: EmbeddedStore;
    settings: RuntimeSettings;
    /** Physical table names by spec name, built-in and application tables. */
    tables: Record<string, string>;
    routes: LocalRoute[];
    jwt: JwtSecretChoice;
    /** Where upstreams verify the identity assertion: its issuer and the gateway's JWKS; the keys' file unless `--memory`. */
    identity: { issuer: string; jwksUrl: string; keysFile?: string };
    /** The inspector: its page's URL, and what it holds. */
    inspector: Pick<Inspector, "url" | "requests">;
    /** Stops the gateway, the echo upstreams and the store (which flushes its data). */
    close(): Promise<void>;
}

/** The Lambda's identity the local handler is told it has. */
const functionNameSuffix = "gateway";

/**
 * The HS256 secret: `TOLLGATE_JWT_SECRET` wins, then a plain-text
 * `tollgate:jwtSecret`. A `secure:` value only the Pulumi CLI can decrypt,
 * and no secret at all, both leave jwt verification without a secret: the
 * handler then refuses JWTs, and the notice says how to supply one. No
 * built-in development secret: a token that works locally should be one the
 * developer chose to mint.
 */
export function chooseJwtSecret(stack: StackConfig, fromEnv: string | undefined): JwtSecretChoice {
    if (fromEnv) return { secret: { value: fromEnv }, source: "environment" };
    if (stack.settings.jwtSecret) return { secret: { value: stack.settings.jwtSecret }, source: "stack file" };
    const usesJwt = stack.settings.routes.some((route) => route.auth === "jwt" || route.auth === "any");
    const howTo = `set ${envNames.jwtSecret} (at least 32 characters) to the secret to verify HS256 tokens with`;
    if (stack.secureKeys.includes("tollgate:jwtSecret")) {
        return {
            secret: undefined,
            source: "secure value in stack file",
            notice: `tollgate:jwtSecret in ${path.basename(stack.file)} is encrypted (secure:), and only the Pulumi CLI can decrypt it; JWTs are refused until you ${howTo}, e.g.\n  ${envNames.jwtSecret}="$(pulumi config get tollgate:jwtSecret --stack ${stack.stack})" npm start`,
        };
    }
    return {
        secret: undefined,
        source: "none",
        notice: usesJwt ? `no tollgate:jwtSecret in ${path.basename(stack.file)}; JWTs are refused until you ${howTo}` : undefined,
    };
}

/** Settings the way the Lambda gets them, with the local tables and store. */
/** How long the handler waits on the embedded store per attempt: far longer than on DynamoDB (1 s), see RuntimeSettings. */
export const localStoreRequestTimeoutMs = 10_000;

export function localRuntimeSettings(stack: StackConfig, tables: Record<string, string>, dynamoEndpoint: string, jwt: JwtSecretChoice, keys: KeyMaterial): RuntimeSettings {
    return {
        ...capturedSettings(stack.settings),
        // Plain HTTP on loopback: a Secure cookie would never be sent back (curl keeps it to itself).
        sessions: { ...stack.settings.sessions, cookie: { ...stack.settings.sessions.cookie, secure: false } },
        tables: { rateLimits: tables[rateLimitsTable.name], sessions: tables[sessionsTable.name] },
        region: stack.region ?? "us-east-1",
        logLevel: stack.settings.logLevel,
        jwtSecret: jwt.secret,
        gatewayKeys: { value: keys },
        dynamoEndpoint,
        // The embedded store runs in this process; under a load test it is this machine, not DynamoDB, that is slow.
        storeRequestTimeoutMs: localStoreRequestTimeoutMs,
    };
}

export async function startLocal(options: LocalOptions, stack: StackConfig, createHandler: CreateHandler, progress: (step: string) => void = () => {}): Promise<LocalGateway> {
    const routeNames = stack.settings.routes.map((route) => route.name);
    checkUpstreamNames(options.upstreams, routeNames);
    const jwt = chooseJwtSecret(stack, options.jwtSecretFromEnv);

    const started: { close(): Promise<void> }[] = [];
    const closeAll = async () => {
        for (const part of started.reverse()) await part.close().catch(() => undefined);
        started.length = 0;
    };
    try {
        if (!options.memory) {
            try {
                started.push(lockDataDir(options.dataDir));
            } catch (error) {
                throw error instanceof DataDirInUseError ? new StartError(error.message) : error;
            }
        }
        const store = await startEmbeddedStore({ port: options.dynamoPort, path: options.memory ? undefined : options.dataDir }).catch((error) => {
            throw asPortInUse(error, options.dynamoPort, `set ${envNames.dynamoPort} to another port (the sessions command needs the same value)`);
        });
        started.push(store);
        progress(`store listening on ${store.endpoint}`);

        const client = new DynamoDBClient({
            endpoint: store.endpoint,
            region: stack.region ?? "us-east-1",
            credentials: { accessKeyId: "local", secretAccessKey: "local" },
        });
        // dynalite implements no UpdateTimeToLive; the runtime treats expired items as absent anyway.
        const tables = await ensureTables(client, stack.settings.prefix, [...builtInTables, ...stack.settings.appTables], { enableTtl: false }).finally(
            () => client.destroy(),
        );

        progress(`${Object.keys(tables).length} tables ready`);
        const builtIn = stack.settings.routes.filter((route) => !upstreamOf(route, options.upstreams));
        const echoes = await Promise.all(builtIn.filter((route) => !handlesSessions(route)).map((route) => startEchoUpstream(route.name)));
        started.push(...echoes);
        const login = builtIn.some(handlesSessions) ? await startLoginUpstream("login") : undefined;
        if (login) started.push(login);
        const routes = localRoutes(stack.settings.routes, stack.settings.defaultRateLimit, options.upstreams, echoes, login);

        const keys = localKeyMaterial(options.memory ? undefined : options.dataDir);
        progress(keys.file ? `gateway keys ${keys.created ? "made in" : "read from"} ${keys.file}` : "gateway keys made for this run");
        const settings = localRuntimeSettings(stack, tables, store.endpoint, jwt, keys.material);
        settings.routes = settings.routes.map((route) => ({ ...route, upstream: routes.find((r) => r.name === route.name)!.upstream }));
        // Deployed, a path no route matches gets a plain 404; here it lists the routes.
        let inspector: Inspector | undefined;
        // No X-Ray here, whatever the environment says: the trace is the client's or a new one.
        const created = createHandler(settings, { inspect: (inspection) => inspector?.decision(inspection), xrayTraceHeader: () => undefined });
        const handler = withRouteList(created as GatewayHandler, settings.routes);

        const gateway: RunningGateway = await startGateway({
            handler,
            port: options.port,
            cors: stack.settings.cors,
            functionTimeoutMs: stack.settings.lambda.timeoutSeconds * 1000,
            // As the Gateway component sets it: the function's timeout, at most the HTTP API maximum.
            integrationTimeoutMs: Math.min(stack.settings.lambda.timeoutSeconds * 1000, 30_000),
            functionName: `${stack.settings.prefix}-${functionNameSuffix}`,
            memoryMb: stack.settings.lambda.memoryMb,
            region: settings.region,
            onExchange: (exchange) => inspector?.exchange(exchange),
        }).catch((error) => {
            throw asPortInUse(error, options.port, `use --port N or set ${envNames.port} (0 picks a free port)`);
        });
        started.push(gateway);

        const inspectorOptions = { gatewayUrl: gateway.url, routes: settings.routes.map((route) => route.name) };
        if (options.inspectorPort !== undefined) {
            inspector = await startInspector({ ...inspectorOptions, port: options.inspectorPort }).catch((error) => {
                throw asPortInUse(error, options.inspectorPort!, "use --inspector-port N (0 picks a free port)");
            });
        } else {
            // The port after the gateway's, so the address stays the same from one start to the next; any free one when that is taken.
            inspector = await startInspector({ ...inspectorOptions, port: gateway.port + 1 < 65536 ? gateway.port + 1 : 0 }).catch(() => startInspector({ ...inspectorOptions, port: 0 }));
        }
        started.push(inspector);

        const identity = { issuer: settings.identity.issuer, jwksUrl: `${gateway.url}${jwksPath}`, keysFile: keys.file };
        return { url: gateway.url, port: gateway.port, store, settings, tables, routes, jwt, identity, inspector, close: closeAll };
    } catch (error) {
        await closeAll();
        throw error;
    }
}

export class StartError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StartError";
    }
}

function asPortInUse(error: unknown, port: number, howToChange: string): unknown {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === "EADDRINUSE" || (error as Error)?.name === "PortInUseError") {
        return new StartError(`port ${port} on 127.0.0.1 is already in use (another npm start?); ${howToChange}`);
    }
    if (code === "EACCES") return new StartError(`port ${port} on 127.0.0.1 needs privileges this process lacks; ${howToChange}`);
    return error;
}

/** The upstream npm start proxies a route to as given: `--upstream`, else a loopback URL of the stack file; undefined means the echo. */
function upstreamOf(route: RouteSpec, overrides: Map<string, string>): string | undefined {
    return overrides.get(route.name) ?? (isLoopbackUrl(route.upstream) ? route.upstream : undefined);
}

/** Routes whose upstream issues or ends sessions get the built-in login upstream instead of an echo. */
function handlesSessions(route: RouteSpec): boolean {
    return route.sessions?.issue === true || route.sessions?.revoke === true;
}

function localRoutes(routes: RouteSpec[], defaultRateLimit: RateLimitPolicy, overrides: Map<string, string>, echoes: EchoUpstream[], login: LoginUpstream | undefined): LocalRoute[] {
    return routes.map((route) => {
        const override = upstreamOf(route, overrides);
        const isLogin = override === undefined && handlesSessions(route);
        // The login upstream keeps the configured base path: a `/auth/logout` route sent to `.../logout` reaches its logout.
        const builtIn = isLogin ? `${login!.url}${new URL(route.upstream).pathname.replace(/\/+$/, "")}` : echoes.find((echo) => echo.name === route.name)?.url;
        return {
            name: route.name,
            pathPrefix: route.pathPrefix,
            auth: route.auth,
            permissions: route.permissions,
            rateLimit: route.rateLimit ?? defaultRateLimit,
            defaultRateLimit: route.rateLimit === undefined,
            upstream: override ?? builtIn!,
            echo: override === undefined && !isLogin,
            login: isLogin,
        };
    });
}
