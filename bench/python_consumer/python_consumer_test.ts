import assert from "node:assert/strict";
import { ensureTopics, topicNames } from "../../kafka/topics.ts";
import {
  AGENT_TEST_DATA,
  freshTopics,
  groupDrained,
  outputs,
} from "../../tests/support/agent_group.ts";
import { kafkaTest, testBrokers, testKafka } from "../../tests/support/kafka.ts";
import {
  generateData,
  produceFiles,
  type ReadMessage,
  startAgent,
  waitFor,
} from "../../tests/support/pipeline.ts";
import { setupPythonConsumer, spawnPythonConsumer } from "./python_consumer.ts";

/** A prediction's value without its last field, latency_ms: the only one that depends on timing. */
function withoutLatency(value: string): string {
  const at = value.lastIndexOf(',"latency_ms":');
  assert(at > 0 && value.endsWith("}"), `not a prediction value: ${value}`);
  return value.slice(0, at);
}

/** Per transaction id (ids are reused by other customers), the sorted predictions. */
function byKey(predictions: ReadMessage[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const p of predictions) {
    assert.deepEqual(Object.keys(p.headers), [], "predictions carry no headers");
    const line = `partition ${p.partition} ${withoutLatency(p.value!.toString())}`;
    m.set(p.key!.toString(), [...(m.get(p.key!.toString()) ?? []), line].sort());
  }
  return m;
}

/** A DLQ record as compared: key, value bytes and every header. */
function dlqLine(m: ReadMessage): string {
  const headers = Object.entries(m.headers).map(([k, v]) => `${k}=${v}`).sort().join(" ");
  return `${m.key?.toString() ?? "null"} ${m.value?.toString()} ${headers}`;
}

Deno.test({
  name:
    "python baseline: same predictions (all but latency_ms, and partition) and DLQ records as the agent",
  ...kafkaTest,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fraudstream-python-consumer-" });
    try {
      const [brokers] = await Promise.all([testBrokers(), setupPythonConsumer()]);
      const prefix = await freshTopics("python-consumer");
      const pythonOut = `${prefix}python.`;
      const admin = await (await testKafka()).admin();
      await ensureTopics(admin, topicNames(pythonOut), { partitions: 4, replicationFactor: 1 });
      await admin.close();
      const sent = await produceFiles(prefix, await generateData(dir, AGENT_TEST_DATA));

      const agent = await startAgent(prefix, `${prefix}agent`);
      const python = spawnPythonConsumer({
        brokers,
        topicPrefix: prefix,
        outputPrefix: pythonOut,
        group: `${prefix}python`,
        stderr: "piped",
      });
      const pythonLog = python.stderr.pipeThrough(new TextDecoderStream()).getReader().read();
      try {
        await waitFor(
          "both groups committed every message",
          async () =>
            await groupDrained(prefix, `${prefix}agent`, sent) &&
            await groupDrained(prefix, `${prefix}python`, sent),
          120_000,
        );
      } finally {
        await agent.stop();
        python.kill("SIGTERM");
      }
      const status = await python.status;
      assert.equal(status.code, 0, `python consumer: ${(await pythonLog).value ?? ""}`);

      const ours = await outputs(prefix);
      const theirs = await outputs(pythonOut);
      assert(ours.predictions.length > 10_000, `only ${ours.predictions.length} predictions`);
      assert(ours.dlq.length > 0, "the dirty data set gave no DLQ records");
      assert.equal(theirs.predictions.length, ours.predictions.length);
      const expected = byKey(ours.predictions);
      const got = byKey(theirs.predictions);
      const differing = [...expected].filter(([k, v]) => got.get(k)?.join("\n") !== v.join("\n"));
      assert.deepEqual(
        differing.slice(0, 3).map(([k, v]) => ({ key: k, agent: v, python: got.get(k) })),
        [],
        `${differing.length} of ${expected.size} transaction ids differ`,
      );
      assert.deepEqual(theirs.dlq.map(dlqLine).sort(), ours.dlq.map(dlqLine).sort());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
