// Parses GitHub Actions workflow files with @actions/workflow-parser, the
// parser behind GitHub's Actions language server, and prints one JSON object:
// { "<file>": ["<error>", ...] } (an empty list for a file without errors).
// It is an ES module only, so the tests run it in a process of its own.
//
//   node parseWorkflows.mjs ROOT FILE...
//
// FILE is relative to ROOT, the repository root: a job's `uses:
// ./.github/workflows/x.yml` is read from there, and the called workflow's
// inputs, outputs and jobs are checked as GitHub checks them.
import { readFile } from "node:fs/promises";
import { registerHooks } from "node:module";
import * as path from "node:path";

// The package imports its JSON schemas without `with { type: "json" }`, as a
// bundler allows and Node does not: give those imports the attribute.
registerHooks({
    load(url, context, nextLoad) {
        if (url.endsWith(".json") && url.includes("/@actions/")) return nextLoad(url, { ...context, importAttributes: { ...context.importAttributes, type: "json" } });
        return nextLoad(url, context);
    },
});
const { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } = await import("@actions/workflow-parser");

/** `ErrorPolicy.TryConversion` (model/convert.js): convert despite parse errors, so both kinds are reported. */
const tryConversion = 1;

const [root, ...files] = process.argv.slice(2);
const fileProvider = {
    async getFileContent(reference) {
        if (!("path" in reference) || "repository" in reference) throw new Error(`only local reusable workflows are read here, not ${JSON.stringify(reference)}`);
        const name = reference.path.replace(/^\.\//, "");
        return { name, content: await readFile(path.join(root, name), "utf8") };
    },
};

const report = {};
for (const file of files) {
    const content = await readFile(path.join(root, file), "utf8");
    const parsed = parseWorkflow({ name: file, content }, new NoOperationTraceWriter());
    if (parsed.value) {
        await convertWorkflowTemplate(parsed.context, parsed.value, fileProvider, { errorPolicy: tryConversion, fetchReusableWorkflowDepth: 1 });
    }
    report[file] = parsed.context.errors.getErrors().map((error) => error.message);
}
process.stdout.write(`${JSON.stringify(report)}\n`);
