/**
 * The child side of `startChild` (processes.ts): a service started in a
 * process of its own announces where it listens in the line the parent
 * waits for, and closes on SIGINT or SIGTERM. A failure to start exits 1
 * with its stack, which the parent shows.
 */
export interface ChildServing {
    url: string;
    close(): Promise<void>;
}

/** Starts the service, writes `<name> ready on <url>`, and closes it on SIGINT or SIGTERM. */
export function serveUntilSignalled(name: string, start: () => Promise<ChildServing>): void {
    // Through a promise, so a start that throws before its first await is reported like one that rejects.
    Promise.resolve().then(start).then(
        (service) => {
            process.stdout.write(`${name} ready on ${service.url}\n`);
            const stop = () => void service.close().then(() => process.exit(0));
            process.on("SIGINT", stop);
            process.on("SIGTERM", stop);
        },
        (error) => {
            process.stderr.write(`${error?.stack ?? error}\n`);
            process.exit(1);
        },
    );
}
