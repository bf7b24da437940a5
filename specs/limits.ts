/**
 * What AWS accepts, in one place, each with its source: the limits the config
 * schema (specs/config.ts) refuses values against, which the components build
 * resources within, and which the tests hold every resource to.
 */

/**
 * The HTTP API's integration timeout: API Gateway waits at most this long for
 * the Lambda, then answers 503 itself (the Lambda keeps running, and its own
 * answer is lost). Not adjustable.
 *
 * Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 * ("Maximum integration timeout: 30 seconds", "Can be increased: No");
 * `timeoutMilliseconds` of aws.apigatewayv2.Integration: "between 50 and 30,000
 * milliseconds for HTTP APIs".
 */
export const httpApiIntegrationTimeoutMs = 30_000;

/**
 * The part of the HTTP API's 30 s the gateway keeps for itself around the
 * upstream call: rate limiting and authentication against DynamoDB (each gives
 * up after about 2.1 s when the store does not answer, runtime/stores/dynamo.ts),
 * a cold start, and API Gateway's own hop to the Lambda and back. An upstream
 * timeout longer than the rest would let API Gateway's 503 overtake the
 * gateway's 504. test/deploy-limits.test.ts keeps it above the stores' give-up time.
 */
export const gatewayReserveMs = 3_000;

/** The longest `tollgate:upstreamTimeoutMs` the HTTP API can wait for. */
export const maxUpstreamTimeoutMs = httpApiIntegrationTimeoutMs - gatewayReserveMs;
