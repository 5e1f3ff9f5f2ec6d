import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { isRebalance } from "./rebalance.ts";

/** kafkajs' own errors, as its protocol layer builds them from a broker's error code. */
const { createErrorFromCode } = createRequire(import.meta.url)("kafkajs/src/protocol/error.js");

Deno.test("a rebalance is told apart from a real failure", () => {
  // 27 REBALANCE_IN_PROGRESS, 22 ILLEGAL_GENERATION, 16 NOT_COORDINATOR_FOR_GROUP.
  for (const code of [27, 22, 16]) assert.ok(isRebalance(createErrorFromCode(code)), `${code}`);
  // 10 MESSAGE_TOO_LARGE, 3 UNKNOWN_TOPIC_OR_PARTITION.
  for (const code of [10, 3]) assert.equal(isRebalance(createErrorFromCode(code)), false);
  assert.equal(isRebalance(new Error("The group is rebalancing")), false);
  assert.equal(isRebalance(null), false);
});
