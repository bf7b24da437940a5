/**
 * Config at the program's edge: a wrong value stops index.ts with a message
 * naming the key, before any resource exists; Pulumi.yaml declares the same
 * keys, types and defaults as the schema the program validates with; and
 * docs/configuration.md documents every key and field of it.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { ConfigError, configKeys, configSchema, parsePulumiConfigValues, resolveSettings, stringKeys, tableSpecSchema } from "../specs/config";
import { loadStackConfig, projectDir } from "../specs/stackFile";
import { devConfigWith, runEachWithConfig, type StackRun } from "./support/program";

const appTable = (spec: Record<string, unknown>) => [{ name: "catalogue", hashKey: { name: "id", type: "S" }, ...spec }];

/** A route with the fields a test does not care about filled in. */
const route = (fields: Record<string, unknown>) => ({ name: "login", pathPrefix: "/login", upstream: "https://login.example.com", auth: "none", ...fields });

/** The problems of the ConfigError a call must throw. */
function configProblems(call: () => unknown): string[] {
    try {
        call();
    } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error.problems;
    }
    assert.fail("expected a ConfigError");
}

const badConfigs: { title: string; config: Record<string, string>; names: string }[] = [
    { title: "a number key given a word", config: devConfigWith({ "tollgate:logRetentionDays": "seven" }), names: "tollgate:logRetentionDays: must be a whole number, got 'seven'" },
    { title: "a nested field of the wrong type", config: devConfigWith({ "tollgate:lambda": { memoryMb: "big" } }), names: "tollgate:lambda.memoryMb: must be a number, got 'big'" },
    { title: "a key the schema does not know", config: devConfigWith({ "tollgate:colour": "blue" }), names: "tollgate:colour: unknown key" },
    { title: "a value outside an enum", config: devConfigWith({ "tollgate:rateLimitFailureMode": "sideways" }), names: "tollgate:rateLimitFailureMode: must be one of open, closed, got 'sideways'" },
    {
        title: "a table key of unknown type",
        config: devConfigWith({ "tollgate:appTables": [{ name: "catalogue", hashKey: { name: "id", type: "X" } }] }),
        names: "tollgate:appTables[catalogue].hashKey.type: must be one of S, N, B, got 'X'",
    },
    {
        title: "a GSI on an attribute the table does not declare",
        config: devConfigWith({ "tollgate:appTables": appTable({ globalSecondaryIndexes: [{ name: "ByCategory", hashKey: { name: "category" } }] }) }),
        names: "tollgate:appTables[catalogue].globalSecondaryIndexes[0].hashKey: attribute 'category' is not declared",
    },
    {
        title: "a billing mode other than PAY_PER_REQUEST or PROVISIONED",
        config: devConfigWith({ "tollgate:appTables": appTable({ billingMode: "ON_DEMAND" }) }),
        names: "tollgate:appTables[catalogue].billingMode: must be one of PAY_PER_REQUEST, PROVISIONED, got 'ON_DEMAND'",
    },
    {
        title: "routes that take JWTs without an issuer to expect",
        config: devConfigWith({ "tollgate:jwt": { audience: "tollgate-dev" } }),
        names: "tollgate:jwt.issuer: required because routes 'orders', 'admin' accept JWTs",
    },
    {
        title: "routes that take JWTs without an audience to expect",
        config: devConfigWith({ "tollgate:jwt": { issuer: "https://auth.dev.example.com" } }),
        names: "tollgate:jwt.audience: required because routes 'orders', 'admin' accept JWTs",
    },
    {
        title: "routes sharing a bucket with different limits",
        config: devConfigWith({
            "tollgate:routes": [
                { name: "signup", pathPrefix: "/signup", upstream: "https://accounts.example.com", auth: "none", rateLimit: { by: "ip", limit: 3, windowSeconds: 60, bucket: "forms" } },
                { name: "reset", pathPrefix: "/reset", upstream: "https://accounts.example.com", auth: "none", rateLimit: { by: "ip", limit: 5, windowSeconds: 60, bucket: "forms" } },
            ],
        }),
        names: "tollgate:routes[reset].rateLimit.limit: 5 differs from route 'signup', which shares bucket 'forms' with 3",
    },
    {
        title: "a table class other than STANDARD or STANDARD_INFREQUENT_ACCESS",
        config: devConfigWith({ "tollgate:appTables": appTable({ tableClass: "GLACIER" }) }),
        names: "tollgate:appTables[catalogue].tableClass: must be one of STANDARD, STANDARD_INFREQUENT_ACCESS, got 'GLACIER'",
    },
    {
        title: "a loopback upstream, which a deployed Lambda cannot reach",
        config: devConfigWith({ "tollgate:routes": [{ name: "api", pathPrefix: "/api", upstream: "http://127.0.0.1:8090/api", auth: "none" }] }),
        names: "tollgate:routes[api].upstream: 'http://127.0.0.1:8090/api' is on this machine, which a deployed Lambda cannot reach",
    },
];

describe("the program with bad config", function () {
    const manyProblems = devConfigWith({ "tollgate:logLevel": "LOUD", "tollgate:throttle": { burstLimit: -1, rateLimit: 10 } });
    let runs: StackRun[];

    before(async function () {
        this.timeout(300_000);
        runs = await runEachWithConfig("dev", [...badConfigs.map((bad) => bad.config), manyProblems]);
    });

    badConfigs.forEach((bad, i) => {
        it(`stops on ${bad.title}, naming the key, with no resource created`, () => {
            const run = runs[i];
            assert.ok(run.error, "the program should have failed");
            assert.ok(run.error.includes(bad.names), `the error does not name the key as '${bad.names}':\n${run.error}`);
            assert.deepEqual(
                run.created.map((r) => `${r.type} ${r.name}`),
                [],
                "nothing but the stack may be registered before config is valid",
            );
        });
    });

    it("reports every problem at once, each with its key", () => {
        const run = runs[badConfigs.length];
        assert.match(run.error ?? "", /tollgate:logLevel: must be one of DEBUG, INFO, WARN, ERROR, got 'LOUD'/);
        assert.match(run.error ?? "", /tollgate:throttle\.burstLimit: /);
        assert.deepEqual(run.created, []);
    });
});

describe("config errors that say how to fix them", () => {
    const problemsOf = (raw: Record<string, unknown>, context: Parameters<typeof resolveSettings>[1] = {}) => configProblems(() => resolveSettings(raw, context));

    it("says 'required' for a missing key", () => {
        assert.deepEqual(problemsOf({ routes: [{ pathPrefix: "/login", upstream: "https://login.example.com" }] }), ["tollgate:routes[0].name: required"]);
    });

    it("says what a value must be and what it got, in words rather than schema types", () => {
        assert.deepEqual(problemsOf({ routes: [route({ rateLimit: { limit: 2.5, windowSeconds: 60 } })], lambda: { memoryMb: 20_000 } }), [
            "tollgate:lambda.memoryMb: must be at most 10240, got 20000",
            "tollgate:routes[login].rateLimit.limit: must be a whole number, got 2.5",
        ]);
    });

    it("suggests the closest known key for an unknown one, at any depth", () => {
        assert.deepEqual(problemsOf({ routes: [route({ ratelimit: { limit: 5, windowSeconds: 60 } })], loglevel: "INFO" }).sort(), [
            "tollgate:loglevel: unknown key; did you mean 'logLevel'?",
            "tollgate:routes[login].ratelimit: unknown key; did you mean 'rateLimit'?",
        ]);
    });

    it("lists the known keys when nothing is close", () => {
        assert.deepEqual(problemsOf({ vpc: { cidrBlock: "10.1.0.0/16" } }), ["tollgate:vpc.cidrBlock: unknown key (known here: enabled, natGateways, subnetIds, securityGroupIds)"]);
    });

    it("points a dotted key set without --path at pulumi config set --path", () => {
        assert.deepEqual(problemsOf({ "lambda.memoryMb": "1024" }), [
            "tollgate:lambda.memoryMb: unknown key; to set the field 'memoryMb' of tollgate:lambda, use pulumi config set --path 'tollgate:lambda.memoryMb' VALUE",
        ]);
    });

    it("suggests the right spelling of an enum value", () => {
        assert.deepEqual(problemsOf({ routes: [route({ auth: "Session" })] }), ["tollgate:routes[login].auth: must be one of none, session, jwt, any, got 'Session' (did you mean 'session'?)"]);
    });

    it("names routes and tables by their name, and by index only when the name is missing or shared", () => {
        const problems = problemsOf({
            routes: [route({ permissions: ["admin"] }), route({ name: "dup", pathPrefix: "/a" }), route({ name: "dup", pathPrefix: "/b" })],
            appTables: [{ name: "orders", hashKey: { name: "id", type: "S" }, billingMode: "PROVISIONED" }],
        });
        assert.deepEqual(problems, [
            "tollgate:appTables[orders].readCapacity: required when billingMode is PROVISIONED",
            "tollgate:appTables[orders].writeCapacity: required when billingMode is PROVISIONED",
            "tollgate:routes[login].permissions: a route with auth 'none' has no caller to hold permissions",
            "tollgate:routes[2].name: duplicate route name 'dup'",
        ]);
    });

    it("refuses a loopback upstream for a deploy, naming the route, and accepts it for npm start", () => {
        const routes = [route({ name: "api", pathPrefix: "/api", upstream: "http://localhost:8090/api" })];
        assert.match(problemsOf({ routes })[0], /^tollgate:routes\[api\]\.upstream: 'http:\/\/localhost:8090\/api' is on this machine, which a deployed Lambda cannot reach/);
        assert.equal(resolveSettings({ routes }, { purpose: "local" }).routes[0].upstream, "http://localhost:8090/api");
    });

    it("refuses routes of one bucket that differ in window, algorithm or key, naming each field, and accepts routes that agree", () => {
        // given routes sharing bucket 'forms', each differing from signup's policy in one field
        const forms = (name: string, policy: Record<string, unknown> = {}) =>
            route({ name, pathPrefix: `/${name}`, rateLimit: { by: "ip", limit: 3, windowSeconds: 60, algorithm: "fixed", bucket: "forms", ...policy } });
        // when / then
        assert.deepEqual(problemsOf({ routes: [forms("signup"), forms("reset", { windowSeconds: 120 }), forms("verify", { algorithm: "sliding" }), forms("unlock", { by: "user" })] }), [
            "tollgate:routes[reset].rateLimit.windowSeconds: 120 differs from route 'signup', which shares bucket 'forms' with 60; routes of a bucket give the same windowSeconds",
            `tollgate:routes[verify].rateLimit.algorithm: "sliding" differs from route 'signup', which shares bucket 'forms' with "fixed"; routes of a bucket give the same algorithm`,
            `tollgate:routes[unlock].rateLimit.by: "user" differs from route 'signup', which shares bucket 'forms' with "ip"; routes of a bucket give the same by`,
        ]);
        assert.deepEqual(resolveSettings({ routes: [forms("signup"), forms("reset")] }).routes.map((r) => r.rateLimit?.bucket), ["forms", "forms"]);
    });

    it("refuses a pathPrefix no request could be read as (';', a trailing '.'), and two prefixes that differ only in case, since routes are chosen on the path as servers read it", () => {
        const at = (name: string, pathPrefix: string) => route({ name, pathPrefix });
        assert.deepEqual(problemsOf({ routes: [at("params", "/auth;v=1"), at("dotted", "/files./x"), at("logout", "/auth/logout"), at("shout", "/Auth/LOGOUT")] }), [
            "tollgate:routes[params].pathPrefix: segment 'auth;v=1' holds ';', which starts path parameters that Tomcat, Jetty and Spring remove; no request could be read as it",
            "tollgate:routes[dotted].pathPrefix: segment 'files.' ends with '.', which IIS and ASP.NET remove; no request could be read as it",
            "tollgate:routes[shout].pathPrefix: '/Auth/LOGOUT' differs from '/auth/logout' only in case, and routes are chosen case-insensitively, as the server stacks behind them read paths",
        ]);
        assert.deepEqual(resolveSettings({ routes: [at("v1", "/api/v1.2"), at("upper", "/Reports")] }).routes.map((r) => r.pathPrefix), ["/api/v1.2", "/Reports"]);
    });

    it("gives the whole YAML error of a stack file, with its line and column", () => {
        const file = path.join(fs.mkdtempSync(path.join(require("node:os").tmpdir(), "tollgate-yaml-")), "Pulumi.broken.yaml");
        fs.writeFileSync(file, "config:\n  tollgate:routes:\n    - name: x\n     pathPrefix: /x\n");
        const error = (() => {
            try {
                loadStackConfig("broken", { file });
            } catch (thrown) {
                return thrown as Error;
            }
            assert.fail("expected a ConfigError");
        })();
        assert.ok(error instanceof ConfigError);
        assert.match(error.problems[0], /Pulumi\.broken\.yaml:4:1: is not valid YAML: .* at line 4, column 1:/);
        assert.match(error.problems[0], /pathPrefix: \/x/, "the offending lines are shown");
    });
});

describe("config values as the Pulumi CLI passes them", () => {
    const problemsOf = (values: Record<string, string>) => configProblems(() => parsePulumiConfigValues(values));

    it("says what a key that is not JSON expects, read off the schema", () => {
        assert.deepEqual(problemsOf({ "tollgate:sessionCacheSeconds": "ten", "tollgate:routes": "products", "tollgate:vpc": "on" }), [
            "tollgate:sessionCacheSeconds: must be a whole number, got 'ten'",
            "tollgate:routes: must be a list, got 'products'",
            "tollgate:vpc: must be an object (key: value pairs), got 'on'",
        ]);
    });
    it("reads a fractional sample rate, and refuses one outside 0 to 1 naming the key", () => {
        assert.equal(resolveSettings(parsePulumiConfigValues({ "tollgate:logSampleRate": "0.1" })).logSampleRate, 0.1);
        assert.equal(resolveSettings({}).logSampleRate, 1, "every line by default");
        assert.deepEqual(problemsOf({ "tollgate:logSampleRate": "some" }), ["tollgate:logSampleRate: must be a number, got 'some'"]);
        assert.throws(() => resolveSettings({ logSampleRate: 1.5 }), (error: ConfigError) => error.problems.some((problem) => problem.startsWith("tollgate:logSampleRate: ")));
    });
});

describe("Pulumi.yaml and the config schema", () => {
    const projectFile = fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8");
    const project = parseYaml(projectFile);
    const declared: Record<string, { type: string; default: unknown }> = project.config;
    /** The structured and fractional keys, documented in the comment blocks: `#   name:  object|list|number  default`. */
    const documented = new Map(
        [...projectFile.matchAll(/^#\s+(\w+):\s+(object|list|number)\s+(.+)$/gm)].map((m) => [m[1], { type: m[2], default: m[3].trim() }]),
    );
    const defaults = resolveSettings({}) as unknown as Record<string, unknown>;

    it("declares or documents every schema key, once, and nothing else", () => {
        const inFile = [...Object.keys(declared), ...documented.keys()];
        assert.equal(new Set(inFile).size, inFile.length, "a key is both declared and documented");
        assert.deepEqual([...inFile].sort(), [...configKeys].sort());
        assert.equal(project.name, "tollgate");
        assert.deepEqual(project.runtime, { name: "nodejs", options: { typescript: true } });
    });

    it("gives each declared key the type the program parses it as, and the schema's default", () => {
        for (const [key, declaration] of Object.entries(declared)) {
            const fallback = defaults[key];
            if (declaration.type === "string") {
                assert.ok(stringKeys.has(key), `${key} is declared a string but the program parses it as JSON`);
                assert.equal(declaration.default === "" ? undefined : declaration.default, fallback, `${key}: default`);
            } else {
                assert.equal(declaration.type, "integer", `${key}: only string and integer keys are declared`);
                assert.ok(!stringKeys.has(key), `${key} is declared an integer but the program reads it as a string`);
                assert.ok(Number.isInteger(fallback), `${key}: the schema's default is not an integer`);
                assert.equal(declaration.default, fallback, `${key}: default`);
            }
        }
    });

    it("documents each structured or fractional key with its kind and the schema's default", () => {
        const unset = (value: unknown): unknown => {
            if (value === "unset") return undefined;
            if (Array.isArray(value)) return value.map(unset);
            if (value && typeof value === "object") {
                return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== "unset").map(([k, v]) => [k, unset(v)]));
            }
            return value;
        };
        for (const [key, documentation] of documented) {
            const fallback = defaults[key];
            const stated = documentation.default.startsWith("unset") ? undefined : unset(parseYaml(documentation.default));
            assert.deepEqual(stated, fallback, `${key}: Pulumi.yaml says ${documentation.default}`);
            if (fallback !== undefined) assert.equal(documentation.type, typeof fallback === "number" ? "number" : Array.isArray(fallback) ? "list" : "object", `${key}: kind`);
        }
    });
});

/**
 * The fields of a structured key: an object's own keys, or those of the
 * objects its list holds (`list` then); none for any other value.
 */
function fieldsOf(schema: z.core.$ZodType): { fields: string[]; element?: z.core.$ZodType } {
    let inner = schema;
    let element: z.core.$ZodType | undefined;
    for (;;) {
        const def = inner._zod.def as { type: string; innerType?: z.core.$ZodType; element?: z.core.$ZodType; shape?: Record<string, z.core.$ZodType> };
        if (def.innerType && ["default", "prefault", "optional", "nullable"].includes(def.type)) inner = def.innerType;
        else if (def.type === "array" && def.element) inner = element = def.element;
        else return { fields: def.type === "object" && def.shape ? Object.keys(def.shape) : [], element };
    }
}

describe("docs/configuration.md and the config schema", () => {
    const readme = fs.readFileSync(path.join(projectDir, "docs", "configuration.md"), "utf8");
    /** From a heading to the next heading of its level or above. */
    const sectionOf = (heading: string) => {
        const level = heading.indexOf(" ");
        const start = readme.search(new RegExp(`^${heading.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[ \\t]*$`, "m"));
        if (start < 0) return undefined;
        const rest = readme.slice(start + heading.length);
        const end = rest.search(new RegExp(`^#{1,${level}} `, "m"));
        return end < 0 ? rest : rest.slice(0, end);
    };
    const configuration = sectionOf("# Configuration");
    /** What the table's Key column names: `prefix`, `lambda.memoryMb`, `routes[].name`. */
    const documented = new Set(
        (configuration ?? "").split("\n").flatMap((line) => {
            const key = /^\|\s*`tollgate:([^`]+)`\s*\|/.exec(line)?.[1];
            return key ? [key] : [];
        }),
    );
    /** The table spec shape (appTables' entries) is written out once, under its own heading in the section. */
    const tableSpecs = sectionOf("## Table specs") ?? "";

    it("has a table that names tollgate:* keys", () => {
        assert.ok(configuration !== undefined, "docs/configuration.md has no '# Configuration' title");
        assert.ok(documented.size > 0, "the Configuration section has no table of `tollgate:` keys");
    });

    it("gives every key of the schema a row, itself or by its fields", () => {
        const missing = configKeys.filter((key) => ![...documented].some((entry) => entry === key || entry.startsWith(`${key}.`) || entry.startsWith(`${key}[].`)));
        assert.deepEqual(missing, [], `keys without a row in docs/configuration.md: ${missing.join(", ")}`);
    });

    it("gives every field of a structured key a row (tollgate:key.field, tollgate:key[].field), and the table spec fields their place under Table specs", () => {
        const missing = configKeys.flatMap((key) => {
            const { fields, element } = fieldsOf(configSchema.shape[key]);
            if (element === tableSpecSchema) return fields.filter((field) => !new RegExp(`\\b${field}\\b`).test(tableSpecs)).map((field) => `${key}[].${field} (under ## Table specs)`);
            const at = element ? `${key}[].` : `${key}.`;
            return fields.filter((field) => !documented.has(`${at}${field}`)).map((field) => `${at}${field}`);
        });
        assert.deepEqual(missing, [], `fields docs/configuration.md does not document: ${missing.join(", ")}`);
    });
});

describe("tollgate:sessions and a route's sessions", () => {
    const problemsOf = (raw: Record<string, unknown>) => configProblems(() => resolveSettings(raw));

    it("fills in the cookie, lifetimes and renewal a stack leaves out, and no route issues or ends sessions", () => {
        const settings = resolveSettings({ routes: [route({})] });
        assert.deepEqual(settings.sessions, { cookie: { sameSite: "Lax", path: "/" }, renewWithinSeconds: 0, defaultTtlSeconds: 86_400, maxTtlSeconds: 2_592_000, maxLifetimeSeconds: 2_592_000 });
        assert.equal(settings.routes[0].sessions, undefined);
    });

    it("reads a route's issue, returnToken and revoke, defaulting each to false", () => {
        const settings = resolveSettings({ routes: [route({ sessions: { issue: true } }), route({ name: "logout", pathPrefix: "/logout", auth: "session", sessions: { revoke: true } })] });
        assert.deepEqual(
            settings.routes.map((r) => r.sessions),
            [
                { issue: true, returnToken: false, revoke: false },
                { issue: false, returnToken: false, revoke: true },
            ],
        );
    });

    it("refuses returnToken without issue, revoke on a route without auth, and a route on the self-service path, naming each key", () => {
        assert.deepEqual(
            problemsOf({
                routes: [
                    route({ sessions: { returnToken: true } }),
                    route({ name: "logout", pathPrefix: "/logout", sessions: { revoke: true } }),
                    route({ name: "mine", pathPrefix: "/.well-known/sessions/x", auth: "session" }),
                ],
            }),
            [
                "tollgate:routes[login].sessions.returnToken: only with issue: true (it returns the token of a session the route issues)",
                "tollgate:routes[logout].sessions.revoke: ending a session needs to know whose it is; give the route auth session, jwt or any",
                "tollgate:routes[mine].pathPrefix: '/.well-known/sessions' is answered by the gateway itself (the caller's own sessions)",
            ],
        );
    });

    it("refuses cookie attributes that would inject into Set-Cookie, unknown session fields, and lifetimes out of bounds", () => {
        const problems = problemsOf({
            sessions: { cookie: { path: "/; Domain=evil.example", domain: "Evil.example\r\nx: y", sameSite: "lax" }, maxTtlSeconds: 10 * 365 * 86_400, renewWithin: 60 },
        });
        const keys = ["sessions.cookie.sameSite", "sessions.cookie.path", "sessions.cookie.domain", "sessions.maxTtlSeconds", "sessions.renewWithin: unknown key"];
        for (const key of keys) assert.ok(problems.some((problem) => problem.startsWith(`tollgate:${key}`)), `no problem names ${key}:\n${problems.join("\n")}`);
        assert.equal(problems.length, keys.length, problems.join("\n"));
        assert.deepEqual(problemsOf({ sessions: { defaultTtlSeconds: 7200, maxTtlSeconds: 3600 } }), ["tollgate:sessions.defaultTtlSeconds: 7200 is above sessions.maxTtlSeconds (3600)"]);
    });
});

describe("docs/configuration.md's examples", () => {
    const page = fs.readFileSync(path.join(projectDir, "docs", "configuration.md"), "utf8");
    const examples = page.slice(page.indexOf("\n## Examples\n"));
    const blocks = [...examples.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((match) => parseYaml(match[1]) as Record<string, unknown>);
    /** Keys whose value is an object or a list: the ones a user writes as YAML rather than with a plain `pulumi config set`. */
    const structuredKeys = configKeys.filter((key) => {
        let schema: any = configSchema.shape[key];
        while (schema?.def?.innerType && ["default", "prefault", "optional"].includes(schema.def.type)) schema = schema.def.innerType;
        return schema?.def?.type === "object" || schema?.def?.type === "array";
    });

    it("gives every structured key a YAML example", () => {
        const shown = new Set(blocks.flatMap((block) => Object.keys(block)));
        assert.deepEqual(
            structuredKeys.filter((key) => !shown.has(`tollgate:${key}`)),
            [],
            "structured keys without an example under ## Examples",
        );
    });

    it("has examples the schema accepts, all together in one stack", () => {
        const raw: Record<string, unknown> = {};
        for (const block of blocks) for (const [key, value] of Object.entries(block)) raw[key.replace(/^tollgate:/, "")] = value;
        assert.doesNotThrow(() => resolveSettings(raw, { region: "eu-west-1" }));
    });
});

