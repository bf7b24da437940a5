/**
 * "Did you mean": the known name closest to a mistyped one, for the config
 * schema's unknown keys and the commands' unknown flags and commands alike.
 */

/** The known name closest to a mistyped one: same letters in another case, or at most a couple of edits away. */
export function closestName(typed: string, known: readonly string[]): string | undefined {
    const lower = typed.toLowerCase();
    const sameLetters = known.find((name) => name.toLowerCase() === lower);
    if (sameLetters) return sameLetters;
    let best: { name: string; distance: number } | undefined;
    for (const name of known) {
        const distance = editDistance(lower, name.toLowerCase());
        if (distance <= Math.max(1, Math.floor(name.length / 4)) && (!best || distance < best.distance)) best = { name, distance };
    }
    return best?.name;
}

/** Edits from one name to the other: a letter added, removed or changed, or two neighbours swapped (`prot` -> `port` is one). */
function editDistance(a: string, b: string): number {
    const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
    for (let i = 1; i <= a.length; i++) {
        const row = [i];
        for (let j = 1; j <= b.length; j++) {
            row[j] = Math.min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j], rows[i - 2][j - 2] + 1);
        }
        rows.push(row);
    }
    return rows[a.length][b.length];
}
