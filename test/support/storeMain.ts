/**
 * The local gateway's embedded store (local/store.ts) in a process of its
 * own, on the port and data directory given as arguments: a dynalite that a
 * test can stop the way DynamoDB stops, by killing its process.
 */
import { startEmbeddedStore } from "../../local/store";

async function main() {
    const [port, dataDir] = process.argv.slice(2);
    const store = await startEmbeddedStore({ port: Number(port), path: dataDir || undefined });
    process.stdout.write(`store ready on ${store.endpoint}\n`);
    const stop = () => void store.close().then(() => process.exit(0));
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
}

main().catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
});
