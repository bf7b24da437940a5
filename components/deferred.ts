/**
 * Args a program may feed from other resources (a route's upstream, a KMS key,
 * the domain, ...): validated twice by the one config schema. At construction
 * each `pulumi.Input` that is not yet a value stands aside for a stand-in its
 * schema accepts, so every plain value and every rule between them is checked
 * before any resource exists; once the Inputs resolve, the args are checked
 * again with the real values, and a bad one fails the deployment naming its
 * path (`routes[0].upstream: ...`).
 *
 * Every other arg must be a plain value: it decides which resources exist.
 */
import * as pulumi from "@pulumi/pulumi";

type Path = readonly (string | number)[];

/** The args a program may set to a `pulumi.Input`, each with a stand-in its schema accepts (`n` makes it unique). */
const deferrable: { path: RegExp; standIn(path: Path, n: number, region: string): string }[] = [
    { path: /^routes\.\d+\.upstream$/, standIn: (_, n) => `https://deferred-${n}.tollgate.invalid` },
    { path: /^jwt\.jwksUrl$/, standIn: (_, n) => `https://deferred-${n}.tollgate.invalid/jwks.json` },
    { path: /^jwtSecret$/, standIn: (_, n) => `deferred-${n}`.padEnd(40, "-") },
    { path: /^domain\.name$/, standIn: (_, n) => `deferred-${n}.tollgate.invalid` },
    { path: /^domain\.hostedZoneId$/, standIn: (_, n) => `ZDEFERRED${n}` },
    { path: /^domain\.certificateArn$/, standIn: (_, n, region) => `arn:aws:acm:${region}:000000000000:certificate/deferred-${n}` },
    { path: /^(tables\.kmsKeyArn|secretsKmsKeyArn)$/, standIn: (_, n, region) => `arn:aws:kms:${region}:000000000000:key/deferred-${n}` },
    { path: /^tables\.replicaKmsKeyArns\.[^.]+$/, standIn: (path, n) => `arn:aws:kms:${path[path.length - 1]}:000000000000:key/deferred-${n}` },
    { path: /^alarmEmail$/, standIn: (_, n) => `deferred-${n}@tollgate.invalid` },
    { path: /^vpc\.subnetIds\.\d+$/, standIn: (_, n) => `subnet-${n.toString(16).padStart(8, "0")}` },
    { path: /^vpc\.securityGroupIds\.\d+$/, standIn: (_, n) => `sg-${n.toString(16).padStart(8, "0")}` },
];

/** `routes[0].upstream`, as an arg path reads. */
export function argPath(path: Path): string {
    return path.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? part : `.${part}`)).join("");
}

function isPending(value: unknown): value is pulumi.Output<unknown> | PromiseLike<unknown> {
    return pulumi.Output.isInstance(value) || (typeof value === "object" && value !== null && typeof (value as PromiseLike<unknown>).then === "function");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value) && !isPending(value) && Object.getPrototypeOf(value) === Object.prototype;
}

export interface SeparatedArgs {
    /** The args with a stand-in for every Input that is not a value yet: what the schema checks at construction. */
    standIns: Record<string, unknown>;
    /** Stand-in -> the Input it stands for. */
    inputs: Map<string, pulumi.Input<unknown>>;
    /** Args that hold an Input where only a plain value will do, by path. */
    misplaced: string[];
    /** The args with each stand-in's Input put back: what the schema checks once they resolve. */
    restore(values: ReadonlyMap<string, unknown>): Record<string, unknown>;
}

/** Takes the Inputs out of `args` (see the module comment). `region` goes into stand-in ARNs. */
export function separateInputs(args: object, region = "us-east-1"): SeparatedArgs {
    const inputs = new Map<string, pulumi.Input<unknown>>();
    const misplaced: string[] = [];
    const walk = (value: unknown, path: Path): unknown => {
        if (isPending(value)) {
            const key = path.join(".");
            const rule = deferrable.find((candidate) => candidate.path.test(key));
            if (!rule) {
                misplaced.push(`${argPath(path)}: must be a plain value, not an Output or a Promise (it decides which resources exist); only upstreams, KMS key ARNs, the domain, jwt.jwksUrl, jwtSecret, alarmEmail and the vpc ids may come from other resources`);
                return undefined;
            }
            const standIn = rule.standIn(path, inputs.size + 1, region);
            inputs.set(standIn, value as pulumi.Input<unknown>);
            return standIn;
        }
        if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, i]));
        if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, [...path, key])]));
        return value;
    };
    const standIns = walk(args, []) as Record<string, unknown>;
    const restore = (values: ReadonlyMap<string, unknown>) => {
        const put = (value: unknown): unknown => {
            if (typeof value === "string" && values.has(value)) return values.get(value);
            if (Array.isArray(value)) return value.map(put);
            if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, put(item)]));
            return value;
        };
        return put(standIns) as Record<string, unknown>;
    };
    return { standIns, inputs, misplaced, restore };
}

/**
 * The Input a settings value stands for: the program's own Output where the
 * value is a stand-in, else the value itself.
 */
export function inputFor(separated: Pick<SeparatedArgs, "inputs">) {
    function input(value: string): pulumi.Input<string>;
    function input(value: string | undefined): pulumi.Input<string> | undefined;
    function input(value: string | undefined): pulumi.Input<string> | undefined {
        if (value === undefined) return undefined;
        return (separated.inputs.get(value) as pulumi.Input<string> | undefined) ?? value;
    }
    return input;
}

/** True when `value` is a stand-in: its real value is known only at deployment. */
export function isDeferred(separated: Pick<SeparatedArgs, "inputs">, value: string | undefined): boolean {
    return value !== undefined && separated.inputs.has(value);
}
