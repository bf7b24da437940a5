/** Starts support/gatewayMain.ts with the given settings: the local gateway in its own process, against any DynamoDB. */
import * as path from "node:path";
import { startChild, type ChildService } from "../../../bench/support/processes";
import type { RuntimeSettings } from "../../../runtime/settings";

export function startGatewayProcess(settings: RuntimeSettings): Promise<ChildService> {
    return startChild(path.join("test", "reliability", "support", "gatewayMain.ts"), [], {
        env: { TOLLGATE_RELIABILITY_SETTINGS: JSON.stringify(settings) },
        ready: /gateway ready on (http:\/\/127\.0\.0\.1:\d+)/,
    });
}
