import {
  type CommandSpec,
  type FlagSpecs,
  helpText,
  type ParsedFlags,
  parseFlags,
} from "./flags.ts";

/**
 * Wires a command's flag declaration to its body: --help prints the help and exits 0, bad flags
 * become a UsageError (exit 2), and the body returns the process exit code.
 */
export function defineCommand<T extends FlagSpecs>(
  spec: CommandSpec<T>,
  body: (flags: ParsedFlags<T>, positionals: string[]) => Promise<number>,
): { spec: CommandSpec<T>; main: (argv: string[]) => Promise<number> } {
  return {
    spec,
    main: async (argv) => {
      const parsed = parseFlags(spec, argv);
      if (parsed.help) {
        console.log(helpText(spec));
        return 0;
      }
      return await body(parsed.flags, parsed.positionals);
    },
  };
}
