import assert from "node:assert/strict";
import { ensureTopics, topicNames } from "../kafka/topics.ts";
import { withAbsentPath } from "./support/absent_path.ts";
import { kafkaTest, runCli, testKafka, uniquePrefix } from "./support/kafka.ts";
import { readTopic, startAgent, waitFor } from "./support/pipeline.ts";

/** What users and feeds get wrong, and what the agent does about it. */

const GOOD = "1,2019-08-22 06:51:03,7,711,70.91,24663,0,0,0";
const JSON_ROW =
  '{"tranaction_id":2,"tx_datetime":"2019-08-22 07:00:00","customer_id":7,"terminal_id":711,' +
  '"tx_amount":12.5,"tx_time_seconds":25200,"tx_time_days":0,"tx_fraud":0,"tx_fraud_scenario":0}';

Deno.test({
  name: "bad messages become DLQ records with a reason; JSON rows are scored",
  ...kafkaTest,
}, async () => {
  const prefix = uniquePrefix("bad");
  const kafka = await testKafka();
  const admin = await kafka.admin();
  await ensureTopics(admin, topicNames(prefix), { partitions: 1, replicationFactor: 1 });
  await admin.close();
  const inputs: [string, string | null][] = [
    [GOOD, null],
    [JSON_ROW, null],
    ["", "empty_line"],
    ["#tranaction_id,tx_datetime", "header"],
    ["hello, world", "bad_field_count"],
    ["1,2,3", "bad_field_count"],
    ["x,2019-08-22 06:51:03,7,711,70.91,24663,0,0,0", "bad_transaction_id"],
    ["3,2019-08-22 06:51:03,7,711,lots,24663,0,0,0", "bad_amount"],
    ['{"transaction_id":1', "bad_json"],
    ["9".repeat(10_000), "line_too_long"],
  ];
  const output = await kafka.output();
  await output.send([{
    topic: topicNames(prefix).transactions,
    records: inputs.map(([value]) => ({ key: "7", value })),
  }]);
  await output.close();
  const agent = await startAgent(prefix, "bad");
  try {
    await waitFor("all consumed", async () => (await agent.stats()).consumed >= inputs.length);
    const predictions = await readTopic(kafka, topicNames(prefix).predictions);
    const dlq = await readTopic(kafka, topicNames(prefix).dlq);
    assert.deepEqual(predictions.map((m) => m.key!.toString()), ["1", "2"]);
    assert.deepEqual(
      dlq.map((m) => [m.value!.toString(), m.headers!["fraudstream.reason"]!.toString()]),
      inputs.filter(([, reason]) => reason !== null),
    );
    assert.equal(agent.log.filter((l) => l.includes('"level":"error"')).length, 0);
  } finally {
    assert.equal(await agent.stop(), 0);
  }
});

Deno.test("a model that cannot be loaded stops the agent with one line", async () => {
  await withAbsentPath(async (absent) => {
    const notOnnx = await Deno.makeTempFile({ suffix: ".onnx" });
    await Deno.writeTextFile(notOnnx, "not a model");
    for (
      const [model, message] of [[`${absent}/model.onnx`, /cannot read model .*no such file/], [
        notOnnx,
        /is not an ONNX model/,
      ]] as const
    ) {
      const out = await runCli(["agent", "--brokers", "127.0.0.1:9", "--model", model]);
      assert.equal(out.code, 1, out.stderr);
      assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
      assert.match(out.stderr, message);
    }
    await Deno.remove(notOnnx);
  });
});
