/**
 * The local gateway's embedded store (local/store.ts) in a process of its
 * own, on the port and data directory given as arguments: a dynalite that a
 * test can stop the way DynamoDB stops, by killing its process.
 */
import { serveUntilSignalled } from "../../bench/support/childMain";
import { startEmbeddedStore } from "../../local/store";

const [port, dataDir] = process.argv.slice(2);
serveUntilSignalled("store", async () => {
    const store = await startEmbeddedStore({ port: Number(port), path: dataDir || undefined });
    return { url: store.endpoint, close: () => store.close() };
});
