/**
 * Reads a stack's configuration the way the Pulumi CLI assembles it:
 * `Pulumi.yaml`'s declared defaults, overlaid by `Pulumi.<stack>.yaml`.
 *
 * The local gateway reads settings through it, and the program tests use its
 * `pulumiConfig` (flattened, JSON for structured values, as the CLI hands them
 * to a program) with `pulumi.runtime.setAllConfig`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { configNamespace, ConfigError, parsePulumiConfigValues, resolveSettings, type SettingsContext, type TollgateSettings } from "./config";

export interface StackConfig {
    stack: string;
    /** The file the stack values came from. */
    file: string;
    /** `namespace:key` -> value as the CLI passes it to a program (strings; JSON for structured values). */
    pulumiConfig: Record<string, string>;
    /** Keys whose value is `secure:` ciphertext that only the Pulumi CLI can decrypt. */
    secureKeys: string[];
    settings: TollgateSettings;
    region?: string;
}

export const projectDir = path.resolve(__dirname, "..");

function readYamlFile(file: string): any {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (error: any) {
        throw new ConfigError([`${file}: cannot be read (${error.code ?? error.message})`]);
    }
    try {
        return parseYaml(text) ?? {};
    } catch (error: any) {
        // The parser's message carries the line, the column and the lines around it: all of it helps.
        const at = error.linePos?.[0] ? `:${error.linePos[0].line}:${error.linePos[0].col}` : "";
        throw new ConfigError([`${file}${at}: is not valid YAML: ${String(error.message).trimEnd().replace(/\n/g, "\n      ")}`]);
    }
}

/** Project-level defaults declared in Pulumi.yaml (`config: { key: { default } }`), empty strings left out. */
export function projectDefaults(dir = projectDir): Record<string, string> {
    const project = readYamlFile(path.join(dir, "Pulumi.yaml"));
    const out: Record<string, string> = {};
    for (const [key, declaration] of Object.entries<any>(project.config ?? {})) {
        const fullKey = key.includes(":") ? key : `${project.name ?? configNamespace}:${key}`;
        const value = declaration && typeof declaration === "object" && !Array.isArray(declaration) ? declaration.default ?? declaration.value : declaration;
        if (value === undefined || value === "") continue;
        out[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

/**
 * Loads and validates a stack. `file` overrides the `Pulumi.<stack>.yaml` path
 * (tests and `--config` use it). `purpose` is `local` unless the reader
 * deploys (see SettingsContext). Throws ConfigError naming the key on bad values.
 */
export function loadStackConfig(stack: string, options: { dir?: string; file?: string; purpose?: SettingsContext["purpose"] } = {}): StackConfig {
    const dir = options.dir ?? projectDir;
    const file = options.file ?? path.join(dir, `Pulumi.${stack}.yaml`);
    if (!options.file && !fs.existsSync(file)) {
        const known = fs.readdirSync(dir).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f)).map((f) => f.slice(7, -5));
        throw new ConfigError([`no stack '${stack}': ${file} does not exist (stacks here: ${known.join(", ") || "none"})`]);
    }
    const document = readYamlFile(file);
    const pulumiConfig: Record<string, string> = { ...projectDefaults(dir) };
    const secureKeys: string[] = [];
    for (const [key, value] of Object.entries<any>(document.config ?? {})) {
        if (value && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
            secureKeys.push(key);
            continue;
        }
        pulumiConfig[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    const settings = resolveSettings(parsePulumiConfigValues(pulumiConfig), { region: pulumiConfig["aws:region"], purpose: options.purpose ?? "local" });
    return { stack, file, pulumiConfig, secureKeys, settings, region: pulumiConfig["aws:region"] };
}
