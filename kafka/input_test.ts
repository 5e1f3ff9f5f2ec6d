import assert from "node:assert/strict";
import { freshTopic, kafkaTest, testKafka } from "../tests/support/kafka.ts";
import { waitFor } from "../tests/support/pipeline.ts";

/**
 * The agent resumes a partition when the labels it waits for arrive, whenever that is: while the
 * client restarts its consumer after a broker failover, or after the input stopped. kafkajs has no
 * consumer group in either window and throws from pause and resume, and the agent's resume runs in
 * a promise callback: the throw ended the agent ("Uncaught (in promise) ... Consumer group was not
 * initialized") in the controller-kill fault test. The input keeps what is paused itself.
 */
Deno.test({
  name: "pause and resume are safe outside a running group, and a paused partition stays paused",
  ...kafkaTest,
}, async () => {
  const client = await testKafka();
  const topic = await freshTopic(client, "pause", "transactions", 2);
  const output = await client.output();
  await output.send([{
    topic,
    records: [0, 1].flatMap((partition) =>
      Array.from({ length: 5 }, (_, i) => ({ key: null, value: `${partition}-${i}`, partition }))
    ),
  }]);
  await output.close();

  const input = client.input({ group: `${topic}group`, topic, start: "earliest", commit: "none" });
  // Paused before the group exists: the partition is held from the first join.
  input.pause(0);
  const read = new Map<number, number>();
  await input.start((batch) => {
    read.set(batch.partition, (read.get(batch.partition) ?? 0) + batch.length);
    return Promise.resolve();
  });
  await waitFor("partition 1 read", () => Promise.resolve(read.get(1) === 5), 30_000);
  // Long enough for several idle fetches of the unpaused partition.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(read.get(0), undefined, "partition 0 was paused before the group joined");

  input.resume(0);
  await waitFor("partition 0 read after resume", () => Promise.resolve(read.get(0) === 5), 30_000);
  input.pause(1);
  await input.stop();
  assert.doesNotThrow(() => input.resume(1), "resume after stop");
  assert.doesNotThrow(() => input.pause(0), "pause after stop");
});
