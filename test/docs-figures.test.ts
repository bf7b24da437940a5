/**
 * The figures docs/performance.md quotes are the figures of the benchmark run
 * it names: every number in the value column of its tables is found under
 * that row's key in the committed results file (up to the rounding the table
 * shows), so a hand-written or stale figure fails here. docs/sessions.md's
 * table of DynamoDB operations per login, logout, logout everywhere and
 * renewed request is held to the same run, column by column, and so is the
 * log cost table of docs/observability.md.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";

const projectDir = path.resolve(__dirname, "..");
const page = fs.readFileSync(path.join(projectDir, "docs", "performance.md"), "utf8");
const sessionsPage = fs.readFileSync(path.join(projectDir, "docs", "sessions.md"), "utf8");

/** The results file a page names as a link: [`bench/results/<date>.json`](...). */
function resultsFileNamedBy(text: string): string | undefined {
    return /\[`(bench\/results\/[^`]+\.json)`\]/.exec(text)?.[1];
}

/** Every number under a value (an object's leaves, or the value itself). */
function numbersUnder(value: unknown): number[] {
    if (typeof value === "number") return [value];
    if (value && typeof value === "object") return Object.values(value).flatMap(numbersUnder);
    return [];
}

/** The numbers a table cell shows: `52,556 req/s, p50 0.15 ms` -> [52556, 0.15]; `p50` and `p99` name a percentile, not a figure. */
export function numbersShown(cell: string): { value: number; decimals: number }[] {
    return [...cell.replace(/\bp\d+\b/g, "").replace(/\u2212/g, "-").matchAll(/-?\d[\d,]*(?:\.\d+)?/g)].map(([text]) => {
        const plain = text.replace(/,/g, "");
        return { value: Number(plain), decimals: plain.includes(".") ? plain.split(".")[1].length : 0 };
    });
}

function lookup(results: Record<string, unknown>, key: string): unknown {
    return key.split(".").reduce<unknown>((node, part) => (node && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined), results);
}

describe("docs/performance.md and the benchmark run it quotes", () => {
    const file = resultsFileNamedBy(page);

    it("names a committed results file of a dated run", () => {
        assert.ok(file, "docs/performance.md names no bench/results/*.json");
        const results = JSON.parse(fs.readFileSync(path.join(projectDir, file), "utf8"));
        assert.match(results.run.at, /^\d{4}-\d{2}-\d{2}T/);
        assert.equal(results.run.quick, false, "the quoted run is a full one");
        assert.ok(page.includes(results.run.at.slice(0, 10)), "the page says the run's date");
    });

    it("shows only figures found under each row's key in that file", () => {
        const results = JSON.parse(fs.readFileSync(path.join(projectDir, file!), "utf8"));
        const rows = page.split("\n").filter((line) => /^\| `[a-z_.]+`( \/ `[a-z_.]+`)? \|/.test(line));
        assert.ok(rows.length >= 20, `${rows.length} figure rows`);
        const missing: string[] = [];
        for (const row of rows) {
            const [, keys, value] = row.split("|").map((cell) => cell.trim());
            const candidates = [...keys.matchAll(/`([a-z_.]+)`/g)].flatMap(([, key]) => numbersUnder(lookup(results, key)));
            assert.ok(candidates.length > 0, `${keys}: no figure under that key in ${file}`);
            for (const shown of numbersShown(value)) {
                const tolerance = 0.5 * 10 ** -shown.decimals + 1e-9;
                const found = candidates.some((candidate) => Math.abs(candidate - shown.value) <= tolerance);
                if (!found) missing.push(`${keys}: ${shown.value} (in '${value}')`);
            }
        }
        assert.deepEqual(missing, [], `figures not in ${file}`);
    });
});

/** The rows of the first table under a `## heading`, each as its cells keyed by the table's header. */
function tableUnder(text: string, heading: string): Record<string, string>[] {
    const section = text.split(/^## /m).find((part) => part.startsWith(`${heading}\n`)) ?? "";
    const lines = section.split("\n").filter((line) => line.startsWith("|"));
    const cellsOf = (line: string) => line.split("|").slice(1, -1).map((cell) => cell.trim());
    const [header, , ...rows] = lines.map(cellsOf);
    return rows.map((cells) => Object.fromEntries((header ?? []).map((name, i) => [name, cells[i] ?? ""])));
}

describe("docs/sessions.md's DynamoDB operations and the benchmark run they quote", () => {
    const file = resultsFileNamedBy(sessionsPage);
    /** The row each session request has, by its key in the results file. */
    const keys = ["ddb.login", "ddb.logout", "ddb.logout_all", "ddb.renewed"];
    /** The figure each column shows, under the row's key. */
    const columns = { Writes: "writes_per_req", Reads: "reads_per_req" } as const;

    it("names the results file docs/performance.md quotes, and its date", () => {
        assert.ok(file, "docs/sessions.md names no bench/results/*.json");
        assert.equal(file, resultsFileNamedBy(page), "docs/sessions.md and docs/performance.md quote different runs");
        const results = JSON.parse(fs.readFileSync(path.join(projectDir, file), "utf8"));
        assert.ok(sessionsPage.includes(results.run.at.slice(0, 10)), "the page says the run's date");
    });

    it("shows in each row the writes and reads per request found under its key, and in its request the count it was measured with", () => {
        const results = JSON.parse(fs.readFileSync(path.join(projectDir, file!), "utf8"));
        const rows = tableUnder(sessionsPage, "DynamoDB operations");
        assert.deepEqual(
            rows.map((row) => /^`([a-z_.]+)`$/.exec(row.Key ?? "")?.[1]),
            keys,
            "one row per session request, keyed as in the results file",
        );
        const wrong: string[] = [];
        for (const row of rows) {
            const key = row.Key.replace(/`/g, "");
            for (const [column, field] of Object.entries(columns)) {
                const figure = lookup(results, `${key}.${field}`);
                assert.equal(typeof figure, "number", `${key}.${field}: no figure in ${file}`);
                const shown = numbersShown(row[column]);
                if (shown.length !== 1 || Math.abs(shown[0].value - (figure as number)) > 0.5 * 10 ** -shown[0].decimals + 1e-9) {
                    wrong.push(`${key} ${column}: '${row[column]}', the run has ${figure}`);
                }
            }
            // "logout everywhere (`all`), 5 sessions": the sessions each user had in the run.
            const under = numbersUnder(lookup(results, key));
            for (const shown of numbersShown(row.Request)) {
                if (!under.includes(shown.value)) wrong.push(`${key} Request: ${shown.value} (in '${row.Request}') is not under ${key}`);
            }
        }
        assert.deepEqual(wrong, [], `figures not as in ${file}`);
    });
});

describe("docs/observability.md's log costs and the benchmark run they quote", () => {
    const observability = fs.readFileSync(path.join(projectDir, "docs", "observability.md"), "utf8");
    const file = /\[`(bench\/results\/[^`]+\.json)`\]/.exec(observability)?.[1];

    /** The cost table's rows: bytes and dollars as shown, and the `cost.logs_by_group` key in the last cell (none on the total row). */
    const costRows = () =>
        observability
            .slice(observability.indexOf("## What a million requests cost in logs"))
            .split("\n")
            .filter((line) => line.startsWith("| `/aws/") || line.startsWith("| **every log group**"))
            .map((line) => {
                const cells = line.split("|").map((cell) => cell.trim());
                return { line, bytes: numbersShown(cells[3])[0], usd: numbersShown(cells[4])[0], key: /^`([a-z_]+)`$/.exec(cells[5])?.[1] };
            });

    /** True when the shown figure is `actual` rounded to the decimals shown. */
    const roundsTo = (shown: { value: number; decimals: number }, actual: number) => Math.abs(actual - shown.value) <= 0.5 * 10 ** -shown.decimals + 1e-9;

    it("names the committed results file of the run it says", () => {
        assert.ok(file, "docs/observability.md names no bench/results/*.json");
        const results = JSON.parse(fs.readFileSync(path.join(projectDir, file), "utf8"));
        assert.equal(results.run.quick, false);
        assert.ok(observability.includes(results.run.at.slice(0, 10)), "the page says the run's date");
    });

    it("shows each group's bytes and dollars per request as that file has them, and their sum", () => {
        const groups: Record<string, { bytes_per_req: number; usd_per_million: number }> = JSON.parse(fs.readFileSync(path.join(projectDir, file!), "utf8")).cost.logs_by_group;
        const rows = costRows();
        const keyed = rows.filter((row) => row.key);
        assert.deepEqual(keyed.map((row) => row.key).sort(), Object.keys(groups).sort(), "one row per group of the file");
        const wrong: string[] = [];
        for (const row of keyed) {
            const group = groups[row.key!];
            if (!roundsTo(row.bytes, group.bytes_per_req) || !roundsTo(row.usd, group.usd_per_million)) wrong.push(row.line);
        }
        const total = rows.find((row) => !row.key);
        assert.ok(total, "the table has its total row");
        const sum = (field: "bytes_per_req" | "usd_per_million") => Object.values(groups).reduce((n, group) => n + group[field], 0);
        if (!roundsTo(total.bytes, sum("bytes_per_req")) || !roundsTo(total.usd, sum("usd_per_million"))) wrong.push(total.line);
        assert.deepEqual(wrong, [], `rows that differ from ${file}`);
    });
});
