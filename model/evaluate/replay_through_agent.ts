import { parseArgs } from "node:util";
import { selfCommand } from "../../capacity/self_command.ts";
import { createKafkaClient } from "../../kafka/boundary.ts";
import { startLocalKafka } from "../../kafka/local/local_kafka.ts";
import { ensureTopics, topicNames } from "../../kafka/topics.ts";

/**
 * The model as the agent serves it: day files go through a local Kafka broker, `fraudstream
 * produce` flat out (with its label feedback) and one real `fraudstream agent`, and every
 * prediction is written to a CSV (transaction_id,customer_id,score,labels_complete) for
 * model/train/evaluate.py to compare with the offline scores. Flat out is the hardest case for
 * the label join: the agent scores as fast as it can while the labels arrive.
 *
 *   deno run -A model/evaluate/replay_through_agent.ts --out streamed.csv DAY_FILES...
 */
const { values, positionals } = parseArgs({
  options: {
    out: { type: "string" },
    model: { type: "string" },
    partitions: { type: "string", default: "6" },
  },
  allowPositionals: true,
});
if (!values.out || positionals.length === 0) {
  console.error("usage: replay_through_agent.ts --out FILE.csv [--model PATH] DAY_FILES...");
  Deno.exit(2);
}

const kafka = await startLocalKafka();
const children: Deno.ChildProcess[] = [];
try {
  const env = { FRAUDSTREAM_BROKERS: kafka.brokers.join(",") };
  const client = await createKafkaClient({
    brokers: kafka.brokers,
    clientId: "fraudstream-evaluate",
    securityProtocol: "plaintext",
    connectTimeoutMs: 10_000,
  });
  const topics = topicNames();
  const admin = await client.admin();
  await ensureTopics(admin, topics, {
    partitions: Number(values.partitions),
    replicationFactor: 1,
  });

  const self = selfCommand();
  const run = (args: string[], stderr: "inherit" | "piped") =>
    new Deno.Command(self[0], {
      args: [...self.slice(1), ...args],
      env,
      stdin: "null",
      stdout: "null",
      stderr,
    }).spawn();
  const agent = run([
    "agent",
    "--http",
    "127.0.0.1:0",
    ...(values.model ? ["--model", values.model] : []),
  ], "inherit");
  children.push(agent);
  const started = performance.now();
  const produce = await run(["produce", "--http", "off", ...positionals], "piped").output();
  const log = new TextDecoder().decode(produce.stderr);
  if (!produce.success) throw new Error(`produce failed: ${log.trim().split("\n").at(-1)}`);
  const done = log.split("\n").filter((l) =>
    l.includes('"event":"done"')
  ).map((l) => JSON.parse(l))[0];
  const sendSeconds = (performance.now() - started) / 1000;
  console.error(`replay: ${done.sent} messages sent in ${sendSeconds.toFixed(1)} s`);

  // Drained: the group committed every message (a prediction or a DLQ record each).
  for (;;) {
    const lag = await admin.groupLag("fraudstream-agents", topics.transactions);
    if (lag.partitions.length > 0 && lag.total === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const drainSeconds = (performance.now() - started) / 1000;
  console.error(`replay: the agent drained in ${drainSeconds.toFixed(1)} s`);

  const ends = new Map(
    (await admin.partitionOffsets(topics.predictions)).map((p) => [p.partition, p.latest]),
  );
  const lines = ["transaction_id,customer_id,score,labels_complete"];
  const text = new TextDecoder();
  const total = await client.readHistory(topics.predictions, ends, (batch) => {
    for (let i = 0; i < batch.length; i++) {
      const p = JSON.parse(text.decode(batch.value(i)!));
      lines.push(`${p.transaction_id},${p.customer_id},${p.score},${p.labels_complete ? 1 : 0}`);
    }
  });
  await admin.close();
  await Deno.writeTextFile(values.out, lines.join("\n") + "\n");
  console.error(`replay: ${total} predictions -> ${values.out}`);
} finally {
  for (const child of children) {
    child.kill("SIGTERM");
    await child.status;
  }
  await kafka.stop();
}
