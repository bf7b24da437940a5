/**
 * A copy of the repository as a fresh clone would have it (its tracked and
 * unignored files), with node_modules linked rather than installed again.
 * Tests that must add or edit project files (a stack file, the README's own
 * edits) do it here, never in the working tree other tests read.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectDir } from "../../specs/stackFile";

/** Copies the working tree's tracked and unignored files to a new temporary directory and returns it; remove it with `fs.rmSync(dir, { recursive: true })`. */
export function projectCopy(prefix = "tollgate-copy-"): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: projectDir }).toString().split("\0").filter(Boolean);
    for (const file of files) {
        const from = path.join(projectDir, file);
        if (!fs.existsSync(from)) continue; // deleted in the working tree
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.copyFileSync(from, path.join(dir, file));
    }
    fs.symlinkSync(path.join(projectDir, "node_modules"), path.join(dir, "node_modules"), "dir");
    return dir;
}
