/**
 * Published on-demand prices the cost model uses, in one place, with the
 * region and the date they were read. AWS prices vary by region; these are US
 * East (N. Virginia), the region AWS's pricing pages quote in their examples
 * and the one every source below agrees on. The prod stack deploys to
 * eu-west-1, where API Gateway and DynamoDB list a little higher: replace the
 * figures below with that region's to price it exactly.
 */
export const prices = {
    region: "us-east-1",
    /** When these were last read from the sources below (each source says when it was read). */
    asOf: "2026-11-26",
    currency: "USD",
    apiGateway: {
        /** HTTP APIs, first 300 million requests a month (each 512 KB of a request counts as one). */
        httpPerMillionRequests: 1.0,
    },
    lambda: {
        perMillionRequests: 0.2,
        /** Arm (Graviton), first 7.5 billion GB-seconds a month; billed per 1 ms. */
        arm64PerGbSecond: 0.0000133334,
        /** x86, first 6 billion GB-seconds a month. */
        x86PerGbSecond: 0.0000166667,
    },
    dynamodb: {
        /** On-demand, Standard table class, after the November 2024 price cut. A write unit covers 1 KB; a failed conditional write still costs one. */
        perMillionWriteRequestUnits: 0.625,
        /** A strongly consistent read of up to 4 KB costs one unit, an eventually consistent one half. */
        perMillionReadRequestUnits: 0.125,
    },
    cloudwatchLogs: {
        /**
         * Ingestion into a Standard class log group. Lambda's logs are billed as
         * vended logs since May 2025, whose first tier (up to 10 TB a month) is
         * this price; API Gateway's access logs are vended logs too.
         */
        ingestionPerGb: 0.5,
        /** Ingestion into an Infrequent Access class log group: half the Standard price (first tier of the vended logs too). */
        infrequentAccessIngestionPerGb: 0.25,
    },
    sources: [
        "https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs: $1.00 per million, first 300 million, in its US example; read 2026-11-22)",
        "https://aws.amazon.com/lambda/pricing/ ($0.20 per million requests; Arm $0.0000133334 per GB-s, first 7.5 billion GB-s; read 2026-11-22)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.625 per million WRU, $0.125 per million RRU, us-east-1, since 2024-11-01; read 2026-11-22)",
        "https://aws.amazon.com/cloudwatch/pricing/ (Logs ingestion, Standard: $0.50 per GB, us-east-1; read 2026-11-22)",
        "https://aws.amazon.com/cloudwatch/pricing/ (Logs ingestion, Infrequent Access: $0.25 per GB, us-east-1, '50% lower per GB ingestion price than Standard' in AWS's announcement of the class, November 2023; read 2026-11-26)",
        "CloudWatch Logs bills ingestion by the uncompressed bytes of the events' messages; the 26 bytes per event that PutLogEvents counts against its batch size are not priced here",
    ],
} as const;

/** The seed deployment's own estimate of what it cost per million requests. */
export const seedEstimateUsdPerMillion = { low: 8, high: 12 } as const;
