/**
 * `npm start`'s flags, environment variables and JWT secret choice: each
 * mistake is refused with a message naming the flag, variable or key.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { UsageError } from "../data/commandLine";
import { checkUpstreamNames, parseOptions } from "../local/options";
import { chooseJwtSecret } from "../local/start";
import { loadStackConfig } from "../specs/stackFile";

const projectDir = path.resolve(__dirname, "..");
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseOptions(argv, env, projectDir);

function refusal(action: () => unknown): string {
    try {
        action();
    } catch (error) {
        assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
        return error.message;
    }
    assert.fail("expected a UsageError");
}

describe("local gateway options", () => {
    it("defaults to stack dev, port 3000, store port 8000 and data under .tollgate/dev", () => {
        const options = parse([]);
        assert.equal(options.stack, "dev");
        assert.equal(options.port, 3000);
        assert.equal(options.dynamoPort, 8000);
        assert.equal(options.memory, false);
        assert.equal(options.dataDir, path.join(projectDir, ".tollgate", "dev"));
    });

    it("takes the port from --port over PORT, and the store port from DYNAMODB_PORT", () => {
        assert.equal(parse([], { PORT: "4100" }).port, 4100);
        assert.equal(parse(["--port", "4200"], { PORT: "4100" }).port, 4200);
        assert.equal(parse([], { DYNAMODB_PORT: "8100" }).dynamoPort, 8100);
    });

    it("names the flag or variable that holds a bad port", () => {
        assert.match(refusal(() => parse(["--port", "http"])), /--port: 'http' is not a port/);
        assert.match(refusal(() => parse([], { PORT: "70000" })), /^PORT: '70000'/);
        assert.match(refusal(() => parse([], { DYNAMODB_PORT: "-1" })), /^DYNAMODB_PORT: '-1'/);
        assert.match(refusal(() => parse(["--port", "8000"])), /--port\/PORT and DYNAMODB_PORT are both 8000/);
    });

    it("names an unknown flag", () => {
        assert.match(refusal(() => parse(["--prot", "3000"])), /^--prot: not a flag of 'npm start'; did you mean --port\?$/);
    });

    it("takes the stack name from a --config file name unless --stack is given", () => {
        const file = path.join(projectDir, "test", "fixtures", "stacks", "Pulumi.local-test.yaml");
        assert.equal(parse(["--config", file]).stack, "local-test");
        assert.equal(parse(["--config", file, "--stack", "other"]).stack, "other");
        assert.equal(parse(["--config", file]).configFile, file);
        assert.equal(parse(["--config", file]).dataDir, path.join(projectDir, ".tollgate", "local-test"));
    });

    it("reads repeated --upstream NAME=URL pairs and refuses malformed ones, naming them", () => {
        const options = parse(["--upstream", "catalog=http://127.0.0.1:9000/", "--upstream", "search=https://search.internal/v2"]);
        assert.deepEqual([...options.upstreams], [
            ["catalog", "http://127.0.0.1:9000"],
            ["search", "https://search.internal/v2"],
        ]);
        assert.match(refusal(() => parse(["--upstream", "catalog"])), /--upstream: 'catalog' is not NAME=URL/);
        assert.match(refusal(() => parse(["--upstream", "catalog=ftp://x"])), /--upstream catalog: 'ftp:\/\/x' must be an http\(s\) URL/);
        assert.match(refusal(() => parse(["--upstream", "a=http://x", "--upstream", "a=http://y"])), /route 'a' is given twice/);
    });

    it("refuses an --upstream for a route the stack does not have, naming it and the routes there are", () => {
        const message = refusal(() => checkUpstreamNames(new Map([["catalgo", "http://127.0.0.1:1"]]), ["catalog", "search"]));
        assert.match(message, /--upstream catalgo: no route named 'catalgo'/);
        assert.match(message, /routes: catalog, search/);
    });

    it("refuses --memory with --data-dir, and a TOLLGATE_JWT_SECRET too short for HS256", () => {
        assert.match(refusal(() => parse(["--memory", "--data-dir", "/tmp/x"])), /--memory and --data-dir/);
        assert.match(refusal(() => parse([], { TOLLGATE_JWT_SECRET: "short" })), /^TOLLGATE_JWT_SECRET: must be at least 32 characters/);
    });
});

describe("local gateway JWT secret", () => {
    const stack = loadStackConfig("local-test", { file: path.join(projectDir, "test", "fixtures", "stacks", "Pulumi.local-test.yaml") });
    const withSecret = (plain?: string, secure = false) => ({
        ...stack,
        settings: { ...stack.settings, jwtSecret: plain },
        secureKeys: secure ? ["tollgate:jwtSecret"] : [],
    });

    it("uses TOLLGATE_JWT_SECRET over a plain-text tollgate:jwtSecret", () => {
        const choice = chooseJwtSecret(withSecret("p".repeat(40)), "e".repeat(40));
        assert.deepEqual(choice.secret, { value: "e".repeat(40) });
        assert.equal(choice.source, "environment");
    });

    it("uses a plain-text tollgate:jwtSecret as it is", () => {
        const choice = chooseJwtSecret(withSecret("p".repeat(40)), undefined);
        assert.deepEqual(choice.secret, { value: "p".repeat(40) });
        assert.equal(choice.notice, undefined);
    });

    it("has no secret for a secure: value, and says how to supply one", () => {
        const choice = chooseJwtSecret(withSecret(undefined, true), undefined);
        assert.equal(choice.secret, undefined);
        assert.match(choice.notice!, /tollgate:jwtSecret .* is encrypted \(secure:\)/);
        assert.match(choice.notice!, /TOLLGATE_JWT_SECRET/);
    });

    it("has no secret and says so when the stack has jwt routes but no secret", () => {
        const choice = chooseJwtSecret(withSecret(undefined), undefined);
        assert.equal(choice.secret, undefined);
        assert.match(choice.notice!, /JWTs are refused until you set TOLLGATE_JWT_SECRET/);
    });
});
