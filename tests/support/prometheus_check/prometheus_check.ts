/**
 * Checks a /metrics body with a real parser: prometheus_client's, in a venv built once under
 * .cache/ from the pinned requirements (rebuilt when they change), plus the conventions that
 * parser does not enforce (check_exposition.py). Test support only: nothing shipped calls it.
 */
const HERE = new URL(".", import.meta.url).pathname;
const ROOT = new URL("../../../", import.meta.url).pathname;
const VENV = `${ROOT}.cache/prometheus-check-venv`;

export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

export interface CheckResult {
  /** One line per problem; empty for a clean exposition. */
  problems: string[];
  families: ParsedFamily[];
}

let ready: Promise<string> | undefined;

/** The venv's python, built on first use. */
function venvPython(): Promise<string> {
  return ready ??= (async () => {
    const requirements = await Deno.readTextFile(`${HERE}requirements.txt`);
    const stamp = `${VENV}/.requirements`;
    const python = `${VENV}/bin/python`;
    const have = await Deno.readTextFile(stamp).catch(() => "");
    if (have !== requirements) {
      await run(Deno.env.get("PYTHON") ?? "python3", ["-m", "venv", VENV]);
      await run(python, [
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-r",
        `${HERE}requirements.txt`,
      ]);
      await Deno.writeTextFile(stamp, requirements);
    }
    return python;
  })();
}

export async function checkExposition(text: string): Promise<CheckResult> {
  const child = new Deno.Command(await venvPython(), {
    args: [`${HERE}check_exposition.py`],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0 && out.stdout.length === 0) {
    throw new Error(`prometheus_client could not parse the exposition: ${stderr.trim()}`);
  }
  return {
    problems: stderr.split("\n").filter(Boolean),
    families: JSON.parse(new TextDecoder().decode(out.stdout)),
  };
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}
