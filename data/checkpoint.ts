/**
 * Where an import stopped: the last line up to which everything is written,
 * kept in a small JSON file next to the input (`<file>.checkpoint.json`) while
 * the import runs, and removed when it completes. `--resume` starts after
 * that line; the file's size guards against resuming into a different file.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface Checkpoint {
    version: 1;
    /** The physical table written to. */
    table: string;
    /** The input file, absolute. */
    file: string;
    fileBytes: number;
    /** Every line up to and including this one is written (or was skipped as bad input). */
    lastCommittedLine: number;
    written: number;
    skipped: number;
    updatedAt: string;
}

export class CheckpointError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "CheckpointError";
    }
}

export function defaultCheckpointFile(inputFile: string): string {
    return `${inputFile}.checkpoint.json`;
}

export function writeCheckpoint(checkpointFile: string, checkpoint: Omit<Checkpoint, "version" | "updatedAt">): void {
    const content: Checkpoint = { version: 1, ...checkpoint, updatedAt: new Date().toISOString() };
    // Write then rename, so an interruption never leaves half a checkpoint.
    const temporary = `${checkpointFile}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`);
    fs.renameSync(temporary, checkpointFile);
}

/** Reads the checkpoint of an earlier run of this import, refusing one made for another table or file. */
export function readCheckpoint(checkpointFile: string, expected: { table: string; file: string }): Checkpoint {
    let checkpoint: Checkpoint;
    try {
        checkpoint = JSON.parse(fs.readFileSync(checkpointFile, "utf8"));
    } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist (no interrupted import of this file to resume)" : `cannot be read (${(error as Error).message})`;
        throw new CheckpointError(`checkpoint ${checkpointFile} ${reason}`);
    }
    if (checkpoint.version !== 1 || typeof checkpoint.lastCommittedLine !== "number") {
        throw new CheckpointError(`checkpoint ${checkpointFile} is not a tollgate import checkpoint`);
    }
    if (checkpoint.table !== expected.table) {
        throw new CheckpointError(`checkpoint ${checkpointFile} is for table ${checkpoint.table}, not ${expected.table}`);
    }
    const file = path.resolve(expected.file);
    const bytes = fs.statSync(file).size;
    if (checkpoint.file !== file || checkpoint.fileBytes !== bytes) {
        throw new CheckpointError(
            `checkpoint ${checkpointFile} was made for ${checkpoint.file} (${checkpoint.fileBytes} bytes), not ${file} (${bytes} bytes); use --from-line ${checkpoint.lastCommittedLine + 1} to resume anyway`,
        );
    }
    return checkpoint;
}

export function removeCheckpoint(checkpointFile: string): void {
    fs.rmSync(checkpointFile, { force: true });
}
