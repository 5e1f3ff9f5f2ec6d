import { resolve } from "node:path";
import { UserFacingError } from "./usage_error.ts";

/**
 * The absolute path of a fraudstream executable given on the command line (`--binary PATH` of
 * the demo and the bench), checked by running its `--version`. A relative path is the user's:
 * `deno task` runs scripts from the project root and keeps the caller's directory in INIT_CWD.
 */
export async function fraudstreamExecutable(path: string): Promise<string> {
  const absolute = resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), path);
  let version: string;
  try {
    const probe = await new Deno.Command(absolute, {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
    }).output();
    version = new TextDecoder().decode(probe.stdout);
  } catch (err) {
    throw new UserFacingError(`--binary ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!version.startsWith("fraudstream ")) {
    throw new UserFacingError(`--binary ${path}: not a fraudstream executable`);
  }
  return absolute;
}
