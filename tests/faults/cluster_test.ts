import assert from "node:assert/strict";
import { createKafkaClient } from "../../kafka/boundary.ts";
import { startLocalKafka } from "../../kafka/local/local_kafka.ts";
import { roundTrip } from "../../kafka/round_trip.ts";
import { ensureTopics, topicNames } from "../../kafka/topics.ts";
import { kafkaTest } from "../support/kafka.ts";

Deno.test(
  { name: "a 3-node KRaft cluster keeps serving with one node down", ...kafkaTest },
  async () => {
    const cluster = await startLocalKafka({ nodes: 3, heap: "384m" });
    try {
      assert.equal(cluster.brokers.length, 3);
      const kafka = await createKafkaClient({
        brokers: cluster.brokers,
        clientId: "cluster-test",
        securityProtocol: "plaintext",
        connectTimeoutMs: 10_000,
      });
      const admin = await kafka.admin();
      const names = topicNames("cluster.");
      const topics = await ensureTopics(admin, names, { partitions: 3, replicationFactor: 3 });
      assert.ok(topics.every((t) => t.replicationFactor === 3));
      await admin.close();
      assert.equal((await roundTrip(kafka, names.transactions, 5)).received, 5);
      await cluster.stopNode(2);
      // The remaining two nodes hold a controller quorum and min.insync.replicas=2.
      assert.equal((await roundTrip(kafka, names.transactions, 5)).received, 5);
    } finally {
      await cluster.stop();
    }
  },
);
