/**
 * A DynamoDB client built the way the handler builds its own
 * (runtime/stores/dynamo.ts), with a middleware that counts each operation
 * by command name: what the handler is given through `deps.dynamo` to count
 * its reads and writes. Operations are counted once however often the SDK
 * retries them, and a conditional write that fails is still a write (DynamoDB
 * charges a write request unit for it).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createDynamoClient } from "../../runtime/stores/dynamo";

const readCommands = new Set(["GetItemCommand", "QueryCommand", "ScanCommand", "BatchGetItemCommand", "TransactGetItemsCommand"]);
const writeCommands = new Set(["PutItemCommand", "UpdateItemCommand", "DeleteItemCommand", "BatchWriteItemCommand", "TransactWriteItemsCommand"]);

export interface OperationCounts {
    reads: number;
    writes: number;
    byCommand: Record<string, number>;
}

export interface CountingDynamo {
    client: DynamoDBClient;
    counts(): OperationCounts;
    reset(): void;
    destroy(): void;
}

export function countingDynamo(endpoint: string, region = "eu-west-1"): CountingDynamo {
    const client = createDynamoClient({ region, endpoint });
    let byCommand = new Map<string, number>();
    client.middlewareStack.add(
        (next, context) => async (args) => {
            const name = context.commandName ?? "unknown";
            byCommand.set(name, (byCommand.get(name) ?? 0) + 1);
            return next(args);
        },
        { step: "initialize", name: "countOperations" },
    );
    return {
        client,
        counts: () => {
            let reads = 0;
            let writes = 0;
            for (const [name, count] of byCommand) {
                if (readCommands.has(name)) reads += count;
                else if (writeCommands.has(name)) writes += count;
            }
            return { reads, writes, byCommand: Object.fromEntries(byCommand) };
        },
        reset: () => {
            byCommand = new Map();
        },
        destroy: () => client.destroy(),
    };
}
