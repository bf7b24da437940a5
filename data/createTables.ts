/**
 * Creates tables from the same specs the Pulumi `Tables` component deploys,
 * on any DynamoDB endpoint (the local gateway's embedded store, DynamoDB
 * Local, dynalite). Idempotent: an existing table is left as it is.
 */
import {
    CreateTableCommand,
    DescribeTableCommand,
    ResourceInUseException,
    UpdateTimeToLiveCommand,
    type CreateTableCommandInput,
    type DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { keyAttributes, physicalTableName, type TableSpec } from "../specs/tables";

export function createTableInput(prefix: string, spec: TableSpec): CreateTableCommandInput {
    const provisioned = spec.billingMode === "PROVISIONED";
    const throughput = provisioned ? { ReadCapacityUnits: spec.readCapacity ?? 1, WriteCapacityUnits: spec.writeCapacity ?? 1 } : undefined;
    const keySchema = (hash: { name: string }, range?: { name: string }) => [
        { AttributeName: hash.name, KeyType: "HASH" as const },
        ...(range ? [{ AttributeName: range.name, KeyType: "RANGE" as const }] : []),
    ];
    return {
        TableName: physicalTableName(prefix, spec),
        BillingMode: provisioned ? "PROVISIONED" : "PAY_PER_REQUEST",
        ProvisionedThroughput: throughput,
        AttributeDefinitions: keyAttributes(spec).map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
        KeySchema: keySchema(spec.hashKey, spec.rangeKey),
        GlobalSecondaryIndexes: spec.globalSecondaryIndexes?.map((index) => ({
            IndexName: index.name,
            KeySchema: keySchema(index.hashKey, index.rangeKey),
            Projection: {
                ProjectionType: index.projection ?? "ALL",
                NonKeyAttributes: index.projection === "INCLUDE" ? index.nonKeyAttributes : undefined,
            },
            ProvisionedThroughput: throughput,
        })),
        StreamSpecification: spec.stream ? { StreamEnabled: true, StreamViewType: spec.stream } : undefined,
    };
}

export interface EnsureTablesOptions {
    /** Enable TTL where a spec names one. dynalite does not implement UpdateTimeToLive; tests of expired items want it off. */
    enableTtl?: boolean;
    /** Give up waiting for ACTIVE after this long. */
    timeoutMs?: number;
}

/** Creates any missing table and waits until every one is ACTIVE. Returns the physical names by spec name. */
export async function ensureTables(
    client: DynamoDBClient,
    prefix: string,
    specs: readonly TableSpec[],
    options: EnsureTablesOptions = {},
): Promise<Record<string, string>> {
    const names: Record<string, string> = {};
    await Promise.all(
        specs.map(async (spec) => {
            const input = createTableInput(prefix, spec);
            names[spec.name] = input.TableName!;
            let created = false;
            try {
                await client.send(new CreateTableCommand(input));
                created = true;
            } catch (error) {
                if (!(error instanceof ResourceInUseException) && (error as any)?.name !== "ResourceInUseException") throw error;
            }
            await waitForActive(client, input.TableName!, options.timeoutMs ?? 30_000);
            if (created && spec.ttlAttribute && options.enableTtl) {
                await client.send(
                    new UpdateTimeToLiveCommand({
                        TableName: input.TableName!,
                        TimeToLiveSpecification: { AttributeName: spec.ttlAttribute, Enabled: true },
                    }),
                );
            }
        }),
    );
    return names;
}

async function waitForActive(client: DynamoDBClient, tableName: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
        const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === "ACTIVE");
        if (Table?.TableStatus === "ACTIVE" && indexesActive) return;
        if (Date.now() > deadline) throw new Error(`table ${tableName} not ACTIVE after ${timeoutMs} ms (status ${Table?.TableStatus})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}
