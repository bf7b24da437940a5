/**
 * tollgate as a program that installs it sees it: `npm pack` of this
 * repository, the tarball installed by npm into a new Pulumi TypeScript
 * program outside the repository (its own package.json, its dependencies
 * resolved by npm), whose code passes another resource's output as a route's
 * upstream. The program runs under the runtime mocks with the installed
 * package's own harness, on its own single copy of @pulumi/pulumi; the
 * installed `tollgate` command answers, and the installed package, started
 * as the Pulumi CLI starts a plugin, answers GetSchema, and Construct as the
 * engine calls it for a program in another language (Python, Go, .NET).
 */
import * as assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { fakeCall, fakeState } from "../policies/offline/fakes";
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

/** The installed package's own @pulumi/pulumi, its gRPC library and the messages both sides of the plugin protocol speak. */
function pluginProtocol(pluginDir: string) {
    const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [pluginDir] }));
    const from = (module: string) => require(require.resolve(module, { paths: [pulumiDir] }));
    const proto = (file: string) => require(path.join(pulumiDir, "proto", file));
    return {
        grpc: from("@grpc/grpc-js") as typeof import("@grpc/grpc-js"),
        struct: from("google-protobuf/google/protobuf/struct_pb.js").Struct,
        empty: from("google-protobuf/google/protobuf/empty_pb.js").Empty,
        provider: { services: proto("provider_grpc_pb.js"), messages: proto("provider_pb.js") },
        resource: { services: proto("resource_grpc_pb.js"), messages: proto("resource_pb.js") },
        engine: { services: proto("engine_grpc_pb.js"), messages: proto("engine_pb.js") },
    };
}

interface Plugin {
    /** A client of the plugin's ResourceProvider service. */
    client: any;
    stderr(): string;
    stop(): void;
}

/** Starts the installed package the way the Pulumi CLI starts a Node.js plugin (`run-plugin <dir> <engine address>`), and connects to it. */
async function startPlugin(pluginDir: string, engineAddress: string): Promise<Plugin> {
    const runPlugin = require.resolve("@pulumi/pulumi/cmd/run-plugin", { paths: [pluginDir] });
    const plugin: ChildProcess = spawn(process.execPath, [runPlugin, pluginDir, engineAddress], { cwd: pluginDir, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    plugin.stderr!.on("data", (chunk) => (stderr += chunk));
    try {
        const port = await new Promise<number>((resolve, reject) => {
            let stdout = "";
            plugin.stdout!.on("data", (chunk) => {
                stdout += chunk;
                const line = /^(\d+)\s*$/m.exec(stdout);
                if (line) resolve(Number(line[1]));
            });
            plugin.on("exit", (code) => reject(new Error(`the plugin exited ${code} before it printed its port:\n${stderr}`)));
        });
        const { grpc, provider } = pluginProtocol(pluginDir);
        const client = new provider.services.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": 64 * 1024 * 1024 });
        return {
            client,
            stderr: () => stderr,
            stop: () => {
                client.close();
                plugin.kill();
            },
        };
    } catch (error) {
        plugin.kill();
        throw error;
    }
}

/** Asks the plugin for its schema over gRPC, as `pulumi package add` does. */
async function schemaFromPlugin(pluginDir: string): Promise<string> {
    const { provider } = pluginProtocol(pluginDir);
    const plugin = await startPlugin(pluginDir, "127.0.0.1:1");
    try {
        return await new Promise<string>((resolve, reject) =>
            plugin.client.getSchema(new provider.messages.GetSchemaRequest(), (error: Error | null, response: { getSchema(): string }) => (error ? reject(error) : resolve(response.getSchema()))),
        );
    } finally {
        plugin.stop();
    }
}

/** A resource the engine stand-in was asked to register, its inputs as they came over the wire. */
interface WireResource {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    parent?: string;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    inputs: Record<string, any>;
}

interface Engine {
    address: string;
    resources: WireResource[];
    close(): void;
}

/**
 * What the Pulumi engine is to a provider while it runs Construct: the Engine
 * service (logging, the root resource) and the resource monitor the provider
 * registers the component's resources with, over gRPC. Every resource is
 * answered as `pulumi up` would after creating it, with the fake outputs the
 * offline harness gives (an id, an ARN, the API's endpoint).
 */
async function startEngine(pluginDir: string, stack: string, project: string): Promise<Engine> {
    const { grpc, struct, empty, resource, engine } = pluginProtocol(pluginDir);
    const resources: WireResource[] = [];
    const plain = (value: unknown) => JSON.parse(JSON.stringify(value ?? {}));
    const server = new grpc.Server();
    server.addService(engine.services.EngineService, {
        log: (_call: unknown, callback: (error: null, response: unknown) => void) => callback(null, new empty()),
        getRootResource: (_call: unknown, callback: (error: null, response: unknown) => void) => callback(null, new engine.messages.GetRootResourceResponse()),
        setRootResource: (_call: unknown, callback: (error: null, response: unknown) => void) => callback(null, new engine.messages.SetRootResourceResponse()),
    });
    server.addService(resource.services.ResourceMonitorService, {
        supportsFeature: ({ request }: any, callback: (error: null, response: unknown) => void) => {
            // As the SDK's own mock monitor: output values would reach the registrations as Outputs, which the fake outputs do not take.
            const response = new resource.messages.SupportsFeatureResponse();
            response.setHassupport(request.getId() !== "outputValues");
            callback(null, response);
        },
        invoke: ({ request }: any, callback: (error: null, response: unknown) => void) => {
            const response = new resource.messages.ResourceInvokeResponse();
            response.setReturn(struct.fromJavaScript(plain(fakeCall(request.getTok(), request.getArgs()?.toJavaScript() ?? {}))));
            callback(null, response);
        },
        registerResource: ({ request }: any, callback: (error: null, response: unknown) => void) => {
            const type: string = request.getType();
            const name: string = request.getName();
            const parent: string = request.getParent();
            const qualifiedType = parent ? `${parent.split("::")[2]}$${type}` : type;
            const urn = `urn:pulumi:${stack}::${project}::${qualifiedType}::${name}`;
            const inputs = request.getObject()?.toJavaScript() ?? {};
            const propertyDependencies: Record<string, string[]> = {};
            request.getPropertydependenciesMap().forEach((deps: any, property: string) => (propertyDependencies[property] = deps.getUrnsList()));
            resources.push({ urn, type, name, custom: request.getCustom(), parent: parent || undefined, dependencies: request.getDependenciesList(), propertyDependencies, inputs });
            const response = new resource.messages.RegisterResourceResponse();
            response.setUrn(urn);
            if (request.getCustom()) response.setId(`${name}-id`);
            response.setObject(struct.fromJavaScript(request.getCustom() ? plain(fakeState(type, name, inputs)) : {}));
            callback(null, response);
        },
        registerResourceOutputs: (_call: unknown, callback: (error: null, response: unknown) => void) => callback(null, new empty()),
        registerPackage: (_call: unknown, callback: (error: null, response: unknown) => void) => {
            const response = new resource.messages.RegisterPackageResponse();
            response.setRef(`package-${resources.length}`);
            callback(null, response);
        },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
    return { address: `127.0.0.1:${port}`, resources, close: () => server.forceShutdown() };
}

/** The answer to one Construct of `tollgate:index:Tollgate`, as a program in another language would send it through the engine. */
async function constructThroughPlugin(pluginDir: string, inputs: Record<string, unknown>): Promise<{ urn?: string; state?: Record<string, any>; error?: Error; resources: WireResource[] }> {
    const { struct, provider } = pluginProtocol(pluginDir);
    const engine = await startEngine(pluginDir, "dev", "shop-edge");
    const plugin = await startPlugin(pluginDir, engine.address);
    try {
        const request = new provider.messages.ConstructRequest();
        request.setProject("shop-edge");
        request.setStack("dev");
        request.setDryrun(false);
        request.setParallel(4);
        request.setMonitorendpoint(engine.address);
        request.setType("tollgate:index:Tollgate");
        request.setName("edge");
        request.getConfigMap().set("aws:region", "eu-west-1");
        request.setInputs(struct.fromJavaScript(inputs));
        return await new Promise((resolve) =>
            plugin.client.construct(request, (error: Error | null, response: any) =>
                resolve(error ? { error, resources: engine.resources } : { urn: response.getUrn(), state: response.getState()?.toJavaScript(), resources: engine.resources }),
            ),
        );
    } finally {
        plugin.stop();
        engine.close();
    }
}

/** An output value as the engine sends one that another resource's output resolved to (the SDK's `specialOutputValueSig`). */
function outputValue(value: string, dependencies: string[]) {
    return { "4dabf18193072939515e22adb298388d": "d0e6a833031e9bbcd3f4e8bde6ca49a4", value, dependencies };
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
        const pets = good.resources.find((resource) => resource.type === "random:index/randomPet:RandomPet")!;
        assert.ok(fn[0].dependencies.includes(pets.urn), "the function depends on the resource its upstream came from");
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

    describe("constructed through its plugin, as the engine does for a Python, Go or .NET program", () => {
        const petsService = "urn:pulumi:dev::shop-edge::random:index/randomPet:RandomPet::pets-service";
        const route = (pathPrefix: string) => ({ name: "pets", pathPrefix, upstream: outputValue("https://warm-otter.pets.example.com", [petsService]), auth: "none" });
        let constructed: Awaited<ReturnType<typeof constructThroughPlugin>>;

        before(async () => {
            constructed = await constructThroughPlugin(path.join(installed.dir, "node_modules", "tollgate"), { prefix: "shop", routes: [route("/pets")], logRetentionDays: 14 });
        });

        it("answers with the component's URN and the outputs its schema names", () => {
            assert.equal(constructed.error, undefined, String(constructed.error));
            assert.equal(constructed.urn, "urn:pulumi:dev::shop-edge::tollgate:index:Tollgate::edge");
            const fn = constructed.resources.find((resource) => resource.type === "aws:lambda/function:Function")!;
            assert.equal(constructed.state!.functionName, fn.inputs.name);
            assert.match(constructed.state!.url, /^https:\/\/.+\.execute-api\.eu-west-1\.amazonaws\.com$/);
            assert.ok(Object.values(constructed.state!.tableNames as Record<string, string>).includes("shop-rate-limits"), JSON.stringify(constructed.state!.tableNames));
        });

        it("registers the tables, the API and the function under the component, with the args as sent (a number stays a number)", () => {
            const component = constructed.urn!;
            const byType = (type: string) => constructed.resources.filter((resource) => resource.type === type);
            const ancestors = (resource: WireResource): string[] => {
                const parent = constructed.resources.find((candidate) => candidate.urn === resource.parent);
                return resource.parent ? [resource.parent, ...(parent ? ancestors(parent) : [])] : [];
            };
            for (const type of ["aws:dynamodb/table:Table", "aws:apigatewayv2/api:Api", "aws:lambda/function:Function"]) {
                assert.ok(byType(type).length > 0, `a ${type}`);
                for (const resource of byType(type)) assert.ok(ancestors(resource).includes(component), `${resource.name} is under the Tollgate`);
            }
            assert.ok(byType("aws:cloudwatch/logGroup:LogGroup").every((group) => group.inputs.retentionInDays === 14));
        });

        it("captures the route's upstream, an output of another resource, into the Lambda, and depends on that resource", () => {
            const fn = constructed.resources.find((resource) => resource.type === "aws:lambda/function:Function")!;
            const archive = JSON.stringify(fn.inputs.code);
            assert.ok(archive.includes("https://warm-otter.pets.example.com"), "the Lambda's code holds the upstream");
            const dependsOnPets = constructed.resources.filter((resource) => [...resource.dependencies, ...Object.values(resource.propertyDependencies).flat()].includes(petsService));
            assert.ok(dependsOnPets.some((resource) => resource.type === "aws:lambda/function:Function"), `the function depends on the pets service; resources that do: ${dependsOnPets.map((resource) => resource.name).join(", ")}`);
        });

        it("refuses a bad arg, naming its path, before registering anything of the Tollgate but the component", async () => {
            const refused = await constructThroughPlugin(path.join(installed.dir, "node_modules", "tollgate"), { prefix: "shop", routes: [route("pets")] });
            assert.ok(refused.error, "Construct failed");
            assert.match(refused.error.message, /routes\[0\]\.pathPrefix: must start with '\/'/);
            assert.deepEqual(refused.resources.filter((resource) => resource.type.startsWith("aws:")).map((resource) => resource.name), []);
        });
    });
});
