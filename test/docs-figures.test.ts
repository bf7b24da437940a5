/**
 * The figures docs/performance.md quotes are the figures of the benchmark run
 * it names: every number in the value column of its tables is found under
 * that row's key in the committed results file (up to the rounding the table
 * shows), so a hand-written or stale figure fails here.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";

const projectDir = path.resolve(__dirname, "..");
const page = fs.readFileSync(path.join(projectDir, "docs", "performance.md"), "utf8");

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
    const file = /\[`(bench\/results\/[^`]+\.json)`\]/.exec(page)?.[1];

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
