import { basename } from "node:path";

const MAIN = new URL("../main.ts", import.meta.url);

/**
 * The argv prefix that runs this very program again, to which a subcommand and its flags are
 * appended: from a checkout that is `deno run -A .../main.ts`; a `deno compile`d executable is
 * its own entry point, so it is the executable alone. Deno.execPath() is the running binary
 * either way; only a binary named deno needs to be told what to run.
 */
export function selfCommand(execPath = Deno.execPath()): string[] {
  const name = basename(execPath).toLowerCase();
  if (name === "deno" || name === "deno.exe") {
    return [execPath, "run", "-A", MAIN.pathname];
  }
  return [execPath];
}
