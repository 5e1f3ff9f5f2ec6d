/**
 * The Kafka tests that run a second time on @platformatic/kafka (kafka/platformatic/): the
 * tests take the client from FRAUDSTREAM_KAFKA_CLIENT, and so do the agents and producers they
 * start. `deno task test:platformatic` runs every Kafka test on it; the main suite and the fault
 * scenarios each repeat the few that cross every part of the boundary, so the main suite stays
 * within its time budget:
 * - agent_test: the consumer group (one agent, three splitting the partitions, a restart and its
 *   state rebuild from partition history), coalesced commits, produce with headers, DLQ.
 * - producer_test: keyed placement the Java client's way, paced sends, clean stop.
 * - topics_test: admin (create, describe) and a round trip through the boundary.
 * - snapshot_restore_test: state snapshots sent, then read back and replayed from their offsets.
 * - tests/faults/event_time_join_kill_test.ts (kill -9 and restart, rebalances while scoring, at
 *   least once and exactly once): the scenario that crosses the group, restore and transactions.
 *   It left this list for a while: on this client a read_committed reader saw aborted predictions
 *   and lost committed ones (the library's aborted-transaction filter), a commit refused in a
 *   rebalance and resent late set partitions back so the group never drained, and a restore could
 *   end where the input did not start. With the three fixed (docs/decisions.md) it passed in 8 runs
 *   of 8 here on this client, and 2 of 2 on kafkajs.
 * `deno task test:platformatic` runs every fault scenario there, tests/faults/agent_kill_test.ts
 * (a kill with no restart, the group waiting out the dead member's session) among them.
 */
export const PLATFORMATIC_ENV = { FRAUDSTREAM_KAFKA_CLIENT: "platformatic" };

export const MAIN_SUITE_MATRIX = [
  "tests/agent_test.ts",
  "tests/producer_test.ts",
  "tests/topics_test.ts",
  "tests/snapshot_restore_test.ts",
];

export const FAULTS_MATRIX = [
  "tests/faults/event_time_join_kill_test.ts",
];
