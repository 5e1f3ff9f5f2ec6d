import { startLocalKafka } from "../kafka/local/local_kafka.ts";
import { missingTools, TOOLS } from "./prerequisites.ts";
import { failedTests, slowestTests } from "./junit_report.ts";

/** The pieces of `deno task test` and `deno task test:faults` (tests/run_all.ts, run_faults.ts). */

export const ROOT = new URL("..", import.meta.url).pathname;
const DENO = Deno.execPath();

/** Exits at once, naming the packages, when a program the tests run is not on PATH. */
export async function requireTools(): Promise<void> {
  const missing = await missingTools(Deno.env.get("PATH") ?? "");
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((t) => TOOLS[t]))].join(" ");
  console.error(
    `== the tests need ${missing.join(", ")} on PATH (Debian: apt install ${packages})`,
  );
  Deno.exit(1);
}

/** Runs one command of the suite with its output shown, and says how long it took. */
export async function step(
  name: string,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<boolean> {
  console.log(`\n== ${name}: ${cmd} ${args.join(" ")}`);
  const started = performance.now();
  const status = await new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  if (!status.success) {
    console.error(`== ${name} FAILED (exit ${status.code}, ${secs}s)`);
    return false;
  }
  console.log(`== ${name} ok (${secs}s)`);
  return true;
}

/** fmt --check, lint and check, stopping at the first that fails. */
export async function staticChecks(): Promise<boolean> {
  return await step("format", DENO, ["fmt", "--check"]) &&
    await step("lint", DENO, ["lint"]) &&
    await step("type check", DENO, ["check", "."]);
}

/**
 * `deno test -A ARGS` against one local Kafka broker shared by every test file, then the 10
 * slowest tests (from a JUnit report, whether or not the tests passed), so slow ones are seen,
 * and the failed ones with why: last, so the tail of a long log names them.
 */
export async function denoTestsOnBroker(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<boolean> {
  console.log("\n== starting a local Kafka broker for the tests");
  const kafka = await startLocalKafka();
  console.log(`== broker at ${kafka.brokers.join(",")}`);
  const junit = await Deno.makeTempFile({ prefix: "fraudstream-junit-", suffix: ".xml" });
  try {
    return await step(name, DENO, ["test", "-A", `--junit-path=${junit}`, ...args], {
      FRAUDSTREAM_TEST_BROKERS: kafka.brokers.join(","),
      ...env,
    });
  } finally {
    await kafka.stop();
    const report = await Deno.readTextFile(junit).catch(() => "");
    console.log("\n== slowest 10 tests");
    for (const t of slowestTests(report, 10)) {
      console.log(`${t.seconds.toFixed(1).padStart(7)}s  ${t.file}  ${t.name}`);
    }
    const failures = failedTests(report);
    if (failures.length > 0) console.log(`\n== ${failures.length} failed in ${name}`);
    for (const f of failures) {
      console.log(`${f.file}  ${f.name}\n  ${f.message.replaceAll("\n", "\n  ")}`);
    }
    await Deno.remove(junit);
  }
}

export function finish(ok: boolean): never {
  console.log(ok ? "\nALL TESTS PASSED" : "\nTESTS FAILED");
  Deno.exit(ok ? 0 : 1);
}
