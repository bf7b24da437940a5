/**
 * What `npm start` prints once everything listens: where the data is, the
 * routes with their auth, limit and upstream, and curl lines that work as
 * pasted. The last line contains "ready", which scripts and tests wait for.
 */
import * as path from "node:path";
import type { LocalGateway, LocalRoute } from "./start";
import { defaults, envNames, type LocalOptions } from "./options";

export function banner(gateway: LocalGateway, options: LocalOptions, stackFile: string, projectDir: string): string {
    const lines: string[] = [];
    const relative = (file: string) => {
        const rel = path.relative(process.cwd(), file);
        return rel && !rel.startsWith("..") ? rel : file;
    };
    lines.push(`tollgate local gateway: stack ${options.stack} (${relative(stackFile)})`);
    lines.push(
        `  store   dynalite on ${gateway.store.endpoint}, ` +
            (options.memory ? "in memory (--memory): nothing is kept after stop" : `data in ${relative(options.dataDir)}${path.sep}`),
    );
    lines.push(`  tables  ${Object.values(gateway.tables).join(", ")}`);
    lines.push("");
    lines.push(...routeTable(gateway.routes));
    lines.push("");
    lines.push("Try it:");
    lines.push(...curlLines(gateway, options, projectDir));
    if (gateway.jwt.notice) {
        lines.push("");
        lines.push(`Note: ${gateway.jwt.notice}`);
    }
    lines.push("");
    lines.push(`Inspector: ${gateway.inspector.url} shows each request as it happens, with the gateway's decision.`);
    lines.push(`Ctrl-C stops the gateway${options.memory ? "" : " (data is kept)"}.`);
    return lines.join("\n");
}

export function readyLine(url: string, elapsedMs: number): string {
    return `tollgate local gateway ready on ${url} (started in ${Math.round(elapsedMs)} ms)`;
}

export function describeRateLimit(route: LocalRoute): string {
    const policy = route.rateLimit;
    const shared = route.defaultRateLimit ? " (default)" : "bucket" in policy && policy.bucket !== undefined ? ` (bucket ${policy.bucket})` : "";
    return `${policy.limit}/${policy.windowSeconds}s ${policy.algorithm} by ${policy.by}${shared}`;
}

function routeTable(routes: LocalRoute[]): string[] {
    if (routes.length === 0) return ["Routes: none (add tollgate:routes to the stack file); /health/live and /health/ready still answer."];
    const rows = [
        ["ROUTE", "PREFIX", "AUTH", "RATE LIMIT", "UPSTREAM"],
        ...routes.map((route) => [
            route.name,
            route.pathPrefix,
            route.permissions.length ? `${route.auth} [${route.permissions.join(",")}]` : route.auth,
            describeRateLimit(route),
            route.echo ? `echo ${route.upstream}` : route.login ? `login ${route.upstream}` : route.upstream,
        ]),
    ];
    const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
    return rows.map((row) => `  ${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join("  ")}`);
}

function curlLines(gateway: LocalGateway, options: LocalOptions, projectDir: string): string[] {
    const url = gateway.url;
    const lines = [`  curl -i ${url}/health/live`];
    const open = gateway.routes.find((route) => route.auth === "none");
    if (open) lines.push(`  curl -i '${url}${open.pathPrefix}/hello?color=red'`);
    const sessionRoutes = gateway.routes.filter((route) => route.auth === "session" || route.auth === "any");
    const session = sessionRoutes.find((route) => route.permissions.length === 0) ?? sessionRoutes[0];
    if (session) {
        const storePort = gateway.store.port;
        const env = storePort !== defaults.dynamoPort ? `${envNames.dynamoPort}=${storePort} ` : "";
        const stackFlag = options.configFile
            ? ` --config ${shellWord(relativeToProject(options.configFile, projectDir))}`
            : options.stack !== defaults.stack
              ? ` --stack ${options.stack}`
              : "";
        const permissions = session.permissions.length ? ` --permissions ${session.permissions.join(",")}` : "";
        // npm finds the project from any directory inside it.
        const insideProject = !path.relative(projectDir, process.cwd()).startsWith("..");
        const cd = insideProject ? "" : `cd ${shellWord(projectDir)} && `;
        lines.push(`  TOKEN=$(${cd}${env}npm run --silent sessions -- create --local${stackFlag} --user alice${permissions})`);
        lines.push(`  curl -i -H "Authorization: Bearer $TOKEN" ${url}${session.pathPrefix}/me`);
    }
    if (!open && !session && gateway.routes[0]) lines.push(`  curl -i ${url}${gateway.routes[0].pathPrefix}/`);
    lines.push(...loginLines(gateway, session));
    return lines;
}

/** The login loop through the built-in login upstream, when the stack has a route that issues sessions. */
function loginLines(gateway: LocalGateway, session: LocalRoute | undefined): string[] {
    const issuing = gateway.routes.find((route) => route.login && gateway.settings.routes.some((spec) => spec.name === route.name && spec.sessions?.issue));
    if (!issuing) return [];
    const url = gateway.url;
    const lines = [`  curl -i -c cookies.txt -H 'content-type: application/json' -d '{"username":"alice"}' ${url}${issuing.pathPrefix}/login`];
    if (session) lines.push(`  curl -i -b cookies.txt ${url}${session.pathPrefix}/me`);
    const revoking = gateway.routes.find((route) => route.login && gateway.settings.routes.some((spec) => spec.name === route.name && spec.sessions?.revoke));
    if (revoking) {
        const logout = /\/logout$/.test(new URL(revoking.upstream).pathname) ? revoking.pathPrefix : `${revoking.pathPrefix}/logout`;
        lines.push(`  curl -i -b cookies.txt -c cookies.txt -X POST ${url}${logout}`);
    }
    return lines;
}

function relativeToProject(file: string, projectDir: string): string {
    const rel = path.relative(projectDir, file);
    return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : file;
}

/** Quotes a path for a POSIX shell when it needs it. */
function shellWord(word: string): string {
    return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
