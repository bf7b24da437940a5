/**
 * DynamoDB expressions built from structured input, every attribute name and
 * value behind a placeholder (so reserved words like `name` or `status` and
 * any value are safe). Placeholders are `#tg<n>` and `:tg<n>`; conditions
 * written by hand bring their own placeholders, which must not use that prefix.
 */
export interface Condition {
    /** A condition expression, e.g. `#s = :active`. */
    expression: string;
    names?: Record<string, string>;
    values?: Record<string, unknown>;
}

/** Top-level attribute changes of an `update` (nested paths are not modelled: pass them in `set` of the parent). */
export interface ItemChanges {
    /** `SET name = value` */
    set?: Record<string, unknown>;
    /** `SET name = if_not_exists(name, value)`: keeps a value already there. */
    setIfNotExists?: Record<string, unknown>;
    /** `ADD name value`: adds to a number (starting from 0) or a set. */
    add?: Record<string, unknown>;
    /** `REMOVE name` */
    remove?: string[];
}

export class ExpressionBuilder {
    readonly names: Record<string, string> = {};
    readonly values: Record<string, unknown> = {};
    private readonly nameOf = new Map<string, string>();
    private nextValue = 0;

    name(attribute: string): string {
        let placeholder = this.nameOf.get(attribute);
        if (!placeholder) {
            placeholder = `#tg${this.nameOf.size}`;
            this.nameOf.set(attribute, placeholder);
            this.names[placeholder] = attribute;
        }
        return placeholder;
    }

    value(value: unknown): string {
        const placeholder = `:tg${this.nextValue++}`;
        this.values[placeholder] = value;
        return placeholder;
    }

    /** Adds a hand-written condition's placeholders; returns its expression in parentheses. */
    include(condition: Condition): string {
        for (const [placeholder, attribute] of Object.entries(condition.names ?? {})) {
            if (placeholder.startsWith("#tg")) throw new Error(`condition name placeholder '${placeholder}': '#tg' placeholders are reserved by the table client`);
            this.names[placeholder] = attribute;
        }
        for (const [placeholder, value] of Object.entries(condition.values ?? {})) {
            if (placeholder.startsWith(":tg")) throw new Error(`condition value placeholder '${placeholder}': ':tg' placeholders are reserved by the table client`);
            this.values[placeholder] = value;
        }
        return `(${condition.expression})`;
    }

    /** `ExpressionAttributeNames`/`Values`, left out when empty (DynamoDB rejects empty maps). */
    attributes(): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> } {
        return {
            ...(Object.keys(this.names).length ? { ExpressionAttributeNames: this.names } : {}),
            ...(Object.keys(this.values).length ? { ExpressionAttributeValues: this.values } : {}),
        };
    }
}

/** `SET ... ADD ... REMOVE ...` for the given changes; undefined when there are none. */
export function updateExpression(changes: ItemChanges, builder: ExpressionBuilder): string | undefined {
    const set = [
        ...Object.entries(changes.set ?? {}).map(([attribute, value]) => `${builder.name(attribute)} = ${builder.value(value)}`),
        ...Object.entries(changes.setIfNotExists ?? {}).map(([attribute, value]) => {
            const name = builder.name(attribute);
            return `${name} = if_not_exists(${name}, ${builder.value(value)})`;
        }),
    ];
    const add = Object.entries(changes.add ?? {}).map(([attribute, value]) => `${builder.name(attribute)} ${builder.value(value)}`);
    const remove = (changes.remove ?? []).map((attribute) => builder.name(attribute));
    const clauses = [
        set.length ? `SET ${set.join(", ")}` : "",
        add.length ? `ADD ${add.join(", ")}` : "",
        remove.length ? `REMOVE ${remove.join(", ")}` : "",
    ].filter(Boolean);
    return clauses.length ? clauses.join(" ") : undefined;
}

/** Attributes an update touches, to refuse changes to key attributes by name. */
export function changedAttributes(changes: ItemChanges): string[] {
    return [
        ...Object.keys(changes.set ?? {}),
        ...Object.keys(changes.setIfNotExists ?? {}),
        ...Object.keys(changes.add ?? {}),
        ...(changes.remove ?? []),
    ];
}
