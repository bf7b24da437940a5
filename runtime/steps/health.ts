/**
 * The gateway's own endpoints. `/health/live` answers from memory (no
 * DynamoDB call): the container runs. `/health/ready` proves both tables
 * answer a GetItem of a key that never exists (cheap, and it needs no
 * permission beyond what the gateway already has); 503 when either fails.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { json, problem } from "./respond";

export function live(): APIGatewayProxyStructuredResultV2 {
    return json(200, { status: "ok" }, { "cache-control": "no-store" });
}

export async function ready(checks: Array<() => Promise<void>>): Promise<APIGatewayProxyStructuredResultV2> {
    try {
        await Promise.all(checks.map((check) => check()));
        return json(200, { status: "ok" }, { "cache-control": "no-store" });
    } catch {
        return problem(503, "A dependency of the gateway is not answering.", { "cache-control": "no-store", "retry-after": "5" });
    }
}
