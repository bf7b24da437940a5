/**
 * The data commands behind `npm run data -- <command>`: each takes parsed
 * options and the process's streams, reports on stderr (progress, bad
 * records, where a run stopped), writes its result on stdout, and returns the
 * exit code. Argument parsing lives in `cli/data.ts`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { UsageError } from "./commandLine";
import { ensureTables } from "./createTables";
import { physicalTableName, type TableSpec } from "../specs/tables";
import { readCheckpoint, removeCheckpoint, writeCheckpoint } from "./checkpoint";
import { TableClient } from "./client";
import { exportTable } from "./exportTable";
import { itemFromJson, type ItemFormat } from "./itemFormat";
import { openItemSource, type ItemSource } from "./itemSource";
import { loadItems, type LoadProblem, type LoadRecord, type LoadResult, type OnError } from "./load";
import { collectionRecords, MappingError, readDocumentDatabase, readMapping } from "./migrate";
import { createDynamoClient } from "./options";
import { createProgress, itemsPerSecond, type ProgressMode } from "./progress";
import { findTableSpec, noSuchTable, requireCredentials, tableSpecNamed, type DataTarget } from "./target";
import { differenceCount, verifyTable, type VerifyReport } from "./verifyTable";

export const exitCodes = { ok: 0, failed: 1, usage: 2, differences: 3, interrupted: 130 } as const;

export interface CommandIo {
    stdout: NodeJS.WritableStream;
    stderr: NodeJS.WritableStream & { isTTY?: boolean };
    /** Aborted on Ctrl-C: runs stop reading, finish the writes in flight and say where they stopped. */
    signal?: AbortSignal;
    progress: ProgressMode;
    /** Result on stdout as one JSON object instead of text. */
    json: boolean;
}

export interface CommonOptions {
    target: DataTarget;
    maxAttempts?: number;
}

export interface LoadFileOptions extends CommonOptions {
    table: string;
    file: string;
    format: ItemFormat;
    onError: OnError;
    concurrency: number;
    createTable: boolean;
}

export interface ImportOptions extends LoadFileOptions {
    resume: boolean;
    fromLine?: number;
    checkpointFile: string;
}

export interface ExportOptions extends CommonOptions {
    table: string;
    out?: string;
    format: "dynamodb" | "plain";
    segments: number;
    consistent: boolean;
}

export interface VerifyOptions extends CommonOptions {
    table: string;
    file: string;
    format: ItemFormat;
    onError: OnError;
    segments: number;
    consistent: boolean;
    maxListed: number;
}

export interface MigrateOptions extends CommonOptions {
    from: string;
    mapping: string;
    onError: OnError;
    concurrency: number;
    createTable: boolean;
}

/** Problems printed one by one before the rest are only counted. */
const maxProblemsShown = 100;

function openTable(options: CommonOptions, spec: TableSpec): TableClient {
    return new TableClient(spec, { ...options.target.settings, maxAttempts: options.maxAttempts, exactNumbers: true });
}

async function createTableIfAsked(options: CommonOptions & { createTable: boolean }, specs: TableSpec[], flag = "--create-table"): Promise<void> {
    if (!options.createTable) return;
    if (options.target.aws) throw new UsageError(`${flag}: only with --local or --endpoint (tables on AWS belong to the Pulumi stack)`);
    const client = createDynamoClient(options.target.settings);
    try {
        await ensureTables(client, options.target.prefix, specs);
    } finally {
        client.destroy();
    }
}

function problemPrinter(io: CommandIo, prefix: string) {
    let count = 0;
    return {
        print(problem: LoadProblem) {
            if (++count <= maxProblemsShown) io.stderr.write(`${prefix}${problem.where}: ${problem.message}\n`);
            else if (count === maxProblemsShown + 1) io.stderr.write(`${prefix}more problems follow; only the first ${maxProblemsShown} are shown\n`);
        },
        get count() {
            return count;
        },
    };
}

function fileRecords(source: ItemSource, format: ItemFormat): AsyncIterable<LoadRecord> {
    return (async function* () {
        for await (const record of source.records) {
            yield {
                position: record.line,
                where: `line ${record.line}`,
                read: () => {
                    let value: unknown;
                    try {
                        value = JSON.parse(record.text);
                    } catch (error) {
                        throw new Error(`malformed JSON (${(error as Error).message})`);
                    }
                    return itemFromJson(value, format);
                },
            };
        }
    })();
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** `seed` and `import`: items of a JSON lines or JSON array file into one table. */
export async function loadFileCommand(command: "seed" | "import", options: LoadFileOptions | ImportOptions, io: CommandIo): Promise<number> {
    const spec = findTableSpec(options.target, options.table);
    const file = path.resolve(options.file);
    const tableName = physicalTableName(options.target.prefix, spec);
    const importing = command === "import" ? (options as ImportOptions) : undefined;
    let firstLine = 1;
    if (importing?.resume) {
        try {
            firstLine = readCheckpoint(importing.checkpointFile, { table: tableName, file }).lastCommittedLine + 1;
        } catch (error) {
            throw new UsageError(`--resume: ${(error as Error).message}`);
        }
        io.stderr.write(`resuming ${command} into ${tableName} at line ${firstLine} (checkpoint ${importing.checkpointFile})\n`);
    } else if (importing?.fromLine) {
        firstLine = importing.fromLine;
    }
    await createTableIfAsked(options, [spec]);
    await requireCredentials(options.target);
    const table = openTable(options, spec);
    const source = openItemSource(file, { fromLine: firstLine });
    const progress = createProgress({ label: `${command} ${tableName}`, stream: io.stderr, mode: io.progress });
    const problems = problemPrinter(io, `${options.file} `);
    const started = Date.now();
    let lastCheckpointAt = 0;
    const saveCheckpoint = (state: { committedPosition: number; written: number; skipped: number }) => {
        if (!importing) return;
        writeCheckpoint(importing.checkpointFile, {
            table: tableName,
            file,
            fileBytes: source.position().totalBytes,
            lastCommittedLine: state.committedPosition,
            written: state.written,
            skipped: state.skipped,
        });
    };
    let result: LoadResult;
    try {
        result = await loadItems({
            table,
            records: fileRecords(source, options.format),
            onError: options.onError,
            concurrency: options.concurrency,
            startPosition: firstLine,
            lastPositionRead: source.lastLineRead,
            signal: io.signal,
            onProblem: (problem) => problems.print(problem),
            onProgress: (state) => {
                const { bytesRead, totalBytes } = source.position();
                progress.update({ items: state.written, done: bytesRead, total: totalBytes, detail: `line ${state.committedPosition}` });
            },
            onCommit: (state) => {
                if (Date.now() - lastCheckpointAt < 1000) return;
                lastCheckpointAt = Date.now();
                saveCheckpoint(state);
            },
        });
    } finally {
        progress.stop();
        source.close();
        table.close();
    }
    const elapsed = Date.now() - started;
    const summary = {
        command,
        table: tableName,
        file,
        outcome: result.outcome,
        written: result.written,
        skipped: result.skipped,
        firstLine,
        lastCommittedLine: result.committedPosition,
        seconds: Number((elapsed / 1000).toFixed(3)),
        itemsPerSecond: itemsPerSecond(result.written, elapsed),
        ...(result.failure ? { failure: result.failure } : {}),
    };
    if (result.outcome === "complete") {
        if (importing) removeCheckpoint(importing.checkpointFile);
    } else {
        saveCheckpoint(result);
    }
    const where = importing ? ` (checkpoint ${importing.checkpointFile})` : "";
    const resumeHint = (line: number) => (importing ? `re-run with --resume (or --from-line ${line})` : "re-run (puts are idempotent)");
    const upTo = result.committedPosition >= firstLine ? `every line from ${firstLine} to ${result.committedPosition} is written or skipped` : "nothing was written";
    switch (result.outcome) {
        case "stopped-on-bad-input":
            io.stderr.write(
                `${command} stopped at ${result.failure!.where} (--on-error stop): ${upTo}${where}. Fix the line and re-run ${importing ? `with --from-line ${result.failure!.position}` : "(puts are idempotent)"}, or pass --on-error skip.\n`,
            );
            break;
        case "write-failed":
            io.stderr.write(`${command} failed: ${result.failure!.message}\n${upTo}${where}; ${resumeHint(result.committedPosition + 1)} once the table takes writes again.\n`);
            break;
        case "interrupted":
            io.stderr.write(`${command} interrupted: ${upTo}${where}; ${resumeHint(result.committedPosition + 1)}.\n`);
            break;
    }
    if (io.json) io.stdout.write(`${JSON.stringify(summary)}\n`);
    else if (result.outcome === "complete") {
        const skipped = result.skipped ? `; ${result.skipped} bad line${result.skipped === 1 ? "" : "s"} skipped` : "";
        io.stdout.write(`${command === "seed" ? "seeded" : "imported"} ${result.written} items into ${tableName} from ${options.file} in ${seconds(elapsed)} (${summary.itemsPerSecond} items/s)${skipped}\n`);
    }
    return result.outcome === "complete" ? exitCodes.ok : result.outcome === "interrupted" ? exitCodes.interrupted : exitCodes.failed;
}

/** `export`: the whole table as JSON lines, by parallel scan. */
export async function exportCommand(options: ExportOptions, io: CommandIo): Promise<number> {
    const spec = findTableSpec(options.target, options.table);
    const tableName = physicalTableName(options.target.prefix, spec);
    await requireCredentials(options.target);
    const table = openTable(options, spec);
    // An estimate DynamoDB refreshes about every six hours; only the bar's fill depends on it.
    const estimate = await table.documentClient
        .send(new DescribeTableCommand({ TableName: tableName }))
        .then((description) => description.Table?.ItemCount ?? 0)
        .catch((error: Error) => {
            if (error.name !== "ResourceNotFoundException") return 0;
            table.close();
            throw new Error(`table ${tableName} does not exist in ${options.target.description}`);
        });
    const partial = options.out ? `${path.resolve(options.out)}.partial` : undefined;
    const out = partial ? fs.createWriteStream(partial) : io.stdout;
    const progress = createProgress({ label: `export ${tableName}`, stream: io.stderr, mode: io.progress });
    const started = Date.now();
    let count: number;
    try {
        count = await exportTable(table, out, {
            format: options.format,
            segments: options.segments,
            consistent: options.consistent,
            signal: io.signal,
            onProgress: (exported) => progress.update({ items: exported, done: exported, total: Math.max(estimate, exported) || undefined }),
        });
        if (partial) await new Promise<void>((resolve, reject) => (out as fs.WriteStream).end((error?: Error | null) => (error ? reject(error) : resolve())));
    } catch (error) {
        if (partial) fs.rmSync(partial, { force: true });
        throw error;
    } finally {
        progress.stop();
        table.close();
    }
    const elapsed = Date.now() - started;
    if (io.signal?.aborted) {
        if (partial) fs.rmSync(partial, { force: true });
        io.stderr.write(`export interrupted after ${count} items; ${options.out ? `${options.out} was not written` : "the output is incomplete"}\n`);
        return exitCodes.interrupted;
    }
    if (partial) fs.renameSync(partial, path.resolve(options.out!));
    const summary = { command: "export", table: tableName, out: options.out ?? null, items: count, seconds: Number((elapsed / 1000).toFixed(3)), itemsPerSecond: itemsPerSecond(count, elapsed) };
    if (io.json && options.out) io.stdout.write(`${JSON.stringify(summary)}\n`);
    io.stderr.write(`exported ${count} items from ${tableName} ${options.out ? `to ${options.out} ` : ""}in ${seconds(elapsed)} (${summary.itemsPerSecond} items/s, ${options.segments} segments)\n`);
    return exitCodes.ok;
}

/** `verify`: a table against a file, item by item. */
export async function verifyCommand(options: VerifyOptions, io: CommandIo): Promise<number> {
    const spec = findTableSpec(options.target, options.table);
    const tableName = physicalTableName(options.target.prefix, spec);
    await requireCredentials(options.target);
    const table = openTable(options, spec);
    const source = openItemSource(path.resolve(options.file));
    const progress = createProgress({ label: `verify ${tableName}`, stream: io.stderr, mode: io.progress });
    const problems = problemPrinter(io, `${options.file} `);
    let report: VerifyReport;
    try {
        report = await verifyTable({
            table,
            records: fileRecords(source, options.format),
            onError: options.onError,
            segments: options.segments,
            consistent: options.consistent,
            signal: io.signal,
            onProblem: (problem) => problems.print(problem),
            onProgress: (phase, count) => progress.update({ items: count, detail: phase === "file" ? "reading the file" : "scanning the table" }),
        });
    } finally {
        progress.stop();
        source.close();
        table.close();
    }
    if (report.outcome === "interrupted") {
        io.stderr.write("verify interrupted; no result\n");
        return exitCodes.interrupted;
    }
    if (report.outcome === "stopped-on-bad-input") {
        const bad = report.invalid[report.invalid.length - 1];
        io.stderr.write(`verify stopped at ${bad.where} (--on-error stop); pass --on-error skip to compare the other items\n`);
        return exitCodes.failed;
    }
    const differences = differenceCount(report);
    if (io.json) {
        io.stdout.write(`${JSON.stringify({ command: "verify", table: tableName, file: path.resolve(options.file), differences, ...report })}\n`);
    } else {
        const lines = [
            `verify ${tableName} against ${options.file}`,
            `  file:      ${report.fileItems} items, digest ${report.fileDigest.slice(0, 16)}${report.duplicateKeysInFile ? ` (${report.duplicateKeysInFile} records repeat an earlier key; the later one counts)` : ""}${report.invalid.length ? ` (${report.invalid.length} bad lines skipped)` : ""}`,
            `  table:     ${report.tableItems} items, digest ${report.tableDigest.slice(0, 16)}`,
            `  matching:  ${report.matching}`,
            `  missing:   ${report.missing.length} (in the file, not in the table)`,
            `  extra:     ${report.extra.length} (in the table, not in the file)`,
            `  different: ${report.different.length}`,
        ];
        for (const [label, keys] of [
            ["missing", report.missing],
            ["extra", report.extra],
            ["different", report.different],
        ] as const) {
            for (const entry of keys.slice(0, options.maxListed)) lines.push(`  ${label.padEnd(9)} ${JSON.stringify(entry.key)}${entry.where ? ` (${entry.where})` : ""}`);
            if (keys.length > options.maxListed) lines.push(`  ${label.padEnd(9)} ... ${keys.length - options.maxListed} more (--max-listed, or --json for all)`);
        }
        lines.push(differences === 0 ? `verified: the table holds exactly the ${report.fileItems} items of the file` : `${differences} difference${differences === 1 ? "" : "s"}`);
        io.stdout.write(`${lines.join("\n")}\n`);
    }
    return differences === 0 ? exitCodes.ok : exitCodes.differences;
}

/** `migrate`: a db.json document database into the tables its mapping names. */
export async function migrateCommand(options: MigrateOptions, io: CommandIo): Promise<number> {
    const mapping = readMapping(options.mapping);
    const database = readDocumentDatabase(options.from);
    const problems: string[] = [];
    const plan = mapping.map((entry) => {
        const spec = tableSpecNamed(options.target, entry.table);
        if (!spec) problems.push(`${options.mapping}: ${entry.collection}.table: ${noSuchTable(options.target, entry.table)}`);
        const records = database[entry.collection];
        if (records === undefined) problems.push(`${options.from}: has no collection '${entry.collection}' (mapped in ${options.mapping})`);
        else if (!Array.isArray(records)) problems.push(`${options.from}: '${entry.collection}' is not a list of records`);
        return { entry, spec: spec!, records: Array.isArray(records) ? records : [] };
    });
    if (problems.length) throw new MappingError(problems);
    for (const collection of Object.keys(database)) {
        if (!mapping.some((entry) => entry.collection === collection)) io.stderr.write(`${options.from}: collection '${collection}' is not in ${options.mapping}; left out\n`);
    }
    await createTableIfAsked(options, [...new Set(plan.map((step) => step.spec))]);
    await requireCredentials(options.target);
    const total = plan.reduce((sum, step) => sum + step.records.length, 0);
    const progress = createProgress({ label: "migrate", stream: io.stderr, mode: io.progress });
    const printer = problemPrinter(io, `${options.from} `);
    const started = Date.now();
    const results: { collection: string; table: string; written: number; skipped: number }[] = [];
    let writtenBefore = 0;
    let exitCode: number = exitCodes.ok;
    try {
        for (const { entry, spec, records } of plan) {
            const table = openTable(options, spec);
            let result: LoadResult;
            try {
                result = await loadItems({
                    table,
                    records: collectionRecords(entry.collection, records, entry),
                    onError: options.onError,
                    concurrency: options.concurrency,
                    signal: io.signal,
                    onProblem: (problem) => printer.print(problem),
                    onProgress: (state) => progress.update({ items: writtenBefore + state.written, done: writtenBefore + state.read, total, detail: entry.collection }),
                });
            } finally {
                table.close();
            }
            writtenBefore += result.written;
            results.push({ collection: entry.collection, table: table.tableName, written: result.written, skipped: result.skipped });
            if (result.outcome === "complete") continue;
            const done = `${result.committedPosition} of ${records.length} ${entry.collection} records are written or skipped`;
            if (result.outcome === "stopped-on-bad-input") {
                io.stderr.write(`migrate stopped at ${result.failure!.where} (--on-error stop): ${done}; fix the record and re-run (writes are idempotent), or pass --on-error skip\n`);
            } else if (result.outcome === "write-failed") {
                io.stderr.write(`migrate failed: ${result.failure!.message}\n${done}; re-run once the table takes writes again (writes are idempotent)\n`);
            } else {
                io.stderr.write(`migrate interrupted: ${done}; re-run to finish (writes are idempotent)\n`);
            }
            exitCode = result.outcome === "interrupted" ? exitCodes.interrupted : exitCodes.failed;
            break;
        }
    } finally {
        progress.stop();
    }
    const elapsed = Date.now() - started;
    if (io.json) {
        io.stdout.write(`${JSON.stringify({ command: "migrate", collections: results, seconds: Number((elapsed / 1000).toFixed(3)), itemsPerSecond: itemsPerSecond(writtenBefore, elapsed) })}\n`);
    } else if (exitCode === exitCodes.ok) {
        for (const result of results) {
            io.stdout.write(`${result.collection} -> ${result.table}: ${result.written} items${result.skipped ? ` (${result.skipped} bad records skipped)` : ""}\n`);
        }
        io.stdout.write(`migrated ${writtenBefore} items in ${seconds(elapsed)} (${itemsPerSecond(writtenBefore, elapsed)} items/s)\n`);
    }
    return exitCode;
}
