/**
 * `npm run --silent sessions -- <command>`: create, inspect and revoke
 * sessions in a sessions table.
 *
 * Where the table is:
 *   --local            the store of a running `npm start` (http://127.0.0.1:$DYNAMODB_PORT,
 *                      default 8000), table `<prefix>-sessions` of --stack (default dev)
 *   --endpoint URL     any DynamoDB-compatible endpoint (DynamoDB Local, dynalite)
 *   (neither)          AWS, with the default credential chain
 *   --table NAME       the physical table; default `<prefix>-sessions` of --stack
 *   --region REGION    default: the stack's aws:region, else AWS_REGION
 *
 * Exit codes: 0 done; 1 not found (get, revoke); 2 usage error; 3 the table
 * could not be reached or refused the operation.
 */
import { parseArgs } from "node:util";
import { storeEndpoint, storeRegion, UsageError } from "../data/commandLine";
import { loadStackConfig } from "../specs/stackFile";
import { ConfigError } from "../specs/config";
import { physicalTableName, sessionsTable } from "../specs/tables";
import { createDynamoClient } from "../runtime/stores/dynamo";
import { createSessions, defaultSessionTtlSeconds, SessionInputError, type Session } from "../runtime/sessions";

export const usage = `Usage: npm run --silent sessions -- <command> [flags]

Commands:
  create --user ID [--username NAME] [--roles a,b] [--permissions p,q] [--ttl SECONDS]
                        create a session; prints its token, alone, on stdout
  get TOKEN             print the session a token opens (JSON); exit 1 if none
  list --user ID [--all]
                        print the user's active sessions, one JSON object a line
                        (--all: expired ones still stored too)
  revoke TOKEN          delete the session a token opens; exit 1 if none
  revoke --session-id ID
                        delete a session by its session_id (as list prints it)
  revoke-all --user ID  delete every session of a user; prints how many

Where:
  --local               the store of a running \`npm start\` (127.0.0.1:$DYNAMODB_PORT, default 8000)
  --endpoint URL        a DynamoDB-compatible endpoint (DynamoDB Local, dynalite)
  --stack NAME          stack whose prefix names the table (default dev)
  --config FILE         read this stack file instead of Pulumi.<stack>.yaml
  --table NAME          the sessions table (default <prefix>-sessions of the stack)
  --region REGION       AWS region (default the stack's aws:region, else AWS_REGION)
  -h, --help            print this help

Exit codes: 0 done, 1 not found, 2 usage error, 3 the table could not be reached.
`;

export interface SessionsCommand {
    command: "create" | "get" | "list" | "revoke" | "revoke-all" | "help";
    token?: string;
    sessionId?: string;
    userId?: string;
    username?: string;
    roles: string[];
    permissions: string[];
    ttlSeconds: number;
    includeExpired: boolean;
    endpoint?: string;
    tableName: string;
    region: string;
}

const commands = new Set(["create", "get", "list", "revoke", "revoke-all"]);

function list(value: string | undefined): string[] {
    return (value ?? "")
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean);
}

export function parseCommand(argv: string[], env: NodeJS.ProcessEnv): SessionsCommand {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            strict: true,
            allowPositionals: true,
            options: {
                user: { type: "string" },
                username: { type: "string" },
                roles: { type: "string" },
                permissions: { type: "string" },
                ttl: { type: "string" },
                all: { type: "boolean" },
                "session-id": { type: "string" },
                local: { type: "boolean" },
                endpoint: { type: "string" },
                stack: { type: "string" },
                config: { type: "string" },
                table: { type: "string" },
                region: { type: "string" },
                help: { type: "boolean", short: "h" },
            },
        });
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
    const { values, positionals } = parsed;
    const [command, ...rest] = positionals;
    const base = { roles: [], permissions: [], ttlSeconds: defaultSessionTtlSeconds, includeExpired: false, tableName: "", region: "" };
    if (values.help || command === "help") return { ...base, command: "help" };
    if (command === undefined) throw new UsageError(`a command is required (one of: ${[...commands].join(", ")})`);
    if (!commands.has(command)) throw new UsageError(`unknown command '${command}' (expected one of: ${[...commands].join(", ")})`);

    const takesToken = command === "get" || (command === "revoke" && values["session-id"] === undefined);
    if (takesToken && rest.length !== 1) throw new UsageError(`${command}: expected exactly one TOKEN${command === "revoke" ? " (or --session-id ID)" : ""}`);
    if (!takesToken && rest.length > 0) throw new UsageError(`${command}: unexpected argument '${rest[0]}'`);
    if ((command === "create" || command === "list" || command === "revoke-all") && !values.user?.trim()) throw new UsageError(`${command}: --user ID is required`);
    if (command === "revoke" && values["session-id"] !== undefined && !/^[0-9a-f]{64}$/.test(values["session-id"])) {
        throw new UsageError("--session-id: expected the 64 hex digits of a session_id");
    }
    let ttlSeconds = defaultSessionTtlSeconds;
    if (values.ttl !== undefined) {
        if (!/^\d+$/.test(values.ttl) || Number(values.ttl) <= 0) throw new UsageError(`--ttl: expected a positive whole number of seconds, got '${values.ttl}'`);
        ttlSeconds = Number(values.ttl);
    }
    const endpoint = storeEndpoint(values, env);

    let tableName = values.table;
    let region = values.region;
    if (!tableName || !region) {
        const needStack = !tableName || values.stack !== undefined || values.config !== undefined;
        const stack = needStack ? loadStackConfig(values.stack ?? "dev", { file: values.config }) : undefined;
        tableName ??= physicalTableName(stack!.settings.prefix, sessionsTable);
        region = storeRegion(region, stack?.region, endpoint, env);
        if (!region) throw new UsageError("--region: no region given, none in the stack file, and AWS_REGION is not set");
    }
    return {
        command: command as SessionsCommand["command"],
        token: takesToken ? rest[0] : undefined,
        sessionId: values["session-id"],
        userId: values.user?.trim(),
        username: values.username,
        roles: list(values.roles),
        permissions: list(values.permissions),
        ttlSeconds,
        includeExpired: values.all ?? false,
        endpoint,
        tableName,
        region,
    };
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
            if (error instanceof UsageError) output.err("Run with --help for usage.");
            return 2;
        }
        throw error;
    }
    if (command.command === "help") {
        output.out(usage.trimEnd());
        return 0;
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
                });
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
            return 2;
        }
        output.err(`sessions: ${describeStoreError(error, command)}`);
        return 3;
    } finally {
        client.destroy();
    }
    return 0;
}

function describeStoreError(error: unknown, command: SessionsCommand): string {
    const name = (error as { name?: string } | undefined)?.name ?? "Error";
    const where = command.endpoint ? `${command.endpoint}` : `AWS (${command.region})`;
    if (name === "ResourceNotFoundException") return `table ${command.tableName} does not exist at ${where}${command.endpoint?.startsWith("http://127.0.0.1") ? " (is `npm start` running with the same --stack?)" : ""}`;
    const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
    if (code === "ECONNREFUSED" || name === "TimeoutError" || /ECONNREFUSED|connect/i.test(String((error as Error).message))) {
        return `cannot reach DynamoDB at ${where}${command.endpoint?.startsWith("http://127.0.0.1") ? " (is `npm start` running? DYNAMODB_PORT must match)" : ""}`;
    }
    if (name === "CredentialsProviderError" || name === "UnrecognizedClientException" || name === "ExpiredTokenException") {
        return `AWS credentials were not accepted (${name}); configure credentials for ${where} or use --local / --endpoint`;
    }
    if (name === "AccessDeniedException") return `access denied to table ${command.tableName} at ${where}`;
    return `the operation on ${command.tableName} at ${where} failed: ${name}: ${(error as Error).message}`;
}

if (require.main === module) {
    // The SDK warns on a Node older than 22 that future SDK releases will need 22; this
    // project pins its SDK, and the warning would bury the command's own messages.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    run(process.argv.slice(2), process.env, {
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`${line}\n`),
    }).then(
        (code) => {
            process.exitCode = code;
        },
        (error) => {
            process.stderr.write(`sessions: unexpected failure: ${(error as Error).stack ?? error}\n`);
            process.exitCode = 3;
        },
    );
}
