import { parseArgs } from "node:util";
import { UsageError } from "./usage_error.ts";

/** One command-line flag. Every flag can also come from FRAUDSTREAM_<NAME> (flags win). */
export interface FlagSpec {
  type: "string" | "boolean";
  description: string;
  /** Placeholder shown in --help, e.g. "HOST:PORT". */
  value?: string;
  default?: string | boolean;
  short?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

type FlagValue<S extends FlagSpec> = S["type"] extends "boolean" ? boolean
  : S extends { default: string } ? string
  : string | undefined;

export type ParsedFlags<T extends FlagSpecs> = { [K in keyof T]: FlagValue<T[K]> };

/** The environment variable that backs a flag: --label-delay -> FRAUDSTREAM_LABEL_DELAY. */
export function envName(flag: string): string {
  return "FRAUDSTREAM_" + flag.toUpperCase().replaceAll("-", "_");
}

export interface CommandSpec<T extends FlagSpecs> {
  name: string;
  summary: string;
  usage?: string;
  flags: T;
  /** Extra help text after the flag list (examples). */
  examples?: string[];
}

export function helpText<T extends FlagSpecs>(cmd: CommandSpec<T>): string {
  const lines = [
    `fraudstream ${cmd.name}: ${cmd.summary}`,
    "",
    `usage: fraudstream ${cmd.name} ${cmd.usage ?? "[flags]"}`,
    "",
    "flags (each also read from the environment variable shown; a flag wins over it):",
  ];
  const all: [string, FlagSpec][] = [
    ...Object.entries(cmd.flags),
    ["help", { type: "boolean", description: "show this help" }],
  ];
  for (const [name, spec] of all) {
    const head = `  --${name}${spec.value ? " " + spec.value : ""}`;
    const def = spec.default !== undefined && spec.default !== false && spec.default !== ""
      ? ` (default ${spec.default})`
      : "";
    const env = name === "help" ? "" : `  [${envName(name)}]`;
    lines.push(`${head.padEnd(30)} ${spec.description}${def}${env}`);
  }
  if (cmd.examples?.length) lines.push("", "examples:", ...cmd.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}

export type ParseResult<T extends FlagSpecs> =
  | { help: true }
  | { help: false; flags: ParsedFlags<T>; positionals: string[] };

/**
 * Parses argv strictly (unknown flags are a UsageError), then fills flags not given on the
 * command line from FRAUDSTREAM_* environment variables, then from defaults.
 */
export function parseFlags<T extends FlagSpecs>(
  cmd: CommandSpec<T>,
  argv: string[],
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): ParseResult<T> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, spec] of Object.entries(cmd.flags)) {
    options[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`${cmd.name}: ${firstLine(err)} (see fraudstream ${cmd.name} --help)`);
  }
  if (parsed.values.help) return { help: true };
  const out: Record<string, string | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(cmd.flags)) {
    const given = parsed.values[name];
    if (given !== undefined) {
      out[name] = given;
      continue;
    }
    const fromEnv = env(envName(name));
    if (fromEnv !== undefined && fromEnv !== "") {
      out[name] = spec.type === "boolean" ? parseBool(name, fromEnv) : fromEnv;
      continue;
    }
    out[name] = spec.default ?? (spec.type === "boolean" ? false : undefined);
  }
  return { help: false, flags: out as ParsedFlags<T>, positionals: parsed.positionals };
}

function parseBool(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new UsageError(`${envName(name)}=${raw}: expected true or false`);
}

/** node:util's messages run on with advice about "--"; the first sentence is the useful part. */
function firstLine(err: unknown): string {
  const text = (err instanceof Error ? err.message : String(err)).split("\n")[0];
  return text.replace(/\. To specify a positional argument.*$/, "");
}
