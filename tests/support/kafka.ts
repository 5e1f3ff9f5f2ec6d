import { type LocalKafka, startLocalKafka } from "../../kafka/local/local_kafka.ts";
import { createKafkaClient, type KafkaClient, type KafkaClientKind } from "../../kafka/boundary.ts";

/**
 * The broker a test file talks to: the suite's shared one when tests/suite.ts started it
 * (FRAUDSTREAM_TEST_BROKERS), else one started for this file and stopped when it unloads.
 */
let own: Promise<LocalKafka> | undefined;

export async function testBrokers(): Promise<string[]> {
  const shared = Deno.env.get("FRAUDSTREAM_TEST_BROKERS");
  if (shared) return shared.split(",");
  own ??= startLocalKafka();
  const kafka = await own;
  globalThis.addEventListener("unload", () => void kafka.stop());
  return kafka.brokers;
}

/**
 * The client library the Kafka tests run on: FRAUDSTREAM_KAFKA_CLIENT, as for every command (the
 * agents and producers a test starts inherit it), so the suite runs once per client.
 */
export function testClientKind(): KafkaClientKind {
  return (Deno.env.get("FRAUDSTREAM_KAFKA_CLIENT") as KafkaClientKind | undefined) || "kafkajs";
}

/** A client of the test broker, or of `brokers` (a cluster the test started itself). */
export async function testKafka(
  clientId = "fraudstream-test",
  brokers?: string[],
): Promise<KafkaClient> {
  return await createKafkaClient({
    brokers: brokers ?? await testBrokers(),
    clientId,
    securityProtocol: "plaintext",
    connectTimeoutMs: 10_000,
    client: testClientKind(),
  });
}

/** A topic prefix no other test uses, so tests never see each other's records. */
export function uniquePrefix(name: string): string {
  return `test.${name}.${crypto.randomUUID().slice(0, 8)}.`;
}

/** A new topic, named `${uniquePrefix(name)}${kind}`, of `partitions` partitions on the client. */
export async function freshTopic(
  client: KafkaClient,
  name: string,
  kind: string,
  partitions: number,
): Promise<string> {
  const topic = `${uniquePrefix(name)}${kind}`;
  const admin = await client.admin();
  try {
    await admin.createTopics([{ topic, partitions, replicationFactor: 1 }]);
  } finally {
    await admin.close();
  }
  return topic;
}

/** Kafka clients keep sockets and timers beyond a test's end; the broker tests opt out. */
export const kafkaTest = { sanitizeOps: false, sanitizeResources: false };

/** Runs the CLI as a user would and captures its output. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../main.ts", import.meta.url).pathname, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    ms: performance.now() - started,
  };
}
