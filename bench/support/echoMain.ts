/** Runs the local gateway's echo upstream on a free loopback port until SIGINT/SIGTERM. */
import { startEchoUpstream } from "../../local/echo";

startEchoUpstream("bench").then((echo) => {
    process.stdout.write(`echo ready on ${echo.url}\n`);
    const stop = () => void echo.close().then(() => process.exit(0));
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
});
