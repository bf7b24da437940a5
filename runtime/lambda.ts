/**
 * The Lambda entry point. The Gateway component bundles this module (with its
 * runtime dependencies, without @aws-sdk/*, which the Lambda Node.js runtime
 * provides) and its CallbackFunction's factory calls `createLambdaHandler`
 * once per container with the settings captured at deploy time. Table names,
 * region and the JWT secret's ARN come from the environment; the DynamoDB
 * client, caches, logger and metrics are built here, once, and shared by
 * every invocation the container serves.
 */
import type { LambdaEntry, LambdaHandler } from "../specs/lambda";
import { createHandler, type HandlerDeps } from "./handler";
import { settingsFromEnv, type CapturedSettings } from "./settings";

export type { LambdaHandler } from "../specs/lambda";

export function createLambdaHandler(captured: CapturedSettings, env: NodeJS.ProcessEnv = process.env, deps: Partial<HandlerDeps> = {}): LambdaHandler {
    return createHandler(settingsFromEnv(captured, env), deps);
}

export { createHandler } from "./handler";
export type { HandlerDeps } from "./handler";

// The component calls this through the contract in specs/lambda.ts; keep the two in step.
createLambdaHandler satisfies LambdaEntry["createLambdaHandler"];
