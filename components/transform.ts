/**
 * The escape hatch every component offers for each resource it creates, in
 * the style of SST's `transform`: a partial object merged over the arguments
 * the component computed, or a function that edits them (and the resource
 * options) in place. It lets a user set any provider argument a component does
 * not model without the component's args growing for every one of them.
 */
import type * as pulumi from "@pulumi/pulumi";

export type Transform<Args> = Partial<Args> | ((args: Args, opts: pulumi.CustomResourceOptions, name: string) => void);

/** Applies `transform` (if any) and returns the arguments to construct the resource with. */
export function transformed<Args extends object>(
    transform: Transform<Args> | undefined,
    name: string,
    args: Args,
    opts: pulumi.CustomResourceOptions,
): [string, Args, pulumi.CustomResourceOptions] {
    if (typeof transform === "function") {
        transform(args, opts, name);
        return [name, args, opts];
    }
    return [name, { ...args, ...transform }, opts];
}
