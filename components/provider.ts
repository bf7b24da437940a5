/**
 * The tollgate Pulumi package's provider: what `pulumi package add` runs to
 * give Python, Go, .NET, Java and YAML programs the `tollgate:index:Tollgate`
 * component. The Pulumi CLI starts it as a plugin (PulumiPlugin.yaml, with
 * plugin.ts compiled as the package's `main`); it answers GetSchema with the
 * schema inferred from the component's TypeScript, and Construct by building
 * a Tollgate from the args another language sends.
 *
 * `transform` is not in the schema: a function cannot cross it (other
 * languages use Pulumi's `transforms` resource option instead).
 */
import { ComponentProvider, componentProviderHost } from "@pulumi/pulumi/provider/experimental";
import { analysisRoot, packageManifest } from "./schema";
import { Tollgate } from "./tollgate";

/** The package name every schema token starts with: `tollgate:index:Tollgate`. */
export const providerName = "tollgate";

function options() {
    // The version is the package's own, whatever the analysis root's manifest says.
    return { name: providerName, components: [Tollgate], dirname: analysisRoot(), version: packageManifest().version };
}

/** The schema the provider answers GetSchema with, as JSON text. */
export function providerSchema(): Promise<string> {
    return new ComponentProvider(options()).getSchema();
}

/** Serves the provider to the Pulumi engine (its address comes in the process arguments). */
export function serveProvider(): Promise<void> {
    return componentProviderHost(options());
}
