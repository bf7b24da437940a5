/**
 * `npm run build` (and `prepare`, so `npm ci` and `npm pack` run it): compiles
 * the package into `dist/` as programs that install tollgate load it, with
 * type declarations, and writes beside it the directory Pulumi's schema
 * inference reads the component from (components/schema.ts).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { packageDir, writeAnalysisRoot } from "../components/schema";

const root = packageDir();
const dist = path.join(root, "dist");
fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json")], { cwd: root, stdio: "inherit" });
writeAnalysisRoot(dist, root);
fs.chmodSync(path.join(dist, "cli", "tollgate.js"), 0o755);
