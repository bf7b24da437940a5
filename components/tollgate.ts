/**
 * Tollgate: the whole gateway as one component. An API Gateway HTTP API and
 * the Lambda behind it that rate-limits, authenticates and proxies every
 * request; the rate-limits, sessions and application tables; log groups,
 * alarms and a dashboard; and, as the args ask, a custom domain and AWS
 * Backup. It composes the Tables, Logging, Gateway, Domain and Backup
 * components, each a child named `{name}-tables`, `{name}-logging`, ...
 *
 * Its args are the `tollgate:*` config keys (specs/args.ts), validated by the
 * same schema as a stack file: a bad plain value stops the program here,
 * before any resource exists; a bad value that comes from another resource
 * fails the deployment once it resolves. Either way the error names the arg.
 */
import * as pulumi from "@pulumi/pulumi";
import { localViewsKey, type LocalView, type TollgateConfig } from "../specs/args";
import { ConfigError, resolveSettings, type TollgateSettings } from "../specs/config";
import { assertionIssuer, capturedSettings } from "../specs/lambda";
import { jwksPath } from "../specs/routes";
import { builtInTables, physicalTableName, rateLimitsTable, replicaRegionsOf, sessionsTable } from "../specs/tables";
import { Backup, type BackupArgs } from "./backup";
import { inputFor, isDeferred, separateInputs } from "./deferred";
import { Domain, type DomainArgs } from "./domain";
import { Gateway, gatewayFunctionName, type CapturedInput, type GatewayArgs } from "./gateway";
import { Logging, type LoggingArgs } from "./logging";
import type { NetworkArgs } from "./network";
import { Tables, type TablesArgs } from "./tables";

/** The transform of each kind of resource, by the component that creates it. */
interface ChildTransforms {
    tables: NonNullable<TablesArgs["transform"]>;
    logging: NonNullable<LoggingArgs["transform"]>;
    gateway: Omit<NonNullable<GatewayArgs["transform"]>, "network">;
    network: NonNullable<NetworkArgs["transform"]>;
    domain: NonNullable<DomainArgs["transform"]>;
    backup: NonNullable<BackupArgs["transform"]>;
}

type TransformedArgs<T> = Extract<NonNullable<T>, (...args: never[]) => void> extends (args: infer A, ...rest: never[]) => void ? A : never;

/**
 * A resource Tollgate is about to create, as `transform` sees it: which
 * component creates it and in what role (the roles of that component's own
 * `transform`), its name, and its arguments and options, to edit in place.
 */
export type TollgateResource = {
    [C in keyof ChildTransforms]: {
        [R in keyof ChildTransforms[C]]-?: {
            component: C;
            resource: R;
            name: string;
            args: TransformedArgs<ChildTransforms[C][R]>;
            opts: pulumi.CustomResourceOptions;
        };
    }[keyof ChildTransforms[C]];
}[keyof ChildTransforms];

/** Every role of every child component's transform; the compiler checks each list is whole. */
const transformRoles = {
    tables: ["table", "alarm", "scalingTarget", "scalingPolicy", "replica"],
    logging: ["lambdaLogGroup", "accessLogGroup", "alarmTopic", "alarmSubscription", "alarm", "dashboard", "query"],
    gateway: ["api", "stage", "integration", "route", "permission", "function", "role", "policy", "jwtSecret", "gatewayKeys"],
    network: ["vpc", "securityGroup", "dynamodbEndpoint"],
    domain: ["certificate", "validationRecord", "domainName", "apiMapping", "aliasRecord"],
    backup: ["vault", "copyVault", "plan", "role", "policyAttachment", "selection"],
} as const satisfies { [C in keyof ChildTransforms]: readonly (keyof ChildTransforms[C])[] };
type MissingRoles = { [C in keyof ChildTransforms]: Exclude<keyof ChildTransforms[C], (typeof transformRoles)[C][number]> }[keyof ChildTransforms];
const everyRoleListed: [MissingRoles] extends [never] ? true : MissingRoles = true;
void everyRoleListed;

/** The args of a Tollgate: every `tollgate:*` config key, and `transform`. */
export interface TollgateArgs extends TollgateConfig {
    /**
     * Edits the arguments and options of any resource Tollgate creates, before
     * it is created: the escape hatch for a provider argument the args do not
     * model. Called once per resource; `component` and `resource` say which.
     * TypeScript and JavaScript only: a function cannot cross the package
     * schema, so other languages use Pulumi's `transforms` resource option.
     * @example
     * transform({ resource, args }) {
     *     if (resource === "table") args.tags = { ...args.tags, team: "payments" };
     * }
     */
    transform?(resource: TollgateResource): void;
}

/** The names of the gateway's two log groups. */
export interface LogGroupNames {
    /** `/aws/lambda/{prefix}-gateway` */
    lambda: string;
    /** `/aws/apigateway/{prefix}-api` */
    api: string;
}

interface Children {
    tables: Tables;
    logging: Logging;
    gateway: Gateway;
    domain?: Domain;
    backup?: Backup;
}

/** The child components, kept outside the class: every class property would be an output of the package schema. */
const childrenOf = new WeakMap<Tollgate, Children>();

function localViews(): LocalView[] {
    const global = globalThis as Record<symbol, LocalView[] | undefined>;
    return (global[Symbol.for(localViewsKey)] ??= []);
}

/** Prefixes taken in this program: two Tollgates with one prefix would create the same physical names. */
const prefixesInUse = new Map<string, string>();

/**
 * A serverless API gateway: an HTTP API, one Lambda that rate-limits,
 * authenticates and proxies each request, DynamoDB tables, CloudWatch logs,
 * alarms and a dashboard, and optionally a custom domain and AWS Backup.
 */
export class Tollgate extends pulumi.ComponentResource {
    /** The API's base URL. */
    readonly url: pulumi.Output<string>;
    /** Where upstreams fetch the keys that verify `x-gateway-assertion` (on the custom domain when there is one). */
    readonly jwksUrl: pulumi.Output<string>;
    /** The `iss` of the identity assertion. */
    readonly issuer: pulumi.Output<string>;
    /** The gateway Lambda's name. */
    readonly functionName: pulumi.Output<string>;
    /** Physical table names, by table name (`rate-limits`, `sessions`, then the app tables). */
    readonly tableNames: pulumi.Output<Record<string, string>>;
    /** The gateway's log groups. */
    readonly logGroupNames: pulumi.Output<LogGroupNames>;
    /** The CloudWatch dashboard's name. */
    readonly dashboardName: pulumi.Output<string>;
    /** `https://{domain.name}`; unset without a custom domain. */
    readonly domainUrl?: pulumi.Output<string>;
    /** The AWS Backup vault's name; unset without backup. */
    readonly backupVaultName?: pulumi.Output<string>;

    /** The tables and their alarms. */
    get tables(): Tables {
        return childrenOf.get(this)!.tables;
    }
    /** Log groups, alarm topic, alarms, dashboard and saved queries. */
    get logging(): Logging {
        return childrenOf.get(this)!.logging;
    }
    /** The HTTP API, the Lambda, its role and secrets. */
    get gateway(): Gateway {
        return childrenOf.get(this)!.gateway;
    }
    /** Set with a custom domain. */
    get domain(): Domain | undefined {
        return childrenOf.get(this)!.domain;
    }
    /** Set when backup is enabled. */
    get backup(): Backup | undefined {
        return childrenOf.get(this)!.backup;
    }

    constructor(name: string, args: TollgateArgs, opts?: pulumi.ComponentResourceOptions) {
        // Checked before anything registers: bad args leave no resource behind, not even this one.
        const { transform, ...config } = args ?? {};
        const region = new pulumi.Config("aws").get("region");
        const separated = separateInputs(config, region);
        const settings = validate(name, separated, region);
        const takenBy = prefixesInUse.get(settings.prefix);
        if (takenBy !== undefined) {
            throw new pulumi.RunError(`Tollgate '${name}': prefix '${settings.prefix}' is already the prefix of Tollgate '${takenBy}' in this program; give each its own (prefix names every physical resource)`);
        }
        super("tollgate:index:Tollgate", name, {}, opts);
        prefixesInUse.set(settings.prefix, name);
        const { jwtSecret: _secret, ...localArgs } = separated.standIns;
        localViews().push({ name, args: localArgs, region });
        const input = inputFor(separated);

        // The args once every Input has resolved, checked again with the real values. The
        // function's code waits for this check (through the captured issuer below), so a
        // bad value fails the deployment before the gateway runs with it.
        const validated =
            separated.inputs.size === 0
                ? pulumi.output(true)
                : pulumi.all([...separated.inputs.values()]).apply((values) => {
                      const resolved = new Map([...separated.inputs.keys()].map((standIn, i) => [standIn, values[i]]));
                      try {
                          validate(name, { standIns: separated.restore(resolved), misplaced: [] }, region);
                      } catch (error) {
                          // Said on the component itself, where the engine shows it, before the deployment fails.
                          void pulumi.log.error((error as Error).message, this);
                          throw error;
                      }
                      return true;
                  });

        const { prefix } = settings;
        const tags = { "tollgate:project": "tollgate", "tollgate:environment": settings.environment, "tollgate:stack": pulumi.getStack() };
        const tableSpecs = [...builtInTables, ...settings.appTables];
        const named = tableSpecs.map((spec) => ({ spec, tableName: physicalTableName(prefix, spec) }));
        const lambdaName = gatewayFunctionName(prefix);
        const child = { parent: this };
        const transforms = transformsFor(transform);

        // The alarms and dashboard need the API's id, and the API needs the log groups
        // made beside them: Logging takes the id as a deferred output, resolved below.
        const [apiId, resolveApiId] = pulumi.deferredOutput<string>();
        const logging = new Logging(
            `${name}-logging`,
            {
                prefix,
                functionName: lambdaName,
                apiId,
                tableNames: named.map(({ tableName }) => tableName),
                replicatedTables: named.map(({ spec, tableName }) => ({ tableName, regions: replicaRegionsOf(spec, settings.tables.replicaRegions) })),
                indexedTables: named.map(({ spec, tableName }) => ({ tableName, indexNames: (spec.globalSecondaryIndexes ?? []).map((index) => index.name) })),
                environment: settings.environment,
                retentionDays: settings.logRetentionDays,
                alarmEmail: input(settings.alarmEmail),
                tags,
                transform: transforms.logging,
            },
            child,
        );

        const replicaKmsKeyArns = Object.fromEntries(Object.entries(settings.tables.replicaKmsKeyArns).map(([replicaRegion, arn]) => [replicaRegion, input(arn)]));
        const tables = new Tables(
            `${name}-tables`,
            {
                prefix,
                specs: tableSpecs,
                pointInTimeRecovery: settings.tables.pointInTimeRecovery,
                deletionProtection: settings.tables.deletionProtection,
                protect: settings.tables.protect,
                kmsKeyArn: input(settings.tables.kmsKeyArn),
                replicaRegions: settings.tables.replicaRegions,
                replicaKmsKeyArns,
                alarmTopicArn: logging.alarmTopic.arn,
                tags,
                transform: transforms.tables,
            },
            child,
        );

        const backup = settings.backup.enabled
            ? new Backup(
                  `${name}-backup`,
                  {
                      prefix,
                      tableArns: Object.values(tables.tables).map((table) => table.arn),
                      schedule: settings.backup.schedule,
                      retentionDays: settings.backup.retentionDays,
                      copyToRegion: settings.backup.copyToRegion,
                      kmsKeyArn: input(settings.tables.kmsKeyArn),
                      copyKmsKeyArn: settings.backup.copyToRegion ? replicaKmsKeyArns[settings.backup.copyToRegion] : undefined,
                      tags,
                      transform: transforms.backup,
                  },
                  child,
              )
            : undefined;

        const issuer: pulumi.Output<string> =
            settings.identity.issuer === undefined && settings.domain && isDeferred(separated, settings.domain.name)
                ? pulumi.interpolate`https://${input(settings.domain.name)}`
                : pulumi.output(assertionIssuer(settings));
        const captured = capturedSettings(settings);
        const runtime: CapturedInput = {
            ...captured,
            routes: captured.routes.map((route) => ({ ...route, upstream: input(route.upstream) })),
            jwt: { ...captured.jwt, jwksUrl: input(captured.jwt.jwksUrl) },
            identity: { ...captured.identity, issuer: pulumi.all([validated, issuer]).apply(([, value]) => value) },
        };
        const gateway = new Gateway(
            `${name}-gateway`,
            {
                prefix,
                tables: { rateLimits: tables.table(rateLimitsTable.name), sessions: tables.table(sessionsTable.name) },
                runtime,
                logGroups: { lambda: logging.lambdaLogGroup, access: logging.accessLogGroup },
                lambda: settings.lambda,
                throttle: settings.throttle,
                cors: settings.cors,
                logLevel: settings.logLevel,
                jwtSecret: settings.jwtSecret === undefined ? undefined : pulumi.secret(input(settings.jwtSecret)),
                gatewayKeys: { generation: settings.identity.keyGeneration },
                vpc: {
                    enabled: settings.vpc.enabled,
                    natGateways: settings.vpc.natGateways,
                    subnetIds: settings.vpc.subnetIds?.map((id) => input(id)),
                    securityGroupIds: settings.vpc.securityGroupIds?.map((id) => input(id)),
                },
                kms: { tablesKeyArn: input(settings.tables.kmsKeyArn), secretsKeyArn: input(settings.secretsKmsKeyArn) },
                tags,
                transform: { ...transforms.gateway, network: transforms.network },
            },
            child,
        );
        resolveApiId(gateway.api.id);

        const domain = settings.domain
            ? new Domain(
                  `${name}-domain`,
                  {
                      domainName: input(settings.domain.name),
                      hostedZoneId: input(settings.domain.hostedZoneId),
                      certificateArn: input(settings.domain.certificateArn),
                      apiId: gateway.api.id,
                      stage: gateway.stage.id,
                      tags,
                      transform: transforms.domain,
                  },
                  child,
              )
            : undefined;

        childrenOf.set(this, { tables, logging, gateway, domain, backup });
        // Every output waits for the args' second check too: a program that exports one fails on a bad value.
        const checked = <T>(output: pulumi.Output<T>): pulumi.Output<T> => pulumi.all([validated, output]).apply(([, value]) => value) as pulumi.Output<T>;
        this.url = checked(gateway.url);
        this.jwksUrl = checked(domain ? pulumi.interpolate`${domain.url}${jwksPath}` : gateway.jwksUrl);
        this.issuer = checked(issuer);
        this.functionName = checked(gateway.function.name);
        this.tableNames = checked(tables.names);
        this.logGroupNames = checked(logging.logGroupNames);
        this.dashboardName = checked(logging.dashboard.dashboardName);
        this.domainUrl = domain ? checked(domain.url) : undefined;
        this.backupVaultName = backup ? checked(backup.vault.name) : undefined;
        this.registerOutputs({
            url: this.url,
            jwksUrl: this.jwksUrl,
            issuer: this.issuer,
            functionName: this.functionName,
            tableNames: this.tableNames,
            logGroupNames: this.logGroupNames,
            dashboardName: this.dashboardName,
            domainUrl: this.domainUrl,
            backupVaultName: this.backupVaultName,
        });
    }
}

/** The settings the args give, or a RunError naming every bad arg; Inputs are checked through their stand-ins. */
function validate(name: string, separated: Pick<ReturnType<typeof separateInputs>, "standIns" | "misplaced">, region: string | undefined): TollgateSettings {
    try {
        if (separated.misplaced.length > 0) throw new ConfigError(separated.misplaced, "invalid Tollgate args");
        return resolveSettings(separated.standIns, { region, purpose: "deploy", keys: "args" });
    } catch (error) {
        if (error instanceof ConfigError) throw new pulumi.RunError(`Tollgate '${name}': ${error.message}`);
        throw error;
    }
}

/** `transform` turned into each child component's own transform: one function per role, calling it. */
function transformsFor(transform: TollgateArgs["transform"]): { [C in keyof ChildTransforms]?: ChildTransforms[C] } {
    if (!transform) return {};
    const forComponent = (component: keyof ChildTransforms) =>
        Object.fromEntries(
            transformRoles[component].map((resource) => [
                resource,
                (args: unknown, opts: pulumi.CustomResourceOptions, resourceName: string) => transform({ component, resource, name: resourceName, args, opts } as TollgateResource),
            ]),
        );
    return {
        tables: forComponent("tables"),
        logging: forComponent("logging"),
        gateway: forComponent("gateway"),
        network: forComponent("network"),
        domain: forComponent("domain"),
        backup: forComponent("backup"),
    };
}
