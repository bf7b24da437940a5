/**
 * Items read from a file with the line each starts on, so every problem is
 * reported where it is. A file is either JSON lines (one item a line, blank
 * lines ignored) or one JSON array (spread over lines as people write them);
 * the first non-blank character decides. `.gz` files are read through gunzip
 * (DynamoDB's export to S3 writes `.json.gz`).
 *
 * JSON lines are streamed, so files of any size work; an array is read into
 * memory whole (arrays are for seed files; use JSON lines for bulk loads).
 */
import * as fs from "node:fs";
import * as readline from "node:readline";
import * as zlib from "node:zlib";

export interface SourceRecord {
    /** 1-based line the record starts on. */
    line: number;
    /** The record's JSON text. */
    text: string;
}

export interface ItemSource {
    file: string;
    /** Records from `fromLine` on (earlier ones are read past, not parsed). */
    records: AsyncIterable<SourceRecord>;
    /** Bytes of the file read so far and its size, for progress. */
    position(): { bytesRead: number; totalBytes: number };
    /** The last line read (blank lines included), so a checkpoint can pass trailing blank lines. */
    lastLineRead(): number;
    close(): void;
}

export class SourceError extends Error {
    constructor(
        readonly line: number,
        message: string,
    ) {
        super(`line ${line}: ${message}`);
        this.name = "SourceError";
    }
}

export function openItemSource(file: string, options: { fromLine?: number } = {}): ItemSource {
    const totalBytes = fs.statSync(file).size;
    const raw = fs.createReadStream(file);
    const input = file.endsWith(".gz") ? raw.pipe(zlib.createGunzip()) : raw;
    raw.on("error", (error) => input.destroy(error));
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    const fromLine = options.fromLine ?? 1;
    let lastLine = 0;

    async function* records(): AsyncGenerator<SourceRecord> {
        let lineNumber = 0;
        let arrayText: string[] | undefined;
        let arrayStartLine = 0;
        let sawContent = false;
        for await (const text of lines) {
            lineNumber++;
            if (arrayText) {
                arrayText.push(text);
                continue;
            }
            lastLine = lineNumber;
            const trimmed = text.trim();
            if (trimmed === "") continue;
            if (!sawContent) {
                // The first non-blank line is the only one that can open an array.
                sawContent = true;
                if (trimmed.startsWith("[")) {
                    arrayText = [text];
                    arrayStartLine = lineNumber;
                    continue;
                }
            }
            if (lineNumber < fromLine) continue;
            yield { line: lineNumber, text: trimmed };
        }
        if (arrayText) {
            for (const element of arrayElements(arrayText.join("\n"), arrayStartLine)) {
                lastLine = element.line;
                if (element.line >= fromLine) yield element;
            }
            lastLine = lineNumber;
        }
    }

    return {
        file,
        records: records(),
        position: () => ({ bytesRead: raw.bytesRead, totalBytes }),
        lastLineRead: () => lastLine,
        close: () => {
            lines.close();
            raw.destroy();
        },
    };
}

/**
 * The top-level elements of a JSON array text, each with the line it starts
 * on. Only finds the boundaries (tracking strings and nesting); each element
 * is parsed on its own later, so one malformed element is reported by its
 * line and the rest still load.
 */
export function* arrayElements(text: string, firstLine = 1): Generator<SourceRecord> {
    let line = firstLine;
    let i = text.indexOf("[");
    for (let j = 0; j < i; j++) if (text[j] === "\n") line++;
    i++;
    for (;;) {
        while (i < text.length && /\s/.test(text[i])) {
            if (text[i] === "\n") line++;
            i++;
        }
        if (i >= text.length) throw new SourceError(line, "the JSON array is not closed with ']'");
        if (text[i] === "]") {
            const rest = text.slice(i + 1).trim();
            if (rest !== "") throw new SourceError(line, "unexpected text after the JSON array's closing ']'");
            return;
        }
        const start = i;
        const startLine = line;
        let depth = 0;
        let inString = false;
        for (; i < text.length; i++) {
            const c = text[i];
            if (c === "\n") line++;
            if (inString) {
                if (c === "\\") i++;
                else if (c === '"') inString = false;
                continue;
            }
            if (c === '"') inString = true;
            else if (c === "{" || c === "[") depth++;
            else if (c === "}" || c === "]") {
                if (depth === 0) break;
                depth--;
            } else if (c === "," && depth === 0) break;
        }
        if (i >= text.length) throw new SourceError(startLine, "the JSON array is not closed with ']'");
        yield { line: startLine, text: text.slice(start, i).trim() };
        if (text[i] === ",") i++;
    }
}
