// First: installs the fixed send before kafkajs loads (the boundary does the same).
import "../kafkajs_patches.ts";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { createKafkaClient } from "../boundary.ts";
import { startLocalKafka } from "../local/local_kafka.ts";
import { kafkaTest, testClientKind } from "../../tests/support/kafka.ts";

/**
 * The case kafkajs 2.2.4 gets wrong, made on purpose on real nodes: partition 0 led by node 1,
 * partition 1 by node 2; the producer learns that, then node 2 takes over partition 0 while node 1
 * stays up. The next send to both partitions gets NOT_LEADER from node 1 and an answer from node 2;
 * kafkajs' retry then skipped partition 0 (node 2 had answered) and resolved without writing it.
 * The send goes through the client under test (FRAUDSTREAM_KAFKA_CLIENT): both must write it.
 */
Deno.test({
  name: "a send retried after a leader moved to a broker that already answered writes every record",
  ...kafkaTest,
}, async () => {
  const cluster = await startLocalKafka({ nodes: 3, heap: "256m" });
  try {
    const topic = "moved-leader";
    const kafka = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{
        topic,
        replicaAssignment: [{ partition: 0, replicas: [1, 2] }, { partition: 1, replicas: [2, 1] }],
        configEntries: [{ name: "min.insync.replicas", value: "1" }],
      }],
    });
    await admin.disconnect();
    const client = await createKafkaClient({
      brokers: cluster.brokers,
      clientId: "moved-leader-test",
      securityProtocol: "plaintext",
      connectTimeoutMs: 10_000,
    }, testClientKind());
    const output = await client.output();
    const send = (tag: string) =>
      output.send([{
        topic,
        records: [0, 1].map((p) => ({ key: null, value: `${tag}${p}`, partition: p })),
      }]);
    await send("before");
    await cluster.moveLeader(topic, 0, 1);
    await send("after");
    await output.close();

    const admin2 = await client.admin();
    const ends = new Map(
      (await admin2.partitionOffsets(topic)).map((p) => [p.partition, p.latest]),
    );
    await admin2.close();
    const values: string[] = [];
    await client.readHistory(topic, ends, (batch) => {
      for (let i = 0; i < batch.length; i++) {
        values.push(new TextDecoder().decode(batch.value(i)!));
      }
    });
    assert.deepEqual(values.sort(), ["after0", "after1", "before0", "before1"]);
  } finally {
    await cluster.stop();
  }
});
