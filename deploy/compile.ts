import { parseArgs } from "node:util";

/**
 * `deno task compile [--target T] [--output PATH]`: builds the one fraudstream executable with
 * `deno compile`, then runs it once to prove it is fraudstream and not a bare runtime.
 *
 * `deno compile` needs the `denort` runtime of the running Deno version for the target; it is
 * downloaded from dl.deno.land unless DENORT_BIN points at one. When neither works, this says so
 * in one line and exits 1: nothing is pretended.
 */
const { values } = parseArgs({
  args: Deno.args,
  options: {
    target: { type: "string", default: "x86_64-unknown-linux-gnu" },
    output: { type: "string" },
  },
  strict: true,
});
const root = new URL("..", import.meta.url).pathname;
const target = values.target!;
const output = values.output ?? `${root}dist/${target}/fraudstream`;
const denort = Deno.env.get("DENORT_BIN");

if (denort) {
  try {
    await Deno.stat(denort);
  } catch {
    fail(`DENORT_BIN=${denort} does not exist`);
  }
}

const compile = await new Deno.Command(Deno.execPath(), {
  args: [
    "compile",
    "--allow-all",
    "--target",
    target,
    "--include",
    `${root}model`,
    "--output",
    output,
    `${root}main.ts`,
  ],
  cwd: root,
  stdout: "piped",
  stderr: "piped",
}).output();
const log = new TextDecoder().decode(compile.stderr) + new TextDecoder().decode(compile.stdout);
if (!compile.success) {
  const version = Deno.version.deno;
  if (/dl\.deno\.land|denort/i.test(log)) {
    const reason = log.split("\n").map((l) =>
      l.trim()
    ).find((l) => /dns error|Connect|refused|timed out|404/.test(l)) ??
      "download failed";
    fail(
      `cannot build: deno compile needs the denort ${version} runtime for ${target}, downloaded from dl.deno.land, which is not reachable here (${reason}); set DENORT_BIN to a denort ${version} binary for ${target}`,
    );
  }
  fail(`deno compile failed: ${log.trim().split("\n").slice(-3).join(" | ")}`);
}

if (target === Deno.build.target) {
  const probe = await new Deno.Command(output, {
    args: ["--help"],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(probe.stdout);
  if (!text.startsWith("fraudstream:")) {
    await Deno.remove(output);
    fail(
      `the runtime used (${
        denort ?? "downloaded denort"
      }) is not a denort build: the executable ran as plain deno; set DENORT_BIN to denort ${Deno.version.deno}`,
    );
  }
}
console.log(`built ${output} for ${target}`);

function fail(message: string): never {
  console.error(`compile: ${message}`);
  Deno.exit(1);
}
