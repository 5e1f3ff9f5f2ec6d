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
import { HOSTILE_KINDS, hostileMessage, validRow } from "../../tests/support/hostile_input.ts";
import { Rng } from "../../producer/prng.ts";
import { parseRow } from "../../transactions/parse_row.ts";
import { RowState } from "../../transactions/row_fields.ts";
import { newTransaction } from "../../transactions/transaction.ts";
import { setupPythonConsumer, spawnPythonConsumer } from "./python_consumer.ts";

/**
 * Messages after the generated days, keyed by customer as the producer keys rows (a customer's
 * rows in one partition, in order): every hostile kind but the 1 MB values (past the topic's
 * message size), for customers of their own, and valid CSV and JSON rows of 2019, out of order,
 * for 50 customers of the data set, the last 20 of them twice. Both wire formats, the reject
 * reasons the kinds reach, the duplicate rule, the ring clearing of a jump of a year and the late
 * and too-old rules are then compared too.
 */
function extraMessages(): { key: string; value: Uint8Array }[] {
  const rng = new Rng(16, 0);
  const tx = newTransaction();
  const messages: { key: string; value: Uint8Array }[] = [];
  for (const kind of HOSTILE_KINDS.filter((k) => k !== "megabyte")) {
    for (let n = 0; n < 40; n++) {
      const value = hostileMessage(rng, kind, 1e12 + messages.length, 100_000 + rng.below(1e5));
      // One that parses (a "-0" customer is customer 0) goes where its customer's rows are.
      const good = parseRow(value, 0, value.length, tx, new RowState()) === null;
      messages.push({ key: good ? String(tx.customerId) : "hostile", value });
    }
  }
  for (let n = 0; n < 200; n++) {
    const customer = rng.below(50);
    const value = new TextEncoder().encode(validRow(rng, 2e12 + n, customer, rng.below(2) === 1));
    messages.push({ key: String(customer), value });
  }
  // Sent again: the same id of the same customer is a duplicate.
  return [...messages, ...messages.slice(-20)];
}

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
      const extra = extraMessages();
      const sent = extra.length +
        await produceFiles(prefix, await generateData(dir, AGENT_TEST_DATA));
      const output = await (await testKafka()).output();
      await output.send([{
        topic: topicNames(prefix).transactions,
        records: extra,
      }]);
      await output.close();

      // The 2019 rows wait for a label watermark that never comes: a second, not the default 10.
      const agent = await startAgent(prefix, `${prefix}agent`, ["--label-wait", "1s"]);
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
      const reasons = new Set(ours.dlq.map((m) => m.headers["fraudstream.reason"]!.toString()));
      assert(reasons.size >= 10, `only DLQ reasons ${[...reasons]}`);
      assert(reasons.has("duplicate_transaction_id"), `only DLQ reasons ${[...reasons]}`);
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
