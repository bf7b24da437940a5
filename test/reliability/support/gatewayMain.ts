/**
 * The local gateway's HTTP emulation (local/gateway.ts) and the
 * handler (runtime/handler.ts) in a process of their own, with settings given
 * as JSON in TOLLGATE_RELIABILITY_SETTINGS: what `npm start` runs, but against
 * any DynamoDB endpoint, so a test can stop and restart that DynamoDB under
 * load and watch this process survive it.
 */
import { createHandler } from "../../../runtime/handler";
import { startGateway, type GatewayHandler } from "../../../local/gateway";
import type { RuntimeSettings } from "../../../runtime/settings";
import { serveUntilSignalled } from "../../../bench/support/childMain";

serveUntilSignalled("gateway", () => {
    const settings: RuntimeSettings = JSON.parse(process.env.TOLLGATE_RELIABILITY_SETTINGS ?? "");
    const handler = createHandler(settings, { log: () => undefined }) as GatewayHandler;
    return startGateway({ handler, port: 0, functionTimeoutMs: 30_000, integrationTimeoutMs: 30_000, functionName: "tollgate-reliability-gateway" });
});
