#!/usr/bin/env node
/**
 * The `tollgate` command: `npx tollgate <command> [flags]` in a program that
 * installed tollgate, and behind this repository's `npm start` and
 * `npm run sessions|data|policy`. Each command is loaded only when it runs, so
 * `tollgate --help` answers at once.
 *
 * Exit codes are each command's own; 2 for an unknown command.
 */
import { closestName } from "../specs/names";

interface Command {
    summary: string;
    run(argv: string[]): void | Promise<void>;
}

/* eslint-disable @typescript-eslint/no-require-imports */
const commands: Record<string, Command> = {
    start: {
        summary: "run the gateway on this machine: a stack file's, or a program's Tollgate (--program DIR)",
        run: (argv) => (require("./start") as typeof import("./start")).runStartCommand(argv),
    },
    sessions: {
        summary: "create, inspect and revoke sessions in a sessions table",
        run: (argv) => (require("./sessions") as typeof import("./sessions")).runSessionsCommand(argv),
    },
    data: {
        summary: "seed, import, export, migrate and verify tables",
        run: (argv) => (require("./data") as typeof import("./data")).runDataCommand(argv),
    },
    policy: {
        summary: "check a stack (or a program) against the CrossGuard pack offline",
        run: (argv) => (require("./policy") as typeof import("./policy")).runPolicyCommand(argv),
    },
    schema: {
        summary: "print the Pulumi package schema the tollgate provider answers",
        run: async (argv) => {
            if (argv.includes("--help") || argv.includes("-h")) {
                process.stdout.write("Usage: tollgate schema\n\nPrints the schema of the tollgate Pulumi package (JSON), as its provider answers GetSchema.\n");
                return;
            }
            if (argv.length > 0) {
                process.stderr.write(`tollgate schema: takes no arguments (got ${argv.join(" ")})\n`);
                process.exitCode = 2;
                return;
            }
            const { providerSchema } = require("../components/provider") as typeof import("../components/provider");
            process.stdout.write(`${JSON.stringify(JSON.parse(await providerSchema()), null, 2)}\n`);
        },
    },
};
/* eslint-enable @typescript-eslint/no-require-imports */

export const usage = `Usage: tollgate <command> [flags]

Commands:
${Object.entries(commands)
    .map(([name, command]) => `  ${name.padEnd(10)}${command.summary}`)
    .join("\n")}

tollgate <command> --help tells a command's flags.
`;

export function runTollgate(argv: string[]): void | Promise<void> {
    const [name, ...rest] = argv;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
        process.stdout.write(usage);
        if (name === undefined) process.exitCode = 2;
        return;
    }
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (!command) {
        const suggestion = closestName(name, Object.keys(commands));
        process.stderr.write(`tollgate: unknown command '${name}'${suggestion ? `; did you mean '${suggestion}'?` : ""}\n\n${usage}`);
        process.exitCode = 2;
        return;
    }
    return command.run(rest);
}

if (require.main === module) {
    Promise.resolve(runTollgate(process.argv.slice(2))).catch((error) => {
        process.stderr.write(`tollgate: ${(error as Error)?.stack ?? error}\n`);
        process.exitCode = 1;
    });
}
