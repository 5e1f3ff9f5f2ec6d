import assert from "node:assert/strict";
import { freshTopic, kafkaTest, testKafka } from "../tests/support/kafka.ts";
import { readTopic } from "../tests/support/pipeline.ts";

/**
 * The broker takes at most message.max.bytes (1,048,588 by default) per partition's record batch.
 * 10,000 label-sized records in one send are ~1.3 MB: sent as one batch the broker refuses them
 * ("The request included a message larger than the max message size"), which made `produce`
 * exit when many labels fell due at once. The output cuts them by bytes.
 */
Deno.test({
  name: "a send over the broker's message size limit goes through, cut by bytes, in order",
  ...kafkaTest,
}, async () => {
  const client = await testKafka();
  const topic = await freshTopic(client, "bytes", "labels", 1);
  const value = "x".repeat(120);
  const records = Array.from({ length: 10_000 }, (_, i) => ({ key: String(i), value }));
  const output = await client.output();
  try {
    await output.send([{ topic, records }]);
  } finally {
    await output.close();
  }
  const back = await readTopic(client, topic);
  assert.equal(back.length, records.length);
  assert.ok(back.every((m, i) => m.key!.toString() === String(i)), "in send order");
});

Deno.test({
  name: "one send larger than the limit setting fails with the broker's own reason",
  ...kafkaTest,
}, async () => {
  const client = await testKafka();
  const topic = await freshTopic(client, "too-big", "dlq", 1);
  // A request limit above the broker's: the record batch reaches the broker whole.
  const output = await client.output({ maxRequestBytes: 4 << 20 });
  try {
    const records = Array.from({ length: 3 }, () => ({ key: null, value: "y".repeat(500_000) }));
    await assert.rejects(output.send([{ topic, records }]), /larger than the max message size/);
  } finally {
    await output.close();
  }
});
