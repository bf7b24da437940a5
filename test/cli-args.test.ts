/**
 * Where `--local`, `--endpoint` and `--region` point the sessions and data
 * commands, and the ports `npm start` takes: one set of rules for all three
 * commands, each mistake refused with a message naming the flag or variable.
 */
import * as assert from "node:assert/strict";
import { parsePort, stackNameOfFile, storeEndpoint, storeRegion, UsageError } from "../data/commandLine";

/** Asserts that `action` throws a UsageError whose message matches `message`. */
const refuses = (action: () => unknown, message: RegExp) => assert.throws(action, (error) => error instanceof UsageError && message.test(error.message));

describe("command-line store target", () => {
    it("points --local at the npm start store on 127.0.0.1:$DYNAMODB_PORT, 8000 when it is unset", () => {
        assert.equal(storeEndpoint({ local: true }, {}), "http://127.0.0.1:8000");
        assert.equal(storeEndpoint({ local: true }, { DYNAMODB_PORT: "8123" }), "http://127.0.0.1:8123");
    });

    it("refuses a DYNAMODB_PORT that is not a port, naming the variable", () => {
        refuses(() => storeEndpoint({ local: true }, { DYNAMODB_PORT: "abc" }), /^DYNAMODB_PORT: 'abc' is not a port number \(1-65535\)/);
        refuses(() => storeEndpoint({ local: true }, { DYNAMODB_PORT: "0" }), /^DYNAMODB_PORT: '0'/);
    });

    it("takes an http(s) --endpoint as it is and refuses anything else, or --endpoint with --local", () => {
        assert.equal(storeEndpoint({ endpoint: "https://dynamodb.example.com" }, {}), "https://dynamodb.example.com");
        refuses(() => storeEndpoint({ endpoint: "ftp://x" }, {}), /^--endpoint: 'ftp:\/\/x' is not an http\(s\) URL/);
        refuses(() => storeEndpoint({ endpoint: "127.0.0.1:8000" }, {}), /^--endpoint: '127\.0\.0\.1:8000'/);
        refuses(() => storeEndpoint({ local: true, endpoint: "http://127.0.0.1:1" }, {}), /^--endpoint: cannot be combined with --local/);
    });

    it("means AWS when neither --local nor --endpoint is given", () => {
        assert.equal(storeEndpoint({}, { DYNAMODB_PORT: "8123" }), undefined);
    });

    it("takes --region, then the stack's aws:region, then AWS_REGION and AWS_DEFAULT_REGION; any region for an endpoint", () => {
        const env = { AWS_REGION: "us-west-2", AWS_DEFAULT_REGION: "ap-south-1" };
        assert.equal(storeRegion("eu-north-1", "eu-west-1", undefined, env), "eu-north-1");
        assert.equal(storeRegion(undefined, "eu-west-1", undefined, env), "eu-west-1");
        assert.equal(storeRegion(undefined, undefined, undefined, env), "us-west-2");
        assert.equal(storeRegion(undefined, undefined, undefined, { AWS_DEFAULT_REGION: "ap-south-1" }), "ap-south-1");
        assert.equal(storeRegion(undefined, undefined, "http://127.0.0.1:8000", {}), "us-east-1");
        assert.equal(storeRegion(undefined, undefined, undefined, {}), undefined);
    });
});

describe("command-line ports and stack files", () => {
    it("takes 0 (a free port) only where the caller allows it", () => {
        assert.equal(parsePort("0", "--port", { allowZero: true }), 0);
        assert.equal(parsePort("65535", "--port", { allowZero: false }), 65535);
        refuses(() => parsePort("0", "--port", { allowZero: false }), /^--port: '0' is not a port number \(1-65535\)/);
        refuses(() => parsePort("65536", "PORT", { allowZero: true }), /^PORT: '65536' is not a port number \(0-65535; 0 picks a free one\)/);
    });

    it("names the stack after a Pulumi.<stack>.yaml file", () => {
        assert.equal(stackNameOfFile("/some/dir/Pulumi.data-test.yaml"), "data-test");
        assert.equal(stackNameOfFile("Pulumi.eu.prod.yml"), "eu.prod");
        assert.equal(stackNameOfFile("/some/dir/stack.yaml"), undefined);
    });
});
