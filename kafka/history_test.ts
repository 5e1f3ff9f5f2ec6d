import assert from "node:assert/strict";
import { freshTopic, kafkaTest, testKafka } from "../tests/support/kafka.ts";

/**
 * A restore from a state snapshot reads each partition's history from the snapshot's offset to the
 * committed one: a record before the start would be counted twice in the rebuilt state, a record
 * missed would be absent from it. Three partitions: one from a start, one from its earliest
 * offset, one whose start is its end (nothing to read).
 */
Deno.test({
  name: "readHistory reads exactly [start, end) of each partition, and nothing commits",
  ...kafkaTest,
}, async () => {
  const client = await testKafka();
  const topic = await freshTopic(client, "history", "transactions", 3);
  const output = await client.output();
  await output.send([{
    topic,
    records: [0, 1, 2].flatMap((partition) =>
      Array.from({ length: 40 }, (_, i) => ({ key: null, value: `${partition}-${i}`, partition }))
    ),
  }]);
  await output.close();

  const ends = new Map([[0, 30n], [1, 25n], [2, 40n]]);
  const starts = new Map([[0, 12n], [2, 40n]]);
  const read = new Map<number, string[]>();
  const count = await client.readHistory(topic, ends, (batch) => {
    const values = read.get(batch.partition) ?? [];
    for (let i = 0; i < batch.length; i++) {
      values.push(`${batch.offset(i)}:${new TextDecoder().decode(batch.value(i)!)}`);
    }
    read.set(batch.partition, values);
  }, starts);

  const expected = (partition: number, from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => `${from + i}:${partition}-${from + i}`);
  assert.deepEqual(read.get(0), expected(0, 12, 30));
  assert.deepEqual(read.get(1), expected(1, 0, 25));
  assert.equal(read.get(2), undefined);
  assert.equal(count, 18 + 25);
});
