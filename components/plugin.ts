/**
 * The package's `main`: the Pulumi CLI's plugin runner loads it to start the
 * tollgate provider (provider.ts). Programs import the package through its
 * `exports` (the component), never this module.
 */
import { serveProvider } from "./provider";

// The runner waits on what the module exports: the provider, until the engine stops it.
export = serveProvider();
