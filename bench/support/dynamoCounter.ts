/**
 * A store client built the way the handler builds its own
 * (runtime/stores/dynamo.ts), counting each operation by command name: what
 * the handler is given through `deps.dynamo` to count its reads and writes.
 * Operations are counted once however often the client retries them, and a
 * conditional write that fails is still a write (DynamoDB charges a write
 * request unit for it).
 */
import { createStoreClient, type StoreClient } from "../../runtime/stores/dynamo";

const readCommands = new Set(["GetItemCommand", "QueryCommand", "ScanCommand", "BatchGetItemCommand", "TransactGetItemsCommand"]);
const writeCommands = new Set(["PutItemCommand", "UpdateItemCommand", "DeleteItemCommand", "BatchWriteItemCommand", "TransactWriteItemsCommand"]);

export interface OperationCounts {
    reads: number;
    writes: number;
    byCommand: Record<string, number>;
}

export interface CountingDynamo {
    client: StoreClient;
    counts(): OperationCounts;
    reset(): void;
    destroy(): void;
}

export function countingDynamo(endpoint: string, region = "eu-west-1"): CountingDynamo {
    const store = createStoreClient({ region, endpoint });
    let byCommand = new Map<string, number>();
    const client: StoreClient = {
        via: store.via,
        call(operation, input) {
            const name = `${operation}Command`;
            byCommand.set(name, (byCommand.get(name) ?? 0) + 1);
            return store.call(operation, input);
        },
        destroy: () => store.destroy(),
    };
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
