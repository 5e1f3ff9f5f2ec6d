import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { isTransient, sendRetry } from "./config.ts";

/** kafkajs' own errors, as its protocol and network layers build them. */
const require = createRequire(import.meta.url);
const { createErrorFromCode } = require("kafkajs/src/protocol/error.js");
const { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSSASLAuthenticationError } =
  require("kafkajs/src/errors.js");

Deno.test("refused connections and leader changes are transient; bad credentials are not", () => {
  assert.ok(isTransient(new KafkaJSConnectionError("Connection error: connect ECONNREFUSED")));
  // 6 NOT_LEADER_OR_FOLLOWER, 5 LEADER_NOT_AVAILABLE: a failover in progress.
  assert.ok(isTransient(createErrorFromCode(6)));
  assert.ok(isTransient(createErrorFromCode(5)));
  // kafkajs' admin gives up at once on fetchTopicOffsets, wrapping the cause it bailed on.
  const refused = new KafkaJSConnectionError("Connection error");
  const wrapped = new KafkaJSNonRetriableError(refused, { cause: refused });
  assert.ok(isTransient(wrapped));
  assert.equal(isTransient(new KafkaJSSASLAuthenticationError("SASL SCRAM failed")), false);
  const untrusted = new KafkaJSConnectionError("self-signed certificate in certificate chain");
  assert.equal(isTransient(untrusted), false);
  // 10 MESSAGE_TOO_LARGE never goes away by itself.
  assert.equal(isTransient(createErrorFromCode(10)), false);
  // 3 UNKNOWN_TOPIC_OR_PARTITION: a restarted broker's metadata may lag behind the cluster's.
  assert.ok(isTransient(createErrorFromCode(3)));
});

Deno.test("the send retries add up to the budget even when every wait comes out short", () => {
  for (const budgetMs of [1_000, 10_000, 30_000]) {
    const { retries, initialRetryTime, maxRetryTime } = sendRetry(budgetMs);
    let total = 0;
    for (let k = 0, wait = initialRetryTime; k < retries; k++) {
      total += 0.8 * wait;
      wait = Math.min(wait * 2, maxRetryTime);
    }
    assert.ok(total >= budgetMs, `${budgetMs}: ${retries} retries, ${total} ms`);
  }
});
