/**
 * What AWS accepts, held against what the schema accepts: the timeouts that
 * must agree for the gateway's own answer to reach the client, refused at
 * config load with the key named and what to set.
 */
import * as assert from "node:assert/strict";
import { storeGiveUpMs } from "../runtime/stores/dynamo";
import { resolveSettings, type TollgateConfigInput } from "../specs/config";
import { gatewayReserveMs, httpApiIntegrationTimeoutMs, maxUpstreamTimeoutMs } from "../specs/limits";
import { devConfigWith, runWithConfig } from "./support/program";

const problemsOf = (raw: TollgateConfigInput): string => {
    try {
        resolveSettings(raw as Record<string, unknown>, { region: "eu-west-1" });
    } catch (error: any) {
        return error.message;
    }
    assert.fail("the settings were accepted");
};

describe("timeouts: the HTTP API's 30 s, the Lambda's timeout and the upstream's", () => {
    it("keeps enough of the HTTP API's 30 s back for a store that does not answer, and a cold start", () => {
        assert.equal(httpApiIntegrationTimeoutMs, 30_000);
        assert.ok(gatewayReserveMs >= storeGiveUpMs + 500, `the reserve (${gatewayReserveMs} ms) leaves under 500 ms beyond the stores' give-up time (${storeGiveUpMs} ms)`);
        assert.equal(maxUpstreamTimeoutMs, 27_000);
    });

    it("refuses a Lambda timeout past 30 s, naming tollgate:lambda.timeoutSeconds and what to set", () => {
        assert.match(problemsOf({ lambda: { timeoutSeconds: 31 } }), /tollgate:lambda\.timeoutSeconds: at most 30: the HTTP API waits 30 s for the Lambda and then answers 503 itself while the function runs on; set 30 or less/);
        assert.equal(resolveSettings({ lambda: { timeoutSeconds: 30 } }).lambda.timeoutSeconds, 30);
    });

    it("refuses an upstream timeout the HTTP API cannot wait for, even below the Lambda's timeout", () => {
        assert.match(
            problemsOf({ upstreamTimeoutMs: 27_001 }),
            /tollgate:upstreamTimeoutMs: at most 27000: the HTTP API waits 30 s in all, and the gateway keeps 3000 ms of it to rate-limit, authenticate and answer 504 before API Gateway answers 503 itself; set 27000 or less/,
        );
        assert.equal(resolveSettings({ upstreamTimeoutMs: 27_000 }).upstreamTimeoutMs, 27_000);
    });

    it("refuses an upstream timeout at or past the Lambda's timeout, saying which to change", () => {
        assert.match(
            problemsOf({ lambda: { timeoutSeconds: 10 }, upstreamTimeoutMs: 10_000 }),
            /tollgate:upstreamTimeoutMs: 10000 must be below the Lambda timeout \(tollgate:lambda\.timeoutSeconds = 10 s\); lower it, or raise the Lambda timeout \(up to 30 s\)/,
        );
    });

    it("stops the program on a 60 s Lambda with a 45 s upstream, naming both keys, before any resource exists", async function () {
        this.timeout(180_000);
        const run = await runWithConfig("dev", devConfigWith({ "tollgate:lambda": { timeoutSeconds: 60 }, "tollgate:upstreamTimeoutMs": 45_000 }));
        assert.match(run.error ?? "", /tollgate:lambda\.timeoutSeconds: at most 30/);
        assert.match(run.error ?? "", /tollgate:upstreamTimeoutMs: at most 27000/);
        assert.deepEqual(run.created.map((r) => `${r.type} ${r.name}`), []);
    });
});
