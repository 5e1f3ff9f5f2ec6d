import { MAIN_SUITE_MATRIX, PLATFORMATIC_ENV } from "./client_matrix.ts";
import { denoTestsOnBroker, finish, requireTools, staticChecks, step } from "./suite.ts";

/**
 * The README's test command (`deno task test`): static checks, every Deno test but the
 * long-running scenarios of tests/faults/ (`deno task test:faults`) against one real local
 * Kafka broker, then the Python tests. Extra arguments are passed to `deno test` (e.g. a file
 * or --filter).
 */
await requireTools();
let ok = await staticChecks() &&
  await denoTestsOnBroker("deno tests", ["--ignore=tests/faults/", ...Deno.args]);
// The Kafka tests that cross the whole boundary, again on the second client (tests/client_matrix.ts).
if (ok && Deno.args.length === 0) {
  ok = await denoTestsOnBroker(
    "deno Kafka tests on @platformatic/kafka",
    MAIN_SUITE_MATRIX,
    PLATFORMATIC_ENV,
  );
}

// The trainer's tests build their own venv (model/train/setup_venv.sh) on first use.
if (ok) ok = await step("python tests (model/train)", Deno.execPath(), ["task", "test:train"]);
finish(ok);
