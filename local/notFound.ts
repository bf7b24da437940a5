/**
 * A local 404 says which routes the gateway has. The handler answers a path
 * no route matches with a plain 404 problem, as it does deployed, where the
 * route table is nobody else's business; `npm start` adds the routes (name and
 * path prefix) to that one answer, so a developer who mistyped a prefix sees
 * the right one. Every other 404 (an upstream's own, an unknown session id)
 * passes as the handler gave it.
 */
import type { Context } from "aws-lambda";
import { compileRoutes, matchRoute } from "../runtime/steps/route";
import type { RouteSpec } from "../specs/routes";
import type { GatewayEvent } from "./event";
import type { GatewayHandler } from "./gateway";

export interface ListedRoute {
    name: string;
    pathPrefix: string;
}

/** `handler`, with the route list added to its answer for a path that matches no route. */
export function withRouteList(handler: GatewayHandler, routes: readonly RouteSpec[]): GatewayHandler {
    const compiled = compileRoutes(routes);
    const listed: ListedRoute[] = routes.map((route) => ({ name: route.name, pathPrefix: route.pathPrefix }));
    const shown = listed.map((route) => `${route.name} ${route.pathPrefix}`).join(", ") || "none";
    return async (event: GatewayEvent, context: Context) => {
        const result = await handler(event, context);
        if (!isProblem404(result) || matchRoute(compiled, event.rawPath).kind !== "not-found") return result;
        let problem: Record<string, unknown>;
        try {
            problem = JSON.parse(result.body);
        } catch {
            return result;
        }
        const detail = `${typeof problem.detail === "string" ? `${problem.detail} ` : ""}Routes of this gateway: ${shown}.`;
        return { ...result, body: JSON.stringify({ ...problem, detail, routes: listed }) };
    };
}

function isProblem404(result: unknown): result is { statusCode: 404; headers: Record<string, string>; body: string } {
    const candidate = result as { statusCode?: unknown; headers?: Record<string, unknown>; body?: unknown; isBase64Encoded?: unknown } | undefined;
    return candidate?.statusCode === 404 && candidate.headers?.["content-type"] === "application/problem+json" && typeof candidate.body === "string" && !candidate.isBase64Encoded;
}
