import { V8_FLAGS } from "../cli/v8_flags.ts";

const MAIN = new URL("../main.ts", import.meta.url);

/**
 * The argv prefix that runs this very program again, to which a subcommand and its flags are
 * appended: from a checkout that is `deno run -A` with the V8 flags (cli/v8_flags.ts), then
 * `.../main.ts`; a `deno compile`d executable has those flags and its entry point built in, so it
 * is the executable alone. Deno.execPath() is the running binary
 * either way; whether it is a compiled one is Deno.build.standalone, not its file name, which
 * an operator may change.
 */
export function selfCommand(
  execPath = Deno.execPath(),
  standalone = Deno.build.standalone,
): string[] {
  return standalone ? [execPath] : [execPath, "run", "-A", V8_FLAGS, MAIN.pathname];
}
