/**
 * tollgate as a program that installs it sees it: `npm pack` of this
 * repository, the tarball installed by npm into a new Pulumi TypeScript
 * program outside the repository (its own package.json, its dependencies
 * resolved by npm), whose code passes another resource's output as a route's
 * upstream. The program runs under the runtime mocks with the installed
 * package's own harness, on its own single copy of @pulumi/pulumi; the
 * installed `tollgate` command answers, and the installed package, started
 * as the Pulumi CLI starts a plugin, answers GetSchema.
 */
import * as assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { ProgramRun, RegisteredResource } from "../policies/offline/harness";
import { projectDir } from "../specs/stackFile";

const run = promisify(execFile);
const manifest = JSON.parse(fs.readFileSync(path.join(projectDir, "package.json"), "utf8"));

/** The consumer's program: a RandomPet stands in for the service whose address the route takes. */
const programSource = `import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Tollgate } from "tollgate";

const config = new pulumi.Config();
const pets = new random.RandomPet("pets-service", { length: 2 });
const scheme = config.get("petsScheme") ?? "https";

export const gateway = new Tollgate("edge", {
    prefix: "shop",
    routes: [
        {
            name: "pets",
            pathPrefix: config.get("petsPrefix") ?? "/pets",
            upstream: pulumi.interpolate\`\${scheme}://\${pets.id}.pets.example.com\`,
            auth: "none",
        },
    ],
});
export const url = gateway.url;
export const tableNames = gateway.tableNames;
`;

interface Installed {
    dir: string;
    tarball: string;
    packed: { files: { path: string }[] };
}

async function packAndInstall(): Promise<Installed> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tollgate-consumer-"));
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: projectDir, maxBuffer: 64 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf("[")));
    const tarball = path.join(dir, packed.filename);
    const program = path.join(dir, "program");
    fs.mkdirSync(program);
    const write = (file: string, text: string) => fs.writeFileSync(path.join(program, file), text);
    write(
        "package.json",
        JSON.stringify(
            {
                name: "shop-edge",
                private: true,
                main: "index.ts",
                dependencies: {
                    tollgate: `file:${tarball}`,
                    "@pulumi/pulumi": manifest.devDependencies["@pulumi/pulumi"],
                    "@pulumi/aws": manifest.devDependencies["@pulumi/aws"],
                    "@pulumi/random": manifest.dependencies["@pulumi/random"],
                },
                devDependencies: { "@types/node": manifest.devDependencies["@types/node"], typescript: manifest.devDependencies.typescript },
            },
            null,
            2,
        ),
    );
    write("Pulumi.yaml", "name: shop-edge\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
    write("Pulumi.dev.yaml", "config:\n  aws:region: eu-west-1\n");
    write("tsconfig.json", JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "commonjs", moduleResolution: "node", esModuleInterop: true, skipLibCheck: true }, files: ["index.ts"] }));
    write("index.ts", programSource);
    await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: program, maxBuffer: 64 * 1024 * 1024 });
    return { dir: program, tarball, packed };
}

/** Every installed copy of a package under a program's node_modules, by its package.json. */
function installedCopies(dir: string, name: string): string[] {
    const found: string[] = [];
    const walk = (modules: string) => {
        if (!fs.existsSync(modules)) return;
        for (const entry of fs.readdirSync(modules, { withFileTypes: true })) {
            if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
            const scoped = entry.name.startsWith("@");
            const packages = scoped ? fs.readdirSync(path.join(modules, entry.name)).map((inner) => path.join(modules, entry.name, inner)) : [path.join(modules, entry.name)];
            for (const packageDir of packages) {
                const file = path.join(packageDir, "package.json");
                if (fs.existsSync(file) && JSON.parse(fs.readFileSync(file, "utf8")).name === name) found.push(packageDir);
                walk(path.join(packageDir, "node_modules"));
            }
        }
    };
    walk(path.join(dir, "node_modules"));
    return found;
}

/** The program evaluated under mocks by the installed package's harness, with its own @pulumi/pulumi. */
async function runProgram(program: string, config: Record<string, string> = {}): Promise<ProgramRun> {
    const harness: typeof import("../policies/offline/harness") = require(path.join(program, "node_modules", "tollgate", "dist", "policies", "offline", "harness.js"));
    return harness.runProgramIsolated({ program: path.join(program, "index.ts"), project: "shop-edge", stack: "dev", config: { "aws:region": "eu-west-1", ...config }, timeoutMs: 180_000 });
}

/** The Lambda archive's `__index.js`, as the program's CallbackFunction serialized it. */
function indexJs(resource: RegisteredResource): string {
    const entry = resource.inputs.code?.assets?.["__index.js"];
    assert.equal(entry?.__asset, "string", "__index.js is inline text in the archive");
    return entry.text;
}

/** Starts the installed package the way the Pulumi CLI starts a Node.js plugin, and asks it for its schema over gRPC. */
async function schemaFromPlugin(pluginDir: string): Promise<string> {
    const runPlugin = require.resolve("@pulumi/pulumi/cmd/run-plugin", { paths: [pluginDir] });
    const plugin: ChildProcess = spawn(process.execPath, [runPlugin, pluginDir, "127.0.0.1:1"], { cwd: pluginDir, stdio: ["ignore", "pipe", "pipe"] });
    try {
        let stderr = "";
        plugin.stderr!.on("data", (chunk) => (stderr += chunk));
        const port = await new Promise<number>((resolve, reject) => {
            let stdout = "";
            plugin.stdout!.on("data", (chunk) => {
                stdout += chunk;
                const line = /^(\d+)\s*$/m.exec(stdout);
                if (line) resolve(Number(line[1]));
            });
            plugin.on("exit", (code) => reject(new Error(`the plugin exited ${code} before it printed its port:\n${stderr}`)));
        });
        const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [pluginDir] }));
        const grpc: typeof import("@grpc/grpc-js") = require(require.resolve("@grpc/grpc-js", { paths: [pulumiDir] }));
        const services = require(path.join(pulumiDir, "proto", "provider_grpc_pb.js"));
        const messages = require(path.join(pulumiDir, "proto", "provider_pb.js"));
        const client = new services.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        try {
            return await new Promise<string>((resolve, reject) =>
                client.getSchema(new messages.GetSchemaRequest(), (error: Error | null, response: { getSchema(): string }) => (error ? reject(error) : resolve(response.getSchema()))),
            );
        } finally {
            client.close();
        }
    } finally {
        plugin.kill();
    }
}

describe("tollgate installed from its packed tarball into a Pulumi program of its own", function () {
    this.timeout(900_000);
    let installed: Installed;
    let good: ProgramRun;

    before(async () => {
        installed = await packAndInstall();
        good = await runProgram(installed.dir);
    });

    after(() => {
        if (installed) fs.rmSync(path.dirname(installed.dir), { recursive: true, force: true });
    });

    it("packs compiled JavaScript with type declarations, the sources the schema is read from, and nothing of tests, bench or local data", () => {
        const files = installed.packed.files.map((file) => file.path);
        for (const expected of ["package.json", "PulumiPlugin.yaml", "dist/components/index.js", "dist/components/index.d.ts", "dist/components/plugin.js", "dist/cli/tollgate.js", "dist/package.json", "dist/tsconfig.json", "components/tollgate.ts", "specs/args.ts"]) {
            assert.ok(files.includes(expected), `${expected} is in the tarball`);
        }
        const stray = files.filter((file) => /^(test|bench|\.tollgate|\.ci|\.github|data)\//.test(file) || /^(index\.ts|Pulumi\.[^/]*\.yaml|tsconfig\.json)$/.test(file) || file.includes("node_modules/"));
        assert.deepEqual(stray, []);
    });

    it("installs one copy of @pulumi/pulumi in the program: the one it and tollgate share", () => {
        const copies = installedCopies(installed.dir, "@pulumi/pulumi").map((dir) => path.relative(installed.dir, dir));
        assert.deepEqual(copies, ["node_modules/@pulumi/pulumi"]);
    });

    it("gives the program's TypeScript the types of the package root", async () => {
        await run(path.join(installed.dir, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", "."], { cwd: installed.dir });
    });

    it("captures the route's upstream into the Lambda as the URL the other resource's output resolved to", () => {
        assert.equal(good.error, undefined, good.error);
        const fn = good.resources.filter((resource) => resource.type === "aws:lambda/function:Function");
        assert.equal(fn.length, 1);
        assert.match(indexJs(fn[0]), /upstream = "https:\/\/pets-service-id\.pets\.example\.com"/);
        assert.doesNotMatch(indexJs(fn[0]), /deferred-\d+\.tollgate\.invalid/, "no stand-in reaches the function");
    });

    it("creates the tables, the API and the function as the Tollgate's descendants", () => {
        const byUrn = new Map(good.resources.map((resource) => [resource.urn, resource]));
        const [tollgate] = good.resources.filter((resource) => resource.type === "tollgate:index:Tollgate");
        assert.equal(tollgate.name, "edge");
        const ancestors = (resource: RegisteredResource): string[] => (resource.parent ? [resource.parent, ...ancestors(byUrn.get(resource.parent)!)] : []);
        for (const type of ["aws:dynamodb/table:Table", "aws:apigatewayv2/api:Api", "aws:lambda/function:Function"]) {
            const resources = good.resources.filter((resource) => resource.type === type);
            assert.ok(resources.length > 0, type);
            for (const resource of resources) assert.ok(ancestors(resource).includes(tollgate.urn), `${type} ${resource.name} is under the Tollgate`);
        }
        assert.deepEqual(good.outputs.tableNames, { "rate-limits": "shop-rate-limits", sessions: "shop-sessions" });
    });

    it("stops on a bad plain arg before creating anything of the Tollgate, naming the arg's path", async () => {
        const bad = await runProgram(installed.dir, { "shop-edge:petsPrefix": "pets" });
        assert.match(bad.error ?? "", /Tollgate 'edge': invalid Tollgate args:\n {2}- routes\[0\]\.pathPrefix: must start with '\/'/);
        assert.deepEqual(bad.resources.filter((resource) => resource.type.startsWith("aws:")), []);
    });

    it("fails on a bad arg from another resource once it resolves, naming the arg's path", async () => {
        const bad = await runProgram(installed.dir, { "shop-edge:petsScheme": "ftp" });
        assert.match(bad.error ?? "", /Tollgate 'edge': invalid Tollgate args:\n {2}- routes\[0\]\.upstream: must be an http\(s\) URL without query or fragment/);
    });

    it("serves the program's Tollgate with npx tollgate start --program, the route to another resource's output answered by an echo server", async () => {
        const gateway = spawn("npx", ["--no-install", "tollgate", "start", "--program", ".", "--port", "0", "--memory"], {
            cwd: installed.dir,
            env: { ...process.env, DYNAMODB_PORT: "0" },
            stdio: ["ignore", "pipe", "pipe"],
            detached: true,
        });
        let output = "";
        gateway.stdout!.on("data", (chunk) => (output += chunk));
        gateway.stderr!.on("data", (chunk) => (output += chunk));
        try {
            const url = await new Promise<string>((resolve, reject) => {
                const timer = setTimeout(() => reject(new Error(`tollgate start did not become ready:\n${output}`)), 120_000);
                gateway.stdout!.on("data", () => {
                    const ready = /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
                    if (ready) {
                        clearTimeout(timer);
                        resolve(ready[1]);
                    }
                });
                gateway.on("exit", (code) => reject(new Error(`tollgate start exited ${code}:\n${output}`)));
            });
            assert.match(output, /pets\s+\/pets\s+none\s.*echo http:\/\/127\.0\.0\.1:\d+/, "the route's upstream resolves only at deploy: an echo server stands in");
            const answer = await fetch(`${url}/pets/rex?kind=dog`);
            assert.equal(answer.status, 200);
            const echoed = (await answer.json()) as { upstream: string; path: string };
            assert.deepEqual([echoed.upstream, echoed.path], ["pets", "/rex"]);
        } finally {
            process.kill(-gateway.pid!, "SIGINT");
            await new Promise((resolve) => gateway.once("exit", resolve));
        }
    });

    it("checks the program's resources against the policy pack with npx tollgate policy --program", async () => {
        const { stdout } = await run("npx", ["--no-install", "tollgate", "policy", "--stack", "dev", "--program", "."], { cwd: installed.dir, maxBuffer: 16 * 1024 * 1024 });
        assert.match(stdout, /^tollgate policy check: program index\.ts, stack dev, pack config \(pack defaults\)$/m);
        assert.match(stdout, /^PASS stack dev: 0 mandatory, \d+ advisory violations?; \d+ policies over \d+ resources/m);
    });

    it("lists its commands with npx tollgate --help", async () => {
        const { stdout } = await run("npx", ["--no-install", "tollgate", "--help"], { cwd: installed.dir });
        for (const command of ["start", "sessions", "data", "policy", "schema"]) assert.match(stdout, new RegExp(`^  ${command} `, "m"));
    });

    it("prints with npx tollgate schema the schema its provider answers when started as a Pulumi plugin", async () => {
        const pluginDir = path.join(installed.dir, "node_modules", "tollgate");
        const [answered, printed] = await Promise.all([schemaFromPlugin(pluginDir), run("npx", ["--no-install", "tollgate", "schema"], { cwd: installed.dir, maxBuffer: 16 * 1024 * 1024 })]);
        const schema = JSON.parse(answered);
        assert.deepEqual(JSON.parse(printed.stdout), schema);
        assert.equal(schema.name, "tollgate");
        assert.equal(schema.version, manifest.version);
        const component = schema.resources["tollgate:index:Tollgate"];
        assert.equal(component.isComponent, true);
        assert.deepEqual(component.inputProperties.routes.items, { $ref: "#/types/tollgate:index:Route", plain: true });
        const route = schema.types["tollgate:index:Route"];
        assert.equal(route.properties.upstream.type, "string");
        assert.equal(route.properties.upstream.plain, undefined, "a route's upstream is an input a program may feed from another resource");
        assert.deepEqual(route.required.sort(), ["name", "pathPrefix", "upstream"]);
        assert.deepEqual(
            schema.types["tollgate:index:RouteAuth"].enum.map((member: { value: string }) => member.value),
            ["none", "session", "jwt", "any"],
        );
        for (const input of ["alarmEmail", "jwtSecret", "secretsKmsKeyArn"]) assert.equal(component.inputProperties[input].plain, undefined, `${input} is an input`);
        assert.equal(component.inputProperties.transform, undefined, "a function cannot cross the schema");
        assert.deepEqual(Object.keys(component.properties).sort(), ["backupVaultName", "dashboardName", "domainUrl", "functionName", "issuer", "jwksUrl", "logGroupNames", "tableNames", "url"]);
    });
});
