const MAIN = new URL("../main.ts", import.meta.url);

/**
 * The argv prefix that runs this very program again, to which a subcommand and its flags are
 * appended: from a checkout that is `deno run -A .../main.ts`; a `deno compile`d executable is
 * its own entry point, so it is the executable alone. Deno.execPath() is the running binary
 * either way; whether it is a compiled one is Deno.build.standalone, not its file name, which
 * an operator may change.
 */
export function selfCommand(
  execPath = Deno.execPath(),
  standalone = Deno.build.standalone,
): string[] {
  return standalone ? [execPath] : [execPath, "run", "-A", MAIN.pathname];
}
