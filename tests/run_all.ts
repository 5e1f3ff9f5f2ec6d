import { startLocalKafka } from "../kafka/local/local_kafka.ts";
import { missingTools, TOOLS } from "./prerequisites.ts";

/**
 * The README's test command (`deno task test`): static checks, then every Deno test against one
 * real local Kafka broker shared by the suite, then the Python tests. Extra arguments
 * are passed to `deno test` (e.g. a file or --filter).
 */
const root = new URL("..", import.meta.url).pathname;

async function step(name: string, cmd: string, args: string[], env: Record<string, string> = {}) {
  console.log(`\n== ${name}: ${cmd} ${args.join(" ")}`);
  const started = performance.now();
  const status = await new Deno.Command(cmd, {
    args,
    cwd: root,
    env,
    stdout: "inherit",
    stderr: "inherit",
  })
    .spawn().status;
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  if (!status.success) {
    console.error(`== ${name} FAILED (exit ${status.code}, ${secs}s)`);
    return false;
  }
  console.log(`== ${name} ok (${secs}s)`);
  return true;
}

const missing = await missingTools(Deno.env.get("PATH") ?? "");
if (missing.length > 0) {
  const packages = [...new Set(missing.map((t) => TOOLS[t]))].join(" ");
  console.error(
    `== the tests need ${missing.join(", ")} on PATH (Debian: apt install ${packages})`,
  );
  Deno.exit(1);
}

const deno = Deno.execPath();
let ok = await step("format", deno, ["fmt", "--check"]) &&
  await step("lint", deno, ["lint"]) &&
  await step("type check", deno, ["check", "."]);

if (ok) {
  console.log("\n== starting a local Kafka broker for the suite");
  const kafka = await startLocalKafka();
  console.log(`== broker at ${kafka.brokers.join(",")}`);
  try {
    ok = await step("deno tests", deno, ["test", "-A", ...Deno.args], {
      FRAUDSTREAM_TEST_BROKERS: kafka.brokers.join(","),
    });
  } finally {
    await kafka.stop();
  }
}

// The trainer's tests build their own venv (model/train/setup_venv.sh) on first use.
if (ok) ok = await step("python tests (model/train)", deno, ["task", "test:train"]);

console.log(ok ? "\nALL TESTS PASSED" : "\nTESTS FAILED");
Deno.exit(ok ? 0 : 1);
