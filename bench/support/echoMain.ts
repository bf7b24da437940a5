/** Runs the local gateway's echo upstream on a free loopback port until SIGINT/SIGTERM. */
import { startEchoUpstream } from "../../local/echo";
import { serveUntilSignalled } from "./childMain";

serveUntilSignalled("echo", () => startEchoUpstream("bench"));
