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
 * The fault suite repeats none of its scenarios on this client now; `deno task test:platformatic`
 * still runs them all there, and shows these failures:
 * - tests/faults/agent_kill_test.ts (a kill with no restart, so the group waits for the dead
 *   member's session to expire): it did not drain within 90 s (at least once) and let 73
 *   duplicates through to a read_committed reader (exactly once) in a CI run.
 * - tests/faults/event_time_join_kill_test.ts (kill -9 and restart, rebalances while scoring):
 *   passed in the CI runs before the heap limit of cli/v8_flags.ts and the kafkajs codec patches,
 *   then, in a fresh-clone CI run and here, the group did not drain within 120 s (at least once)
 *   and not every transaction was scored (exactly once); with a 4 GiB heap it drained, but a
 *   streamed score differed from the offline one. Not yet explained.
 */
export const PLATFORMATIC_ENV = { FRAUDSTREAM_KAFKA_CLIENT: "platformatic" };

export const MAIN_SUITE_MATRIX = [
  "tests/agent_test.ts",
  "tests/producer_test.ts",
  "tests/topics_test.ts",
  "tests/snapshot_restore_test.ts",
];

export const FAULTS_MATRIX: string[] = [];
