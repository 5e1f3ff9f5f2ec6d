import assert from "node:assert/strict";
import { ensureTopics, topicNames } from "../kafka/topics.ts";
import { roundTrip } from "../kafka/round_trip.ts";
import { kafkaTest, runCli, testBrokers, testKafka, uniquePrefix } from "./support/kafka.ts";

Deno.test({ name: "topics are created once and then left as they are", ...kafkaTest }, async () => {
  const admin = await (await testKafka()).admin();
  try {
    const names = topicNames(uniquePrefix("topics"));
    const first = await ensureTopics(admin, names, { partitions: 4, replicationFactor: 1 });
    assert.deepEqual(first.map((t) => [t.topic, t.partitions, t.created]), [
      [names.transactions, 4, true],
      [names.predictions, 4, true],
      [names.dlq, 1, true],
      [names.labels, 1, true],
      [names.state, 4, true],
    ]);
    const again = await ensureTopics(admin, names, { partitions: 8, replicationFactor: 1 });
    assert.deepEqual(again.map((t) => [t.partitions, t.created]), [
      [4, false],
      [4, false],
      [1, false],
      [1, false],
      [4, false],
    ]);
  } finally {
    await admin.close();
  }
});

Deno.test(
  { name: "the topics command is idempotent from the command line", ...kafkaTest },
  async () => {
    const brokers = (await testBrokers()).join(",");
    const prefix = uniquePrefix("cli");
    const args = [
      "topics",
      "--brokers",
      brokers,
      "--topic-prefix",
      prefix,
      "--partitions",
      "3",
      "--json",
    ];
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(JSON.parse(first.stdout).every((t: { created: boolean }) => t.created));
    const second = await runCli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.ok(JSON.parse(second.stdout).every((t: { created: boolean }) => !t.created));
    const described = await runCli(["topics", "--describe", "--json", "--topic-prefix", prefix], {
      FRAUDSTREAM_BROKERS: brokers,
    });
    assert.equal(JSON.parse(described.stdout)[0].partitions, 3);
  },
);

Deno.test(
  { name: "records sent through the Kafka boundary are read back", ...kafkaTest },
  async () => {
    const result = await roundTrip(await testKafka(), `${uniquePrefix("roundtrip")}ping`, 10);
    assert.equal(result.received, 10);
    assert.deepEqual(
      result.values.map((v) => v.split(":")[1]),
      Array.from({ length: 10 }, (_, i) => `${i}`),
    );
  },
);
