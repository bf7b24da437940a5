/**
 * Lambda policies: a supported runtime, and invoke permissions scoped to the
 * one resource that calls the function.
 */
import * as aws from "@pulumi/aws";
import { validateResourceOfType, type ResourceValidationPolicy } from "@pulumi/policy";
import { resourceLabel, violation } from "./describe";

/** Pack config of `lambda-supported-runtime`. */
export interface RuntimeConfig {
    /** Node.js runtimes below this major version are deprecated. */
    minimumNodeMajor?: number;
    /** Other runtimes Lambda has deprecated (or that a stack refuses). */
    deprecatedRuntimes?: string[];
}

export const runtimeDefaults = {
    /**
     * nodejs24.x, the current LTS and the runtime tollgate deploys. nodejs20.x reached
     * end of support on 2026-04-30 and nodejs22.x follows on 2027-04-30, so a
     * function created on 22 today is due for a migration within months.
     */
    minimumNodeMajor: 24,
    deprecatedRuntimes: [
        "python2.7", "python3.6", "python3.7", "python3.8", "python3.9",
        "java8", "go1.x", "provided",
        "ruby2.5", "ruby2.7", "ruby3.2",
        "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet5.0", "dotnet6", "dotnet7",
    ],
};

/** The Node.js major version of a Lambda runtime identifier (`nodejs24.x` -> 24; the original `nodejs` -> 0), or undefined for other runtimes. */
export function nodeMajor(runtime: string): number | undefined {
    const match = /^nodejs(\d+)?/.exec(runtime);
    if (!match) return undefined;
    return match[1] === undefined ? 0 : Number(match[1]);
}

export const lambdaSupportedRuntime: ResourceValidationPolicy = {
    name: "lambda-supported-runtime",
    description:
        "Lambda functions use a runtime AWS supports for long enough: no Node.js below minimumNodeMajor (default 24, the current LTS; nodejs22.x is deprecated on 2027-04-30) and no other deprecated runtime.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minimumNodeMajor: {
                type: "integer",
                minimum: 1,
                default: runtimeDefaults.minimumNodeMajor,
                description: "The oldest Node.js major version accepted (nodejs<major>.x).",
            },
            deprecatedRuntimes: {
                type: "array",
                items: { type: "string" },
                default: runtimeDefaults.deprecatedRuntimes,
                description: "Runtime identifiers refused outright (non-Node runtimes Lambda has deprecated).",
            },
        },
    },
    validateResource: validateResourceOfType(aws.lambda.Function, (fn, args, reportViolation) => {
        if (fn.packageType === "Image") args.notApplicable("a container image function brings its own runtime");
        const config = args.getConfig<RuntimeConfig>();
        const minimumNodeMajor = config.minimumNodeMajor ?? runtimeDefaults.minimumNodeMajor;
        const deprecatedRuntimes = config.deprecatedRuntimes ?? runtimeDefaults.deprecatedRuntimes;
        const label = resourceLabel(args.type, args.name, fn.name);
        const supported = `runtime = "nodejs${minimumNodeMajor}.x" (or a later Node.js runtime)`;
        const runtime = fn.runtime;
        if (!runtime) {
            reportViolation(violation(label, "no runtime is set", supported));
            return;
        }
        const major = nodeMajor(runtime);
        if (major !== undefined && major < minimumNodeMajor) {
            reportViolation(violation(label, `runtime ${runtime} is older than this stack accepts (Node.js ${minimumNodeMajor} or later)`, supported));
        } else if (deprecatedRuntimes.includes(runtime)) {
            reportViolation(violation(label, `runtime ${runtime} is deprecated`, "runtime to a supported version of the same language"));
        }
    }),
};

/**
 * How many leading segments of an ARN's resource part identify one resource:
 * an execute-api ARN is `apiId/stage/method/path` (stage, method and path may
 * be wildcards within one API), an S3 ARN is `bucket/key`, most others are
 * `type/name`.
 */
const identifyingSegments: Record<string, number> = { "execute-api": 1, s3: 1 };

/** True when an ARN's region, account or resource identity is a wildcard, so it matches resources outside this stack. */
export function isWildcardArn(arn: string): boolean {
    const parts = arn.split(":");
    if (parts.length < 6 || parts[0] !== "arn") return true;
    const [, , service, region, account] = parts;
    const segments = parts.slice(5).join(":").split(/[/:]/);
    const identity = segments.slice(0, identifyingSegments[service] ?? 2);
    return region.includes("*") || account.includes("*") || identity[0] === "" || identity.some((segment) => segment.includes("*"));
}

export const lambdaPermissionSourceArn: ResourceValidationPolicy = {
    name: "lambda-permission-source-arn",
    description: "Lambda permissions granted to an AWS service name the one resource allowed to invoke the function (sourceArn), so no other API, bucket or account can call it.",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(aws.lambda.Permission, (permission, args, reportViolation) => {
        const principal = permission.principal;
        const label = resourceLabel(args.type, args.name, permission.statementId);
        const scoped = "sourceArn to the ARN of the one resource that invokes the function (for an HTTP API: `${api.executionArn}/*/*`)";
        if (principal === "*") {
            reportViolation(violation(label, `grants ${permission.action} to every principal`, `principal to the invoking service and ${scoped}`));
            return;
        }
        if (!/\.amazonaws\.com$|\.amazon\.com$/.test(principal)) {
            args.notApplicable("the principal is an account or IAM principal, not a service");
        }
        if (!permission.sourceArn) {
            reportViolation(violation(label, `grants ${permission.action} to ${principal} from any source`, scoped));
        } else if (isWildcardArn(permission.sourceArn)) {
            reportViolation(violation(label, `sourceArn "${permission.sourceArn}" matches resources outside this stack`, scoped));
        }
    }),
};
