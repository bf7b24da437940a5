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

const aboveSpecs = path.resolve(__dirname, "..");
/** The package's root directory: above `specs/`, or above `dist/specs/` once compiled. */
export const projectDir = path.basename(aboveSpecs) === "dist" ? path.dirname(aboveSpecs) : aboveSpecs;

/**
 * Where a command finds `Pulumi.<stack>.yaml` unless told: the working
 * directory when it has that file (a program that installed tollgate runs its
 * commands from its own project), else this package's own stacks.
 */
export function stackDir(stack: string): string {
    return fs.existsSync(path.join(process.cwd(), `Pulumi.${stack}.yaml`)) ? process.cwd() : projectDir;
}

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

/** A stack file as the Pulumi CLI hands it to a program, unvalidated: `Pulumi.yaml`'s defaults under the stack's values. */
export interface RawStackConfig {
    stack: string;
    file: string;
    pulumiConfig: Record<string, string>;
    secureKeys: string[];
}

/**
 * Reads `Pulumi.<stack>.yaml` of `dir` (or `file`) over the project's declared
 * defaults. `optional` reads a missing stack file as empty, as the CLI treats a
 * stack without config.
 */
export function readStackConfig(stack: string, options: { dir?: string; file?: string; optional?: boolean } = {}): RawStackConfig {
    const dir = options.dir ?? stackDir(stack);
    const file = options.file ?? path.join(dir, `Pulumi.${stack}.yaml`);
    const exists = fs.existsSync(file);
    if (!options.file && !exists && !options.optional) {
        const known = fs.readdirSync(dir).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f)).map((f) => f.slice(7, -5));
        throw new ConfigError([`no stack '${stack}': ${file} does not exist (stacks here: ${known.join(", ") || "none"})`]);
    }
    const document = exists || options.file ? readYamlFile(file) : {};
    const pulumiConfig: Record<string, string> = fs.existsSync(path.join(dir, "Pulumi.yaml")) ? { ...projectDefaults(dir) } : {};
    const secureKeys: string[] = [];
    for (const [key, value] of Object.entries<any>(document.config ?? {})) {
        if (value && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
            secureKeys.push(key);
            continue;
        }
        pulumiConfig[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return { stack, file, pulumiConfig, secureKeys };
}

/**
 * Loads and validates a stack. `file` overrides the `Pulumi.<stack>.yaml` path
 * (tests and `--config` use it). `purpose` is `local` unless the reader
 * deploys (see SettingsContext). Throws ConfigError naming the key on bad values.
 */
export function loadStackConfig(stack: string, options: { dir?: string; file?: string; purpose?: SettingsContext["purpose"] } = {}): StackConfig {
    const raw = readStackConfig(stack, options);
    const region = raw.pulumiConfig["aws:region"];
    const settings = resolveSettings(parsePulumiConfigValues(raw.pulumiConfig), { region, purpose: options.purpose ?? "local" });
    return { ...raw, settings, region };
}

/** A Pulumi project's `Pulumi.yaml`, or nothing where the directory has none. */
export function projectFile(dir: string): { name?: string; main?: string; runtime?: string | { name?: string }; description?: string } {
    const file = path.join(dir, "Pulumi.yaml");
    return fs.existsSync(file) ? readYamlFile(file) : {};
}

/**
 * The entry file of a Pulumi program given by its file or its directory (the
 * directory's `Pulumi.yaml` `main`, else `index.ts`); throws ConfigError when
 * there is none.
 */
export function programEntry(fileOrDir: string): string {
    const target = path.resolve(fileOrDir);
    if (!fs.existsSync(target)) throw new ConfigError([`program ${fileOrDir} does not exist`]);
    if (!fs.statSync(target).isDirectory()) return target;
    const main = path.resolve(target, projectFile(target).main ?? "index.ts");
    const entry = fs.existsSync(main) && fs.statSync(main).isDirectory() ? path.join(main, "index.ts") : main;
    if (!fs.existsSync(entry)) throw new ConfigError([`program ${fileOrDir} has no ${path.relative(process.cwd(), entry) || entry} (its Pulumi.yaml main, else index.ts)`]);
    return entry;
}
