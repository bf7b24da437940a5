/**
 * Runs `npm run data -- ...` commands in this process (runDataCli, the same
 * function the script calls) with captured stdout/stderr, against the data
 * test stack (test/fixtures/data/Pulumi.data-test.yaml).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import { runDataCli } from "../../cli/data";
import { projectDir } from "../../specs/stackFile";

export const dataTestConfig = path.join(projectDir, "test", "fixtures", "data", "Pulumi.data-test.yaml");
export const dataFixture = (name: string) => path.join(projectDir, "test", "fixtures", "data", name);

export interface DataRun {
    code: number;
    stdout: string;
    stderr: string;
}

function collector(): Writable & { text: string } {
    const stream = new Writable({
        write(chunk, _encoding, done) {
            stream.text += chunk.toString();
            done();
        },
    }) as Writable & { text: string };
    stream.text = "";
    return stream;
}

export async function runData(args: string[], options: { signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {}): Promise<DataRun> {
    const stdout = collector();
    const stderr = collector();
    const code = await runDataCli(args, { stdout, stderr, env: options.env ?? {}, cwd: projectDir, signal: options.signal });
    return { code, stdout: stdout.text, stderr: stderr.text };
}

/** `--config <data test stack> --endpoint URL` */
export const against = (endpoint: string) => ["--config", dataTestConfig, "--endpoint", endpoint];

export function temporaryDir(label: string): { dir: string; file(name: string): string; remove(): void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tollgate-data-${label}-`));
    return { dir, file: (name) => path.join(dir, name), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function writeLines(file: string, lines: string[]): void {
    fs.writeFileSync(file, `${lines.join("\n")}\n`);
}
