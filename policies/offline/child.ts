/** Child-process entry of runProgramIsolated: evaluate one program, write its run as JSON. */
import * as fs from "node:fs";
import { runProgram, type RunOptions } from "./harness";

async function main() {
    const [requestFile, resultFile] = process.argv.slice(2);
    const options: RunOptions = JSON.parse(fs.readFileSync(requestFile, "utf8"));
    const run = await runProgram(options);
    fs.writeFileSync(resultFile, JSON.stringify(run));
    process.exit(0);
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
