/**
 * One `npm start` per data directory. LevelDB (under dynalite) locks its
 * files, and a second process on the same directory does not get an error at
 * start: dynalite crashes on the first request instead. A pid file taken with
 * an exclusive create turns that into a clear refusal naming the other
 * process; a pid file left by a process that no longer runs is taken over.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const lockFileName = "npm-start.pid";

export class DataDirInUseError extends Error {
    constructor(
        readonly dataDir: string,
        readonly pid: number,
    ) {
        super(`data directory ${dataDir} is in use by another npm start (pid ${pid}); stop it, or use --data-dir DIR or --memory`);
        this.name = "DataDirInUseError";
    }
}

export interface DataDirLock {
    /** Gives the directory up (named `close` like the other parts `npm start` stops). */
    close(): Promise<void>;
}

export function lockDataDir(dataDir: string, pid: number = process.pid): DataDirLock {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, lockFileName);
    for (let attempt = 0; attempt < 2; attempt++) {
        try {
            fs.writeFileSync(file, `${pid}\n`, { flag: "wx" });
            // Only our own lock: a stale-lock takeover by another process must not be undone.
            const release = () => {
                if (readPid(file) === pid) fs.rmSync(file, { force: true });
            };
            // An exit that does not wait for close() (a second Ctrl-C) still gives the directory up.
            process.once("exit", release);
            return {
                close: async () => {
                    process.off("exit", release);
                    release();
                },
            };
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
            const holder = readPid(file);
            if (holder !== undefined && isRunning(holder)) throw new DataDirInUseError(dataDir, holder);
            fs.rmSync(file, { force: true });
        }
    }
    throw new Error(`could not take ${file}`);
}

function readPid(file: string): number | undefined {
    try {
        const pid = Number(fs.readFileSync(file, "utf8").trim());
        return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
        return undefined;
    }
}

function isRunning(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        // EPERM: it runs, as another user.
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}
