/**
 * A stand-in for AWS Secrets Manager on a free loopback port, speaking the
 * part of its JSON protocol (awsJson1_1) the gateway uses: `GetSecretValue`.
 * A process whose SDK is pointed at it with `AWS_ENDPOINT_URL_SECRETS_MANAGER`
 * (the SDK's service-specific endpoint variable) reads secrets from here
 * without AWS. It keeps every request so a test can count the fetches.
 */
import * as http from "node:http";
import { listenOnLoopback } from "./loopback";

export interface SecretRequest {
    /** `X-Amz-Target`, e.g. `secretsmanager.GetSecretValue`. */
    target: string;
    secretId: string | undefined;
    /** The SigV4 `Authorization` header the client signed the request with. */
    authorization: string | undefined;
    /** Every header as it arrived, and the body's bytes. */
    headers: http.IncomingHttpHeaders;
    raw: Buffer;
}

export interface FakeSecretsManager {
    url: string;
    requests: SecretRequest[];
    close(): Promise<void>;
}

/** Serves `secrets` (ARN -> SecretString); any other id is `ResourceNotFoundException`, as AWS answers. */
export async function startFakeSecretsManager(secrets: Record<string, string>): Promise<FakeSecretsManager> {
    const requests: SecretRequest[] = [];
    const answer = (response: http.ServerResponse, status: number, body: unknown) => {
        response.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        response.end(JSON.stringify(body));
    };
    const server = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
            const target = String(request.headers["x-amz-target"] ?? "");
            let input: { SecretId?: string } = {};
            try {
                input = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
            } catch {
                return answer(response, 400, { __type: "SerializationException", message: "the body is not JSON" });
            }
            requests.push({ target, secretId: input.SecretId, authorization: request.headers.authorization, headers: request.headers, raw: Buffer.concat(chunks) });
            if (target !== "secretsmanager.GetSecretValue") {
                return answer(response, 400, { __type: "UnknownOperationException", message: `${target} is not served here` });
            }
            const secretString = input.SecretId === undefined ? undefined : secrets[input.SecretId];
            if (secretString === undefined) {
                return answer(response, 400, { __type: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret." });
            }
            answer(response, 200, {
                ARN: input.SecretId,
                Name: input.SecretId!.split(":").pop(),
                SecretString: secretString,
                VersionId: "00000000-0000-4000-8000-000000000001",
                VersionStages: ["AWSCURRENT"],
                CreatedDate: 1_718_639_559.08,
            });
        });
    });
    const { url, close } = await listenOnLoopback(server);
    return { url, requests, close };
}
