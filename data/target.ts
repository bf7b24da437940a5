/**
 * Which tables the data commands work on and where they are: the stack's
 * table specs and prefix (`--stack`, `--config`), and the store (`--local`:
 * the `npm start` store; `--endpoint URL`; otherwise AWS in `--region` or the
 * stack's `aws:region`).
 */
import * as path from "node:path";
import { storeEndpoint, storeRegion, stackNameOfFile, UsageError } from "./commandLine";
import { ConfigError } from "../specs/config";
import { loadStackConfig, type StackConfig } from "../specs/stackFile";
import { builtInTables, physicalTableName, type TableSpec } from "../specs/tables";
import { createDynamoClient, type Credentials, type DataSettings } from "./options";

export interface TargetFlags {
    stack?: string;
    config?: string;
    local?: boolean;
    endpoint?: string;
    region?: string;
}

export interface DataTarget {
    stack: StackConfig;
    prefix: string;
    specs: TableSpec[];
    /** Endpoint, region, credentials and prefix for the table clients. */
    settings: DataSettings;
    /** True when writing to AWS itself (no endpoint override). */
    aws: boolean;
    /** For messages: `the local store at http://127.0.0.1:8000`, `AWS eu-west-1`. */
    description: string;
}

export function resolveTarget(flags: TargetFlags, env: NodeJS.ProcessEnv): DataTarget {
    const endpoint = storeEndpoint(flags, env);
    const stackName = flags.stack ?? (flags.config ? stackNameOfFile(flags.config) ?? path.basename(flags.config).replace(/\.ya?ml$/, "") : "dev");
    let stack: StackConfig;
    try {
        stack = loadStackConfig(stackName, flags.config ? { file: flags.config } : {});
    } catch (error) {
        if (error instanceof ConfigError) throw new UsageError(`${flags.config ? "--config" : "--stack"}: ${error.message}`);
        throw error;
    }
    const specs = [...builtInTables, ...stack.settings.appTables];
    const prefix = stack.settings.prefix;
    const region = storeRegion(flags.region, stack.region, endpoint, env);
    if (!region) throw new UsageError(`--region: no region for AWS (stack ${stack.stack} sets no aws:region and AWS_REGION is unset)`);
    // Local stores take any credentials; like the AWS CLI with --endpoint-url, use the environment's when set.
    const credentials: Credentials | undefined =
        endpoint && !env.AWS_ACCESS_KEY_ID ? { accessKeyId: "local", secretAccessKey: "local" } : undefined;
    return {
        stack,
        prefix,
        specs,
        settings: { prefix, endpoint, region, credentials },
        aws: endpoint === undefined,
        description: flags.local ? `the local store at ${endpoint}` : endpoint ? `the store at ${endpoint}` : `AWS ${region}`,
    };
}

/** The spec of a table named by spec name (`users`) or physical name (`tollgate-dev-users`); undefined when the stack has none. */
export function tableSpecNamed(target: DataTarget, name: string): TableSpec | undefined {
    return target.specs.find((candidate) => candidate.name === name || physicalTableName(target.prefix, candidate) === name);
}

/** Why `name` names no table: the stack, and the tables it does have. */
export function noSuchTable(target: DataTarget, name: string): string {
    return `stack ${target.stack.stack} has no table '${name}' (tables: ${target.specs.map((candidate) => candidate.name).join(", ")})`;
}

/** `tableSpecNamed`, or a UsageError naming `--table`. */
export function findTableSpec(target: DataTarget, name: string): TableSpec {
    const spec = tableSpecNamed(target, name);
    if (!spec) throw new UsageError(`--table: ${noSuchTable(target, name)}`);
    return spec;
}

/**
 * Resolves the AWS credentials the table clients will sign with, so a command
 * without any says so before it reads or writes anything, instead of an
 * import counting every item as not written. Local stores need none.
 */
export async function requireCredentials(target: DataTarget): Promise<void> {
    if (!target.aws) return;
    const client = createDynamoClient(target.settings);
    try {
        await client.config.credentials();
    } finally {
        client.destroy();
    }
}
