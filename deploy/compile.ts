import { parseArgs } from "node:util";
import { UsageError, UserFacingError } from "../cli/usage_error.ts";

/**
 * `deno task compile [--target T] [--output PATH]`: builds the one fraudstream executable with
 * `deno compile`, then runs it once to prove it is fraudstream and not a bare runtime.
 *
 * `deno compile` needs the `denort` runtime of the running Deno version for the target; it is
 * downloaded from dl.deno.land unless DENORT_BIN points at one. When neither works, this says so
 * in one line and exits 1: nothing is pretended.
 */

export const ROOT = new URL("..", import.meta.url).pathname;

export interface CompileOptions {
  target: string;
  output: string;
  /** The runtime to embed; defaults to DENORT_BIN, else deno downloads one. */
  denort?: string;
}

export async function compileExecutable(opts: CompileOptions): Promise<void> {
  const { target, output } = opts;
  const denort = opts.denort ?? Deno.env.get("DENORT_BIN");
  if (denort) {
    try {
      await Deno.stat(denort);
    } catch {
      throw new UserFacingError(`DENORT_BIN=${denort} does not exist`);
    }
  }
  const compile = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--allow-all",
      "--target",
      target,
      "--include",
      `${ROOT}model`,
      "--output",
      output,
      `${ROOT}main.ts`,
    ],
    cwd: ROOT,
    env: denort ? { DENORT_BIN: denort } : {},
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(compile.stderr) + new TextDecoder().decode(compile.stdout);
  if (!compile.success) {
    const version = Deno.version.deno;
    if (/dl\.deno\.land|denort/i.test(log)) {
      const reason = log.split("\n").map((l) => l.trim())
        .find((l) => /dns error|Connect|refused|timed out|404/.test(l)) ?? "download failed";
      throw new UserFacingError(
        `cannot build: deno compile needs the denort ${version} runtime for ${target}, downloaded from dl.deno.land, which is not reachable here (${reason}); set DENORT_BIN to a denort ${version} binary for ${target}`,
      );
    }
    throw new UserFacingError(
      `deno compile failed: ${log.trim().split("\n").slice(-3).join(" | ")}`,
    );
  }

  if (target === Deno.build.target) {
    const probe = await new Deno.Command(output, {
      args: ["--help"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(probe.stdout);
    if (!text.startsWith("fraudstream:")) {
      await Deno.remove(output);
      throw new UserFacingError(
        `the runtime used (${
          denort ?? "downloaded denort"
        }) is not a denort build: the executable ran as plain deno; set DENORT_BIN to denort ${Deno.version.deno}`,
      );
    }
  }
}

if (import.meta.main) {
  try {
    let values;
    try {
      ({ values } = parseArgs({
        args: Deno.args,
        options: {
          target: { type: "string", default: "x86_64-unknown-linux-gnu" },
          output: { type: "string" },
        },
        strict: true,
      }));
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message.split("\n")[0] : String(err));
    }
    const target = values.target!;
    const output = values.output ?? `${ROOT}dist/${target}/fraudstream`;
    await compileExecutable({ target, output });
    console.log(`built ${output} for ${target}`);
  } catch (err) {
    console.error(`compile: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(err instanceof UsageError ? 2 : 1);
  }
}
