import { PLATFORMATIC_ENV } from "./client_matrix.ts";
import { denoTestsOnBroker, finish, requireTools } from "./suite.ts";

/**
 * `deno task test:platformatic`: every Deno test of tests/ and the kill -9 scenarios of
 * tests/faults/, on @platformatic/kafka instead of kafkajs (FRAUDSTREAM_KAFKA_CLIENT). Extra
 * arguments are passed to `deno test` (e.g. a file or --filter).
 */
await requireTools();
finish(
  await denoTestsOnBroker("deno tests on @platformatic/kafka", [
    "tests/",
    "--ignore=tests/faults/broker_outage_test.ts,tests/faults/cluster_test.ts,tests/faults/capacity_knee_test.ts,tests/faults/mlflow_model_test.ts",
    ...Deno.args,
  ], PLATFORMATIC_ENV),
);
