import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/**
 * A bench script's flags, strictly parsed from Deno.args. A mistake is one line and exit 2: a
 * value that starts with a dash needs `--flag=VALUE`, which parseArgs' own message buries.
 */
export function benchFlags<O extends ParseArgsOptionsConfig>(options: O) {
  try {
    return parseArgs({ args: Deno.args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const message = (err as Error).message.split("\n")[0];
    console.error(`bench: ${message} (a value starting with "-" is written --flag=VALUE)`);
    Deno.exit(2);
  }
}
