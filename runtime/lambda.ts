/**
 * The Lambda entry point. The Gateway component bundles this module (with its
 * runtime dependencies, without @aws-sdk/*, which the nodejs22.x runtime
 * provides) and its CallbackFunction's factory calls `createLambdaHandler`
 * once per container with the settings captured at deploy time.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { settingsFromEnv, type CapturedSettings } from "./settings";

export type LambdaHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export function createLambdaHandler(captured: CapturedSettings, env: NodeJS.ProcessEnv = process.env): LambdaHandler {
    const settings = settingsFromEnv(captured, env);
    return async (event) => {
        if (event.requestContext?.http?.method === "GET" && event.rawPath === "/health/live") {
            return { statusCode: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ status: "ok" }) };
        }
        return {
            statusCode: 404,
            headers: { "content-type": "application/problem+json" },
            body: JSON.stringify({ type: "about:blank", title: "Not Found", status: 404, detail: `no route for ${settings.routes.length ? "this path" : "any path"}` }),
        };
    };
}
