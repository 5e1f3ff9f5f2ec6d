import assert from "node:assert/strict";
import { DAY_MS, FeatureEngine } from "../features/feature_engine.ts";
import type { KafkaClient } from "../kafka/boundary.ts";
import { kafkaTest, testKafka, uniquePrefix } from "../tests/support/kafka.ts";
import { waitFor } from "../tests/support/pipeline.ts";
import {
  encodeLabel,
  encodeWatermark,
  newLabelRecord,
  WATERMARK_KEY,
} from "../transactions/label_record.ts";
import { LabelFeed } from "./label_feed.ts";
import { LabelJoin } from "./label_join.ts";
import { OnlineQuality } from "./online_quality.ts";

const T0 = Date.UTC(2018, 3, 1);
const PARTITIONS = 2;
const LABELS = 40;

/** Writes a watermark at `eventTimeMs` to every partition, after the labels before it. */
async function writeWatermark(client: KafkaClient, topic: string, eventTimeMs: number) {
  const output = await client.output();
  try {
    const value = encodeWatermark({ eventTimeMs });
    const records = Array.from({ length: PARTITIONS }, (_, partition) => ({
      key: WATERMARK_KEY,
      value,
      partition,
    }));
    await output.send([{ topic, records }]);
  } finally {
    await output.close();
  }
}

/** A labels topic of LABELS labels over the first days, then a watermark covering them. */
async function labelsTopic(client: KafkaClient): Promise<string> {
  const topic = `${uniquePrefix("feed")}labels`;
  const admin = await client.admin();
  await admin.createTopics([{ topic, partitions: PARTITIONS, replicationFactor: 1 }]);
  await admin.close();
  const l = newLabelRecord();
  const records = Array.from({ length: LABELS }, (_, i) => {
    l.transactionId = i;
    l.terminalId = i % 5;
    l.eventTimeMs = T0 + (i % 10) * DAY_MS;
    l.fraud = i % 3 === 0 ? 1 : 0;
    return { key: String(l.terminalId), value: encodeLabel(l), partition: i % PARTITIONS };
  });
  const output = await client.output();
  try {
    await output.send([{ topic, records }]);
  } finally {
    await output.close();
  }
  await writeWatermark(client, topic, T0 + 10 * DAY_MS);
  return topic;
}

/** A feed started on a fresh labels topic, once it has read the topic through. */
async function feedOfLabels() {
  const client = await testKafka("label-feed-test");
  const topic = await labelsTopic(client);
  const join = new LabelJoin(new FeatureEngine());
  const feed = new LabelFeed(client, topic, join, new OnlineQuality(0.5));
  await feed.start(uniquePrefix("feed-group"));
  await waitFor(
    "the first read",
    () => Promise.resolve(join.watermarkMs >= T0 + 10 * DAY_MS),
    30_000,
  );
  assert.equal(join.applied, LABELS);
  return { client, topic, join, feed };
}

Deno.test({
  name: "a rewind reads every label again into the rewound join; two in a row read them once more",
  ...kafkaTest,
}, async () => {
  const { client, topic, join, feed } = await feedOfLabels();
  try {
    // The second rewind supersedes the first before its reader opened: only its reader reads.
    await Promise.all([feed.rewind(), feed.rewind()]);
    // A watermark written after the rewinds: once the join has it, the reader read everything.
    await writeWatermark(client, topic, T0 + 20 * DAY_MS);
    await waitFor(
      "the read after rewinds",
      () => Promise.resolve(join.watermarkMs >= T0 + 20 * DAY_MS),
      30_000,
    );
    assert.equal(join.rewinds, 2);
    assert.equal(join.applied, 2 * LABELS, "each label applied once per read");
  } finally {
    await feed.stop();
  }
});

Deno.test({
  name: "a rewind asked after stop opens no reader",
  ...kafkaTest,
}, async () => {
  const { client, topic, join, feed } = await feedOfLabels();
  await feed.stop();
  await feed.rewind();
  await writeWatermark(client, topic, T0 + 20 * DAY_MS);
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal(join.applied, LABELS, "nothing read after stop");
  assert.equal(join.watermarkMs, -Infinity, "the rewound join stays empty");
});
