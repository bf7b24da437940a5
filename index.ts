/**
 * tollgate's own stacks: the first program that uses the Tollgate component.
 *
 *   client -> API Gateway HTTP API ($default stage) -> gateway Lambda -> upstreams
 *                                                          |
 *                                      DynamoDB: rate limits, sessions, app tables
 *                                      (replicas per tollgate:tables.replicaRegions,
 *                                       AWS Backup per tollgate:backup)
 *
 * Reads the stack's `tollgate:*` config, validates it (a bad value stops the
 * program here, naming the key, before any resource exists), and hands it to
 * one Tollgate as its args. It imports the package root, as a program that
 * installed tollgate from npm does.
 */
import * as pulumi from "@pulumi/pulumi";
import { Tollgate, type TollgateConfig } from "./components";
import { ConfigError, parsePulumiConfigValues, resolveSettings } from "./specs/config";

/** The stack's `tollgate:*` values, namespace stripped, once the schema has accepted them. */
function stackConfig(): TollgateConfig {
    const raw = parsePulumiConfigValues(pulumi.runtime.allConfig());
    try {
        resolveSettings(raw, { region: new pulumi.Config("aws").get("region") });
    } catch (error) {
        // A RunError prints its message alone, without a stack trace.
        if (error instanceof ConfigError) throw new pulumi.RunError(error.message);
        throw error;
    }
    return raw as TollgateConfig;
}

/**
 * Stacks deployed before the Tollgate component held its five components at
 * the stack's root, named `tables`, `logging`, `gateway`, `domain` and
 * `backup`. Each now carries an alias to that URN, and their resources inherit
 * it, so an existing stack updates in place (test/program-urns.test.ts).
 */
const keepEarlierUrns: pulumi.ResourceTransformation = ({ type, name, props, opts }) => {
    const role = /^tollgate:(tables|logging|gateway|domain|backup):/.exec(type)?.[1];
    if (!role || name !== `${gatewayName}-${role}`) return undefined;
    return { props, opts: pulumi.mergeOptions(opts, { aliases: [{ name: role, parent: pulumi.rootStackResource }] }) };
};

const gatewayName = "tollgate";
const gateway = new Tollgate(gatewayName, stackConfig(), { transformations: [keepEarlierUrns] });

export const apiUrl = gateway.url;
export const functionName = gateway.functionName;
export const tableNames = gateway.tableNames;
export const logGroupNames = gateway.logGroupNames;
export const dashboardName = gateway.dashboardName;
export const domainUrl = gateway.domainUrl;
export const backupVaultName = gateway.backupVaultName;
/** What an upstream verifies `x-gateway-assertion` with: the gateway's JWKS (served on the custom domain too) and the `iss` to expect. */
export const identityJwksUrl = gateway.jwksUrl;
export const identityIssuer = gateway.issuer;
