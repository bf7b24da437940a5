/**
 * `npm run --silent sessions -- <command>`: create, inspect and revoke
 * sessions in a sessions table. The flags are the table in
 * `sessionsCommandLine`; where the table is: `--local` (the store of a running
 * `npm start`), `--endpoint URL`, or AWS with the default credential chain.
 *
 * Exit codes: 0 done; 1 not found (get, revoke); 2 usage error (a new
 * session above the stack's limits included); 3 the table could not be
 * reached or refused the operation; 4 no AWS credentials.
 */
import {
    commandIn,
    credentialsProblem,
    helpFlag,
    helpText,
    noCredentialsExitCode,
    parseCommandLine,
    stackNameOfFile,
    storeEndpoint,
    storeRegion,
    usageHint,
    UsageError,
    invocationOf,
    type CommandLineSpec,
    type FlagTable,
    type FlagValues,
} from "../data/commandLine";
import { loadStackConfig } from "../specs/stackFile";
import { ConfigError } from "../specs/config";
import { physicalTableName, sessionsTable } from "../specs/tables";
import { createDynamoClient } from "../runtime/stores/sdkClient";
import { createSessions, SessionInputError, type Session } from "../runtime/sessions";

export const exitCodes = { ok: 0, notFound: 1, usage: 2, store: 3, noCredentials: noCredentialsExitCode } as const;

/** Where the table is: every command takes these. */
const whereFlags = {
    local: { type: "boolean", group: "Where", help: "the store of a running `npm start` (127.0.0.1:$DYNAMODB_PORT, default 8000)" },
    endpoint: { type: "string", value: "URL", group: "Where", help: "a DynamoDB-compatible endpoint (DynamoDB Local, dynalite)" },
    stack: { type: "string", value: "NAME", group: "Where", help: "stack whose prefix names the table and whose tollgate:sessions limits apply (default dev)" },
    config: { type: "string", value: "FILE", group: "Where", help: "read this stack file instead of Pulumi.<stack>.yaml" },
    table: { type: "string", value: "NAME", group: "Where", help: "the sessions table (default <prefix>-sessions of the stack)" },
    region: { type: "string", value: "REGION", group: "Where", help: "AWS region (default the stack's aws:region, else AWS_REGION)" },
    help: helpFlag,
} as const satisfies FlagTable;

const userFlag = { type: "string", value: "ID", required: true, help: "the user's id (user_id)" } as const;

const createFlags = {
    user: userFlag,
    username: { type: "string", value: "NAME", help: "the user's name, told to upstreams" },
    roles: { type: "string", value: "a,b", help: "roles, separated by commas" },
    permissions: { type: "string", value: "p,q", help: "permissions, separated by commas" },
    ttl: { type: "string", value: "SECONDS", help: "lifetime (default tollgate:sessions.defaultTtlSeconds; at most tollgate:sessions.maxTtlSeconds)" },
} as const satisfies FlagTable;
const listFlags = { user: userFlag, all: { type: "boolean", help: "expired sessions still stored too" } } as const satisfies FlagTable;
const revokeFlags = { "session-id": { type: "string", value: "ID", help: "the session's session_id (as list prints it), instead of a TOKEN" } } as const satisfies FlagTable;

/** The sessions command's flags, declared once: the parser, the help and every flag error come from this. */
export const sessionsCommandLine: CommandLineSpec = {
    name: "sessions",
    invocation: invocationOf("npm run --silent sessions --", "sessions"),
    summary: "Creates, inspects and revokes sessions in a stack's sessions table: the npm start store (--local),\nany DynamoDB-compatible endpoint (--endpoint), or AWS (neither).",
    flags: whereFlags,
    commands: {
        create: { summary: "create a session; prints its token, alone, on stdout", flags: createFlags },
        get: { summary: "print the session a token opens (JSON); exit 1 if none", argument: { name: "TOKEN", required: true }, flags: {} },
        list: { summary: "print the user's active sessions, one JSON object a line", flags: listFlags },
        revoke: { summary: "delete the session a token (or --session-id) opens; exit 1 if none", argument: { name: "TOKEN", required: false }, flags: revokeFlags },
        "revoke-all": { summary: "delete every session of a user; prints how many", flags: { user: userFlag } },
    },
    epilogue: `Exit codes: ${exitCodes.ok} done, ${exitCodes.notFound} not found, ${exitCodes.usage} usage error, ${exitCodes.store} the table could not be reached or refused the operation, ${exitCodes.noCredentials} no AWS credentials.`,
};

export const usage = helpText(sessionsCommandLine);

type SessionsFlags = FlagValues<typeof whereFlags & typeof createFlags & typeof listFlags & typeof revokeFlags>;

export interface SessionsCommand {
    command: "create" | "get" | "list" | "revoke" | "revoke-all" | "help";
    /** With `help`: the command whose help was asked for. */
    helpFor?: string;
    token?: string;
    sessionId?: string;
    userId?: string;
    username?: string;
    roles: string[];
    permissions: string[];
    /** Undefined: the stack's tollgate:sessions.defaultTtlSeconds. */
    ttlSeconds?: number;
    /** The stack's limits on a new session (create only). */
    limits?: { defaultTtlSeconds: number; maxTtlSeconds: number };
    includeExpired: boolean;
    endpoint?: string;
    tableName: string;
    region: string;
}

function list(value: string | undefined): string[] {
    return (value ?? "")
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean);
}

export function parseCommand(argv: string[], env: NodeJS.ProcessEnv): SessionsCommand {
    const parsed = parseCommandLine(sessionsCommandLine, argv);
    const base = { roles: [], permissions: [], includeExpired: false, tableName: "", region: "" };
    if (parsed.help) return { ...base, command: "help", helpFor: parsed.command };
    const command = parsed.command as Exclude<SessionsCommand["command"], "help">;
    const values = parsed.values as SessionsFlags;

    if (values.user !== undefined && !values.user.trim()) throw new UsageError(`--user: required (${userFlag.help})`);
    const sessionId = values["session-id"];
    if (command === "revoke" && (parsed.argument === undefined) === (sessionId === undefined)) {
        throw new UsageError(`revoke: TOKEN or --session-id ID, one of the two (${sessionsCommandLine.invocation} revoke TOKEN)`);
    }
    if (sessionId !== undefined && !/^[0-9a-f]{64}$/.test(sessionId)) throw new UsageError("--session-id: expected the 64 hex digits of a session_id");
    let ttlSeconds: number | undefined;
    if (values.ttl !== undefined) {
        if (!/^\d+$/.test(values.ttl) || Number(values.ttl) <= 0) throw new UsageError(`--ttl: expected a positive whole number of seconds, got '${values.ttl}'`);
        ttlSeconds = Number(values.ttl);
    }
    const endpoint = storeEndpoint(values, env);

    let tableName = values.table;
    let region = values.region;
    let limits: SessionsCommand["limits"];
    // A new session is held to the stack's limits, so create always reads the stack.
    if (!tableName || !region || command === "create") {
        const needStack = !tableName || command === "create" || values.stack !== undefined || values.config !== undefined;
        const stackName = values.stack ?? (values.config ? stackNameOfFile(values.config) : undefined) ?? "dev";
        const stack = needStack ? loadStackConfig(stackName, { file: values.config }) : undefined;
        tableName ??= physicalTableName(stack!.settings.prefix, sessionsTable);
        region = storeRegion(region, stack?.region, endpoint, env);
        if (!region) throw new UsageError("--region: no region given, none in the stack file, and AWS_REGION is not set");
        if (command === "create") {
            const { defaultTtlSeconds, maxTtlSeconds } = stack!.settings.sessions;
            limits = { defaultTtlSeconds, maxTtlSeconds };
            if (ttlSeconds !== undefined && ttlSeconds > maxTtlSeconds) {
                throw new UsageError(`--ttl: ${ttlSeconds} seconds is longer than tollgate:sessions.maxTtlSeconds of stack ${stack!.stack} (${maxTtlSeconds} seconds, ${describeSeconds(maxTtlSeconds)})`);
            }
        }
    }
    return {
        command,
        token: parsed.argument,
        sessionId,
        userId: values.user?.trim(),
        username: values.username,
        roles: list(values.roles),
        permissions: list(values.permissions),
        ttlSeconds,
        limits,
        includeExpired: values.all ?? false,
        endpoint,
        tableName,
        region,
    };
}

/** `2592000` -> `30 days`, `5400` -> `1.5 hours`: a lifetime a person reads at a glance. */
function describeSeconds(seconds: number): string {
    const [size, unit] = seconds >= 86_400 ? [86_400, "day"] : seconds >= 3600 ? [3600, "hour"] : seconds >= 60 ? [60, "minute"] : [1, "second"];
    const count = Math.round((seconds / size) * 10) / 10;
    return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

/** The JSON shape the command prints: the table's own attribute names. */
function printable(session: Session): Record<string, unknown> {
    return {
        session_id: session.sessionId,
        user_id: session.userId,
        username: session.username,
        roles: session.roles,
        permissions: session.permissions,
        created_at: session.createdAt,
        expires_at: session.expiresAt,
        ttl_seconds: session.ttlSeconds,
    };
}

export interface Output {
    out(line: string): void;
    err(line: string): void;
}

export async function run(argv: string[], env: NodeJS.ProcessEnv, output: Output): Promise<number> {
    let command: SessionsCommand;
    try {
        command = parseCommand(argv, env);
    } catch (error) {
        if (error instanceof UsageError || error instanceof ConfigError) {
            output.err(`sessions: ${error.message}`);
            if (error instanceof UsageError) output.err(usageHint(sessionsCommandLine, commandIn(sessionsCommandLine, argv)));
            return exitCodes.usage;
        }
        throw error;
    }
    if (command.command === "help") {
        output.out(helpText(sessionsCommandLine, command.helpFor).trimEnd());
        return exitCodes.ok;
    }

    const client = createDynamoClient({ region: command.region, endpoint: command.endpoint, maxAttempts: 2, connectionTimeoutMs: 2000, requestTimeoutMs: 10_000 });
    const sessions = createSessions({ dynamo: client, tableName: command.tableName });
    try {
        switch (command.command) {
            case "create": {
                const { token } = await sessions.create({
                    userId: command.userId!,
                    username: command.username,
                    roles: command.roles,
                    permissions: command.permissions,
                    ttlSeconds: command.ttlSeconds,
                }, command.limits);
                output.out(token);
                return 0;
            }
            case "get": {
                const session = await sessions.get(command.token!);
                if (!session) {
                    output.err("sessions: no active session for this token (unknown, revoked or expired)");
                    return 1;
                }
                output.out(JSON.stringify(printable(session), null, 2));
                return 0;
            }
            case "list": {
                for (const session of await sessions.listForUser(command.userId!, { includeExpired: command.includeExpired })) {
                    output.out(JSON.stringify(printable(session)));
                }
                return 0;
            }
            case "revoke": {
                const revoked = command.sessionId ? await sessions.revokeById(command.sessionId) : await sessions.revoke(command.token!);
                if (!revoked) {
                    output.err("sessions: no such session (unknown or already revoked)");
                    return 1;
                }
                output.err("sessions: revoked");
                return 0;
            }
            case "revoke-all": {
                const count = await sessions.revokeAllForUser(command.userId!);
                output.out(String(count));
                return 0;
            }
        }
    } catch (error) {
        if (error instanceof SessionInputError) {
            output.err(`sessions: ${error.message}`);
            return exitCodes.usage;
        }
        const credentials = credentialsProblem(error, whereOf(command));
        if (credentials) {
            output.err(`sessions: ${credentials}`);
            return exitCodes.noCredentials;
        }
        output.err(`sessions: ${describeStoreError(error, command)}`);
        return exitCodes.store;
    } finally {
        client.destroy();
    }
    return 0;
}

/** `AWS eu-west-1`, or the endpoint: where the command looked for the table. */
function whereOf(command: SessionsCommand): string {
    return command.endpoint ?? `AWS ${command.region}`;
}

function describeStoreError(error: unknown, command: SessionsCommand): string {
    const name = (error as { name?: string } | undefined)?.name ?? "Error";
    const where = whereOf(command);
    if (name === "ResourceNotFoundException") return `table ${command.tableName} does not exist at ${where}${command.endpoint?.startsWith("http://127.0.0.1") ? " (is `npm start` running with the same --stack?)" : ""}`;
    const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
    if (code === "ECONNREFUSED" || name === "TimeoutError" || /ECONNREFUSED|connect/i.test(String((error as Error).message))) {
        return `cannot reach DynamoDB at ${where}${command.endpoint?.startsWith("http://127.0.0.1") ? " (is `npm start` running? DYNAMODB_PORT must match)" : ""}`;
    }
    if (name === "AccessDeniedException") return `access denied to table ${command.tableName} at ${where}`;
    return `the operation on ${command.tableName} at ${where} failed: ${name}: ${(error as Error).message}`;
}

/** Runs the command in this process with these arguments; sets the exit code. */
export function runSessionsCommand(argv: string[]): void {
    // The SDK warns on a Node older than 22 that future SDK releases will need 22; this
    // project pins its SDK, and the warning would bury the command's own messages.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    run(argv, process.env, {
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
    }).then(
        (code) => {
            process.exitCode = code;
        },
        (error) => {
            process.stderr.write(`sessions: unexpected failure: ${(error as Error).stack ?? error}\n`);
            process.exitCode = exitCodes.store;
        },
    );
}

if (require.main === module) runSessionsCommand(process.argv.slice(2));
