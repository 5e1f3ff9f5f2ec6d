import { FAULTS_MATRIX, PLATFORMATIC_ENV } from "./client_matrix.ts";
import { denoTestsOnBroker, finish, requireTools } from "./suite.ts";

/**
 * `deno task test:faults`: the long-running scenarios in tests/faults/ (kill -9 of agents, a
 * broker outage, a node of a 3-node cluster down, an overloaded agent's knee, MLflow on
 * PostgreSQL and S3 with a model hot swap, poison input, SASL faults), kept out of
 * `deno task test` so that it stays quick to run. CI runs both. Extra arguments are passed to
 * `deno test` (e.g. --filter).
 */
await requireTools();
let ok = await denoTestsOnBroker("fault scenarios", ["tests/faults/", ...Deno.args]);
// Scenarios again on the second client (tests/client_matrix.ts); none at present. An empty list
// must not reach `deno test`, which would run every test in the repository.
if (ok && Deno.args.length === 0 && FAULTS_MATRIX.length > 0) {
  ok = await denoTestsOnBroker(
    "kill scenarios on @platformatic/kafka",
    FAULTS_MATRIX,
    PLATFORMATIC_ENV,
  );
}
finish(ok);
