/**
 * Evaluates CrossGuard policies against the resources a program registered
 * under mocks, with arguments that behave as the Pulumi engine's do
 * (@pulumi/policy's analyzer server, `server.js`):
 *
 * - resource policies get each resource's inputs; stack policies get every
 *   resource, with `props` as the (fake) cloud returns them, and parent,
 *   dependencies and property dependencies resolved to resources;
 * - `isType`/`asType` compare the resource's type token with the class's
 *   `__pulumiType`; a policy whose single validator is typed to another type
 *   is skipped as not applicable without being called;
 * - `notApplicable(reason)` throws, and the policy is recorded as not applicable;
 * - `getConfig()` returns the policy's pack config: its schema defaults, then
 *   the config file's `all` level, then the file's entry for the policy (the
 *   CLI's ReconcilePolicyPackConfig), validated against the policy's schema;
 * - enforcement: config level, else the policy's, else the pack's; `disabled`
 *   policies do not run; `remediate` is reported as `mandatory`.
 *
 * Nothing here constructs a PolicyPack, so any number of evaluations can run
 * in one process.
 */
import type {
    EnforcementLevel,
    Policies,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { z } from "zod";
import { fakeState } from "./fakes";
import type { RegisteredResource } from "./harness";

/** Pack config as `--policy-pack-config` reads it: policy name (or `all`) -> level, or `{ enforcementLevel?, ...properties }`. */
export type PackConfigFile = Record<string, unknown>;

export interface PolicyConfig {
    enforcementLevel: EnforcementLevel;
    /** The properties `getConfig()` returns (schema defaults overlaid by the file). */
    properties: Record<string, unknown>;
}

export type ResolvedPackConfig = Map<string, PolicyConfig>;

/** A pack config file that the CLI would refuse; the message names the policy and key. */
export class PackConfigError extends Error {}

export interface Violation {
    policyName: string;
    description: string;
    /** `advisory` or `mandatory` (a `remediate` policy that still finds a violation counts as mandatory). */
    enforcementLevel: EnforcementLevel;
    message: string;
    /** The resource the violation is about; unset for a violation of the stack as a whole. */
    urn?: string;
    resourceType?: string;
    resourceName?: string;
}

export interface NotApplicable {
    policyName: string;
    reason?: string;
    urn?: string;
}

export interface Evaluation {
    violations: Violation[];
    notApplicable: NotApplicable[];
    /** Names of the policies that ran (not disabled). */
    policiesRun: string[];
    resourceCount: number;
}

export interface EvaluationOptions {
    policies: Policies;
    /** The pack's own default level (PolicyPackArgs.enforcementLevel); the SDK defaults it to advisory. */
    packEnforcementLevel?: EnforcementLevel;
    /** Raw pack config (the file's JSON) or an already resolved one. */
    config?: PackConfigFile | ResolvedPackConfig;
    /** Tags of the stack, as the service passes them (`pulumi:project`, ...). */
    stackTags?: Record<string, string>;
}

const enforcementLevels: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

function asEnforcementLevel(value: unknown, where: string): EnforcementLevel {
    if (typeof value !== "string" || !enforcementLevels.includes(value as EnforcementLevel)) {
        throw new PackConfigError(`${where}: ${JSON.stringify(value)} is not a valid enforcement level (${enforcementLevels.join(", ")})`);
    }
    return value as EnforcementLevel;
}

/**
 * Merges a pack config file over the policies' defaults the way the CLI does,
 * and validates every policy's properties against its configSchema. Unlike
 * the CLI, an entry for a policy the pack does not have is an error: a typo
 * there would otherwise silently leave a stack on the defaults.
 */
export function resolvePackConfig(policies: Policies, packEnforcementLevel: EnforcementLevel = "advisory", given: PackConfigFile = {}): ResolvedPackConfig {
    if (!given || typeof given !== "object" || Array.isArray(given)) throw new PackConfigError("pack config must be a JSON object keyed by policy name");
    const resolved: ResolvedPackConfig = new Map();
    for (const policy of policies) {
        const defaults: Record<string, unknown> = {};
        for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
            if (typeof schema === "object" && schema.default !== undefined) defaults[key] = structuredClone(schema.default);
        }
        resolved.set(policy.name, { enforcementLevel: policy.enforcementLevel ?? packEnforcementLevel, properties: defaults });
    }
    const entries = Object.entries(given);
    const all = entries.find(([name]) => name === "all");
    if (all) {
        const level = asEnforcementLevel(typeof all[1] === "object" && all[1] !== null ? (all[1] as any).enforcementLevel : all[1], `"all"`);
        for (const config of resolved.values()) config.enforcementLevel = level;
    }
    for (const [name, value] of entries) {
        if (name === "all") continue;
        const config = resolved.get(name);
        if (!config) throw new PackConfigError(`"${name}" is not a policy of this pack (policies: ${[...resolved.keys()].join(", ")})`);
        if (typeof value === "string") {
            config.enforcementLevel = asEnforcementLevel(value, `"${name}"`);
        } else if (value && typeof value === "object" && !Array.isArray(value)) {
            const { enforcementLevel, ...properties } = value as Record<string, unknown>;
            if (enforcementLevel !== undefined) config.enforcementLevel = asEnforcementLevel(enforcementLevel, `"${name}".enforcementLevel`);
            Object.assign(config.properties, properties);
        } else {
            throw new PackConfigError(`"${name}": ${JSON.stringify(value)} is not a valid value; must be an enforcement level or an object`);
        }
    }
    for (const policy of policies) {
        const schema = policy.configSchema;
        if (!schema) continue;
        const validator = z.fromJSONSchema({ type: "object", properties: schema.properties as any, required: schema.required });
        const result = validator.safeParse(resolved.get(policy.name)!.properties);
        if (!result.success) {
            const problems = result.error.issues.map((issue) => `${[policy.name, ...issue.path].join(".")}: ${issue.message}`);
            throw new PackConfigError(problems.join("; "));
        }
    }
    return resolved;
}

/** Thrown by `notApplicable()`; the engine's own class is private to @pulumi/policy's server. */
class NotApplicableError extends Error {
    constructor(readonly reason?: string) {
        super(reason ?? "Policy does not apply");
    }
}

const throwNotApplicable = (reason?: string): never => {
    throw new NotApplicableError(reason);
};

/** The SDK's own guards (internal to @pulumi/policy): a policy with validateResource is a resource policy. */
function isResourcePolicy(policy: Policies[number]): policy is ResourceValidationPolicy {
    const validation = (policy as ResourceValidationPolicy).validateResource;
    if (typeof validation === "function") return true;
    if (Array.isArray(validation)) return validation.every((v) => typeof v === "function");
    return typeof (policy as ResourceValidationPolicy).remediateResource === "function";
}

function isStackPolicy(policy: Policies[number]): policy is StackValidationPolicy {
    return typeof (policy as StackValidationPolicy).validateStack === "function";
}

/** The engine's isTypeOf: the class's `__pulumiType` token, else its `isInstance`. */
function isTypeOf(type: string, resourceClass: any): boolean {
    const pulumiType = resourceClass?.__pulumiType;
    if (typeof pulumiType === "string" && pulumiType.length > 0) return type === pulumiType;
    return typeof resourceClass?.isInstance === "function" && resourceClass.isInstance({ __pulumiType: type }) === true;
}

function pulumiTypeOf(validation: unknown): string | undefined {
    const pulumiType = (validation as any)?.__pulumiType;
    return typeof pulumiType === "string" && pulumiType.length > 0 ? pulumiType : undefined;
}

function freezeTags(tags: Record<string, string>): ReadonlyMap<string, string> {
    const map = new Map(Object.entries(tags));
    return Object.freeze({
        entries: map.entries.bind(map),
        forEach: map.forEach.bind(map),
        get: map.get.bind(map),
        has: map.has.bind(map),
        keys: map.keys.bind(map),
        size: map.size,
        values: map.values.bind(map),
        [Symbol.iterator]: map[Symbol.iterator].bind(map),
    }) as ReadonlyMap<string, string>;
}

function optionsOf(resource: RegisteredResource): PolicyResourceOptions {
    return {
        protect: resource.protect,
        ignoreChanges: [],
        ...(resource.deleteBeforeReplace === undefined ? {} : { deleteBeforeReplace: resource.deleteBeforeReplace }),
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...(resource.parent ? { parent: resource.parent } : {}),
    };
}

/** `urn:pulumi:stack::project::parent$type::name` -> { type, name }. */
function partsOfUrn(urn: string): { type: string; name: string } {
    const [, , qualifiedType = "", name = ""] = urn.split("::");
    return { type: qualifiedType.split("$").pop() ?? "", name };
}

/** A provider reference (`urn::id`) as the engine describes it to policies. */
function providerOf(reference: string | undefined, byUrn: Map<string, RegisteredResource>) {
    if (!reference) return undefined;
    const urn = reference.slice(0, reference.lastIndexOf("::"));
    const registered = byUrn.get(urn);
    const { type, name } = registered ?? partsOfUrn(urn);
    return { type, name, urn, props: registered?.inputs ?? {} };
}

/** Runs every resource and stack policy over the registered resources. */
export async function evaluatePolicies(resources: readonly RegisteredResource[], options: EvaluationOptions): Promise<Evaluation> {
    const packLevel = options.packEnforcementLevel ?? "advisory";
    const config = options.config instanceof Map ? options.config : resolvePackConfig(options.policies, packLevel, options.config ?? {});
    const stackTags = freezeTags(options.stackTags ?? {});
    const byUrn = new Map(resources.map((resource) => [resource.urn, resource]));
    const violations: Violation[] = [];
    const notApplicable: NotApplicable[] = [];
    const policiesRun: string[] = [];

    for (const policy of options.policies) {
        const policyConfig = config.get(policy.name);
        let level: EnforcementLevel = policyConfig?.enforcementLevel ?? policy.enforcementLevel ?? packLevel;
        if (level === "disabled") continue;
        if (level === "remediate") level = "mandatory";
        policiesRun.push(policy.name);
        const getConfig = <T extends object>(): T => structuredClone(policyConfig?.properties ?? {}) as T;
        const report = (urn: string | undefined) => (message: string, reportedUrn?: string) => {
            const target = byUrn.get((urn ?? reportedUrn) as string);
            violations.push({
                policyName: policy.name,
                description: policy.description,
                enforcementLevel: level,
                message,
                urn: urn ?? reportedUrn,
                resourceType: target?.type,
                resourceName: target?.name,
            });
        };
        const run = async (validate: () => unknown, urn?: string) => {
            try {
                await Promise.resolve(validate());
            } catch (error) {
                if (error instanceof NotApplicableError) notApplicable.push({ policyName: policy.name, reason: error.reason, urn });
                else throw new Error(`Error validating ${urn ?? "the stack"} with policy '${policy.name}': ${(error as Error)?.stack ?? error}`);
            }
        };

        if (isResourcePolicy(policy) && policy.validateResource) {
            const validations: ResourceValidation[] = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
            const onlyType = validations.length === 1 ? pulumiTypeOf(validations[0]) : undefined;
            for (const resource of resources) {
                if (onlyType && resource.type !== onlyType) {
                    notApplicable.push({ policyName: policy.name, reason: `Policy only applies to resources of type '${onlyType}'`, urn: resource.urn });
                    continue;
                }
                for (const validation of validations) {
                    const props = structuredClone(resource.inputs);
                    const provider = providerOf(resource.provider, byUrn);
                    const args: ResourceValidationArgs = {
                        type: resource.type,
                        props,
                        urn: resource.urn,
                        name: resource.name,
                        opts: optionsOf(resource),
                        stackTags,
                        isType: (resourceClass) => isTypeOf(resource.type, resourceClass),
                        asType: ((resourceClass: any) => (isTypeOf(resource.type, resourceClass) ? props : undefined)) as ResourceValidationArgs["asType"],
                        getConfig,
                        notApplicable: throwNotApplicable,
                        ...(provider ? { provider } : {}),
                    };
                    // Resource policies always report against the resource being validated.
                    await run(() => validation(args, report(resource.urn)), resource.urn);
                }
            }
        } else if (isStackPolicy(policy)) {
            const onlyType = pulumiTypeOf(policy.validateStack);
            if (onlyType && !resources.some((resource) => resource.type === onlyType)) {
                notApplicable.push({ policyName: policy.name, reason: `Policy only applies to resources of type '${onlyType}'` });
                continue;
            }
            const args: StackValidationArgs = {
                resources: stackResources(resources, byUrn),
                getConfig,
                stackTags,
                notApplicable: throwNotApplicable,
            };
            await run(() => policy.validateStack(args, report(undefined)));
        }
    }
    return { violations, notApplicable, policiesRun, resourceCount: resources.length };
}

/**
 * The stack as a stack policy sees it. After a preview or update the engine
 * passes each resource's outputs; here a custom resource's outputs are what
 * the fake cloud returned for it (inputs plus computed attributes such as
 * `arn`), and a component's are its inputs.
 */
function stackResources(resources: readonly RegisteredResource[], byUrn: Map<string, RegisteredResource>): PolicyResource[] {
    const policyResources = new Map<string, PolicyResource>();
    for (const resource of resources) {
        const props = resource.custom ? fakeState(resource.type, resource.name, structuredClone(resource.inputs)) : structuredClone(resource.inputs);
        const provider = providerOf(resource.provider, byUrn);
        policyResources.set(resource.urn, {
            type: resource.type,
            props,
            urn: resource.urn,
            name: resource.name,
            opts: optionsOf(resource),
            dependencies: [],
            propertyDependencies: {},
            isType: (resourceClass) => isTypeOf(resource.type, resourceClass),
            asType: ((resourceClass: any) => (isTypeOf(resource.type, resourceClass) ? props : undefined)) as PolicyResource["asType"],
            ...(provider ? { provider } : {}),
        });
    }
    const resolve = (urns: readonly string[]) => urns.map((urn) => policyResources.get(urn)).filter((r): r is PolicyResource => r !== undefined);
    for (const resource of resources) {
        const policyResource = policyResources.get(resource.urn)!;
        if (resource.parent && policyResources.has(resource.parent)) policyResource.parent = policyResources.get(resource.parent);
        policyResource.dependencies = resolve(resource.dependencies);
        for (const [property, urns] of Object.entries(resource.propertyDependencies)) policyResource.propertyDependencies[property] = resolve(urns);
    }
    return [...policyResources.values()];
}
