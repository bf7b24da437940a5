/**
 * Progress of a long run on stderr: a cli-progress bar with items/s when
 * stderr is a terminal, otherwise one plain line every few seconds (logs and
 * CI keep those readable; a bar redrawn into a file is not).
 */
import { SingleBar } from "cli-progress";

export interface ProgressState {
    /** Items done. */
    items: number;
    /** Work done and total work, in any unit (bytes of the file, items of the table); the bar's fill. */
    done?: number;
    total?: number;
    /** Extra text, e.g. `line 52013`. */
    detail?: string;
}

export interface Progress {
    update(state: ProgressState): void;
    /** Final line. */
    stop(): void;
}

export type ProgressMode = "auto" | "bar" | "lines" | "none";

export interface ProgressOptions {
    label: string;
    stream: NodeJS.WritableStream & { isTTY?: boolean };
    mode?: ProgressMode;
    /** Between two plain lines. Default 5000 ms. */
    intervalMs?: number;
    now?: () => number;
}

const rate = (items: number, elapsedMs: number) => (elapsedMs > 0 ? Math.round((items * 1000) / elapsedMs) : 0);

export function createProgress(options: ProgressOptions): Progress {
    const now = options.now ?? Date.now;
    const started = now();
    const mode = options.mode === "auto" || !options.mode ? (options.stream.isTTY ? "bar" : "lines") : options.mode;
    let last: ProgressState = { items: 0 };

    if (mode === "none") return { update: (state) => void (last = state), stop: () => undefined };

    if (mode === "bar") {
        let bar: SingleBar | undefined;
        const payload = (state: ProgressState) => ({ items: state.items, rate: rate(state.items, now() - started), detail: state.detail ? ` | ${state.detail}` : "" });
        return {
            update(state) {
                last = state;
                if (!bar) {
                    // Without a known total there is nothing to fill: counts and speed only.
                    const format = state.total
                        ? `${options.label} [{bar}] {percentage}% | {items} items | {rate} items/s{detail} | ETA {eta_formatted}`
                        : `${options.label} {items} items | {rate} items/s{detail} | {duration_formatted}`;
                    bar = new SingleBar({ stream: options.stream, format, hideCursor: true, etaBuffer: 50, fps: 5 });
                    bar.start(state.total ?? 0, state.done ?? state.items, payload(state));
                    return;
                }
                if (state.total && state.total !== bar.getTotal()) bar.setTotal(state.total);
                bar.update(state.done ?? state.items, payload(state));
            },
            stop() {
                if (!bar) return;
                bar.update(last.done ?? last.items, payload(last));
                bar.stop();
            },
        };
    }

    const intervalMs = options.intervalMs ?? 5000;
    let lastPrinted = started;
    let printed = false;
    const line = (state: ProgressState) => {
        const percent = state.total ? ` (${Math.min(100, Math.floor(((state.done ?? 0) * 100) / state.total))}%)` : "";
        const detail = state.detail ? `, ${state.detail}` : "";
        options.stream.write(`${options.label}: ${state.items} items${percent}, ${rate(state.items, now() - started)} items/s${detail}\n`);
    };
    return {
        update(state) {
            last = state;
            if (now() - lastPrinted >= intervalMs) {
                lastPrinted = now();
                printed = true;
                line(state);
            }
        },
        stop() {
            // Short runs print no progress at all: the command's summary says it all.
            if (printed) line(last);
        },
    };
}

/** Items per second over a run, for summaries. */
export function itemsPerSecond(items: number, elapsedMs: number): number {
    return rate(items, elapsedMs);
}
