import { createKafkaClient } from "../boundary.ts";
import { UserFacingError } from "../../cli/usage_error.ts";
import { ensureKafkaJars } from "./kafka_jars.ts";
import { makeTlsMaterial, type TlsMaterial } from "./tls_material.ts";

/**
 * A real Apache Kafka broker (or a 3-node KRaft cluster) on 127.0.0.1 for development, tests
 * and the demo. Jars come from Maven Central through kafka/local/pom.xml; storage lives in a
 * temp dir that stop() removes.
 */
export interface LocalKafkaOptions {
  /** 1 broker (default) or a 3-node KRaft cluster for failover tests. */
  nodes?: 1 | 3;
  /** Also open a SASL_SSL listener with SCRAM users and a CA made for this run. */
  sasl?: boolean;
  /** Max heap per node; small by default because CI machines have 2 cores. */
  heap?: string;
  /** How long to wait for the cluster to answer. */
  startTimeoutMs?: number;
  /**
   * SASL sessions last this long (connections.max.reauth.ms): a client must authenticate again
   * by then, so a deleted credential takes effect on open connections too, as on managed services.
   */
  saslSessionMs?: number;
}

export interface ScramUser {
  username: string;
  password: string;
  mechanism: "scram-sha-512" | "scram-sha-256";
}

export interface LocalKafka {
  /** PLAINTEXT bootstrap addresses, one per node. */
  brokers: string[];
  /** SASL_SSL bootstrap addresses, when started with sasl. */
  saslBrokers: string[];
  /** CA certificate (PEM) that signed the brokers' TLS certificates, when started with sasl. */
  caFile?: string;
  /** SCRAM users created at format time, when started with sasl. */
  users: ScramUser[];
  dir: string;
  /** Creates or changes a SCRAM user while the cluster runs (kafka-configs), when started with sasl. */
  addScramUser(user: ScramUser): Promise<void>;
  /** Deletes a SCRAM user's credential while the cluster runs: its next authentication fails. */
  deleteScramUser(user: ScramUser): Promise<void>;
  /** Stops one node (for failover tests); its data stays. */
  stopNode(index: number): Promise<void>;
  /** SIGKILL of one node: a crash, nothing flushed or handed over; its data stays. */
  killNode(index: number): Promise<void>;
  /** Index of the node that leads the KRaft controller quorum (the active controller). */
  quorumLeader(): Promise<number>;
  /** Per partition of a topic: the index of the node leading it, and the indexes in sync. */
  partitionReplicas(topic: string): Promise<{ partition: number; leader: number; isr: number[] }[]>;
  /**
   * Makes the node lead the partition, without a node going down: its replicas reordered with the
   * node first (it must be one of them), then a preferred leader election. Clients learn of it
   * only from a NOT_LEADER answer or their next metadata refresh.
   */
  moveLeader(topic: string, partition: number, index: number): Promise<void>;
  /** Starts a stopped node again on the same ports and data, and waits until it answers. */
  restartNode(index: number): Promise<void>;
  stop(): Promise<void>;
}

const SCRAM_USERS: ScramUser[] = [
  { username: "fraudstream", password: "fraudstream-secret-512", mechanism: "scram-sha-512" },
  { username: "fraudstream256", password: "fraudstream-secret-256", mechanism: "scram-sha-256" },
];

interface NodePorts {
  plaintext: number;
  controller: number;
  sasl: number;
}

export async function startLocalKafka(opts: LocalKafkaOptions = {}): Promise<LocalKafka> {
  const nodes = opts.nodes ?? 1;
  await requireTool("java", ["-version"], "a JDK 17+ (java)");
  const libs = await ensureKafkaJars();
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-kafka-" });
  const ports: NodePorts[] = [];
  for (let i = 0; i < nodes; i++) {
    ports.push({
      plaintext: freePort(),
      controller: freePort(),
      sasl: opts.sasl ? freePort() : 0,
    });
  }
  const tls = opts.sasl ? await makeTlsMaterial(dir) : undefined;
  const clusterId = randomClusterId();
  const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p.controller}`).join(",");
  const children: (Deno.ChildProcess | undefined)[] = [];
  const stopNode = async (i: number) => {
    const child = children[i];
    children[i] = undefined;
    if (child) await terminate(child);
  };
  const stop = async () => {
    await Promise.all(children.map((_, i) => stopNode(i)));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    for (let i = 0; i < nodes; i++) {
      const nodeDir = `${dir}/node-${i + 1}`;
      await Deno.mkdir(`${nodeDir}/logs`, { recursive: true });
      const config = `${nodeDir}/server.properties`;
      await Deno.writeTextFile(
        config,
        serverProperties(i + 1, nodes, ports[i], voters, nodeDir, tls, opts.saslSessionMs),
      );
      await runJava(libs, nodeDir, "kafka.tools.StorageTool", [
        "format",
        "--cluster-id",
        clusterId,
        "--config",
        config,
        ...(opts.sasl ? scramFormatArgs() : []),
      ]);
    }
    const startNode = (i: number) => {
      const nodeDir = `${dir}/node-${i + 1}`;
      children[i] = spawnJava(libs, nodeDir, opts.heap ?? "512m", [
        "kafka.Kafka",
        `${nodeDir}/server.properties`,
      ]);
    };
    for (let i = 0; i < nodes; i++) startNode(i);
    const brokers = ports.map((p) => `127.0.0.1:${p.plaintext}`);
    const timeoutMs = opts.startTimeoutMs ?? 90_000;
    await waitUntilAnswering(brokers, children, dir, timeoutMs);
    const scramConfig = async (user: ScramUser, change: string[]) => {
      await runJava(libs, `${dir}/node-1`, "kafka.admin.ConfigCommand", [
        "--bootstrap-server",
        brokers[0],
        "--alter",
        "--entity-type",
        "users",
        "--entity-name",
        user.username,
        ...change,
      ]);
    };
    const partitionReplicas = async (topic: string) => {
      const up = brokers.filter((_, i) => children[i]);
      const out = await runJava(libs, dir, "org.apache.kafka.tools.TopicCommand", [
        "--bootstrap-server",
        up.join(","),
        "--describe",
        "--topic",
        topic,
      ]);
      // "Topic: t  Partition: 0  Leader: 2  Replicas: 2,3,1  Isr: 2,3,1 ..."; node ids are 1-based.
      return [...out.matchAll(/Partition: (\d+)\s+Leader: (-?\d+)\s+Replicas: \S+\s+Isr: (\S*)/g)]
        .map((m) => ({
          partition: Number(m[1]),
          leader: Number(m[2]) - 1,
          isr: m[3].split(",").filter((x) => x !== "").map((x) => Number(x) - 1),
        }));
    };
    return {
      brokers,
      saslBrokers: opts.sasl ? ports.map((p) => `127.0.0.1:${p.sasl}`) : [],
      caFile: tls?.caFile,
      users: opts.sasl ? SCRAM_USERS : [],
      dir,
      addScramUser: (user) =>
        scramConfig(user, [
          "--add-config",
          `${user.mechanism.toUpperCase()}=[iterations=4096,password=${user.password}]`,
        ]),
      deleteScramUser: (user) =>
        scramConfig(user, ["--delete-config", user.mechanism.toUpperCase()]),
      stopNode,
      killNode: async (i: number) => {
        const child = children[i];
        children[i] = undefined;
        if (!child) return;
        child.kill("SIGKILL");
        await child.status;
      },
      quorumLeader: async () => {
        const up = ports.filter((_, i) => children[i]).map((p) => `127.0.0.1:${p.controller}`);
        const out = await runJava(libs, dir, "org.apache.kafka.tools.MetadataQuorumCommand", [
          "--bootstrap-controller",
          up.join(","),
          "describe",
          "--status",
        ]);
        const leader = /^LeaderId:\s+(\d+)/m.exec(out);
        if (!leader) throw new Error(`no LeaderId in the quorum status: ${out}`);
        return Number(leader[1]) - 1;
      },
      partitionReplicas,
      moveLeader: async (topic: string, partition: number, index: number) => {
        const up = brokers.filter((_, i) => children[i]).join(",");
        const described = await runJava(libs, dir, "org.apache.kafka.tools.TopicCommand", [
          "--bootstrap-server",
          up,
          "--describe",
          "--topic",
          topic,
        ]);
        const row = new RegExp(`Partition: ${partition}\\s+Leader: -?\\d+\\s+Replicas: (\\S+)`)
          .exec(described);
        const replicas = row?.[1].split(",").map(Number) ?? [];
        if (!replicas.includes(index + 1)) {
          throw new Error(`node ${index} holds no replica of ${topic}-${partition}: ${described}`);
        }
        const plan = `${dir}/reassign-${crypto.randomUUID().slice(0, 8)}.json`;
        await Deno.writeTextFile(
          plan,
          JSON.stringify({
            version: 1,
            partitions: [{
              topic,
              partition,
              replicas: [index + 1, ...replicas.filter((r) => r !== index + 1)],
            }],
          }),
        );
        await runJava(libs, dir, "org.apache.kafka.tools.reassign.ReassignPartitionsCommand", [
          "--bootstrap-server",
          up,
          "--reassignment-json-file",
          plan,
          "--execute",
        ]);
        await Deno.remove(plan);
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          await runJava(libs, dir, "org.apache.kafka.tools.LeaderElectionCommand", [
            "--bootstrap-server",
            up,
            "--election-type",
            "PREFERRED",
            "--topic",
            topic,
            "--partition",
            String(partition),
          ]).catch(() => {});
          const now = (await partitionReplicas(topic)).find((p) => p.partition === partition);
          if (now?.leader === index) return;
          if (Date.now() > deadline) {
            throw new Error(`node ${index} did not become the leader of ${topic}-${partition}`);
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      },
      restartNode: async (i: number) => {
        if (children[i]) return;
        startNode(i);
        await waitUntilAnswering(brokers, children, dir, timeoutMs);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function serverProperties(
  nodeId: number,
  nodes: number,
  p: NodePorts,
  voters: string,
  nodeDir: string,
  tls: TlsMaterial | undefined,
  saslSessionMs: number | undefined,
): string {
  const replication = Math.min(3, nodes);
  const listeners = [
    `PLAINTEXT://127.0.0.1:${p.plaintext}`,
    `CONTROLLER://127.0.0.1:${p.controller}`,
  ];
  const advertised = [`PLAINTEXT://127.0.0.1:${p.plaintext}`];
  if (tls) {
    listeners.push(`SASL_SSL://127.0.0.1:${p.sasl}`);
    advertised.push(`SASL_SSL://127.0.0.1:${p.sasl}`);
  }
  const lines = [
    "process.roles=broker,controller",
    `node.id=${nodeId}`,
    `controller.quorum.voters=${voters}`,
    `listeners=${listeners.join(",")}`,
    `advertised.listeners=${advertised.join(",")}`,
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${nodeDir}/data`,
    "num.partitions=1",
    "auto.create.topics.enable=false",
    `offsets.topic.replication.factor=${replication}`,
    // The default 50 partitions of __consumer_offsets are created at the first group lookup, which
    // takes a busy 2-core machine many seconds; a development broker needs few.
    "offsets.topic.num.partitions=6",
    `transaction.state.log.replication.factor=${replication}`,
    `transaction.state.log.min.isr=${Math.min(2, replication)}`,
    `share.coordinator.state.topic.replication.factor=${replication}`,
    `share.coordinator.state.topic.min.isr=${Math.min(2, replication)}`,
    // Tests and the demo join groups constantly; the default 3 s wait only slows them down.
    "group.initial.rebalance.delay.ms=0",
    "log.flush.interval.messages=9223372036854775807",
    // The log cleaner takes its dedupe buffer (128 MiB by default) in one piece from the heap when
    // the log manager starts; with a 256 MiB heap that failed now and then (OutOfMemoryError,
    // "Error starting LogManager"). A test broker's compacted topics need far less.
    "log.cleaner.dedupe.buffer.size=16777216",
    // A killed transactional producer's open transaction is aborted within seconds, not ~20 s.
    "transaction.abort.timed.out.transaction.cleanup.interval.ms=2000",
  ];
  if (tls) {
    lines.push(
      "sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256",
      "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
      "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
      "ssl.keystore.type=PKCS12",
      `ssl.keystore.location=${tls.keystoreFile}`,
      `ssl.keystore.password=${tls.keystorePassword}`,
      `ssl.key.password=${tls.keystorePassword}`,
    );
    if (saslSessionMs !== undefined) lines.push(`connections.max.reauth.ms=${saslSessionMs}`);
  }
  return lines.join("\n") + "\n";
}

function scramFormatArgs(): string[] {
  return SCRAM_USERS.flatMap((u) => [
    "--add-scram",
    `${u.mechanism.toUpperCase()}=[name=${u.username},password=${u.password}]`,
  ]);
}

function javaArgs(libs: string, nodeDir: string, heap: string, mainAndArgs: string[]): string[] {
  return [
    `-Xmx${heap}`,
    "-Xms128m",
    "-XX:+UseG1GC",
    "-XX:TieredStopAtLevel=1",
    `-Dkafka.logs.dir=${nodeDir}/logs`,
    `-Dlog4j2.configurationFile=${new URL("./log4j2.yaml", import.meta.url).pathname}`,
    "-cp",
    `${libs}/*`,
    ...mainAndArgs,
  ];
}

/** Runs a Kafka tool to its end; returns its standard output. */
async function runJava(
  libs: string,
  nodeDir: string,
  main: string,
  args: string[],
): Promise<string> {
  const out = await new Deno.Command("java", {
    args: javaArgs(libs, nodeDir, "256m", [main, ...args]),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new UserFacingError(
      `kafka ${main} failed: ${text.trim().split("\n").slice(-3).join(" | ")}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

function spawnJava(libs: string, nodeDir: string, heap: string, mainAndArgs: string[]) {
  return new Deno.Command("java", {
    args: javaArgs(libs, nodeDir, heap, mainAndArgs),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function terminate(child: Deno.ChildProcess) {
  try {
    child.kill("SIGTERM");
  } catch {
    return; // already exited
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }, 20_000);
  await child.status;
  clearTimeout(timer);
}

/** Polls every node's PLAINTEXT port with a Metadata request until all nodes are registered. */
async function waitUntilAnswering(
  brokers: string[],
  children: (Deno.ChildProcess | undefined)[],
  dir: string,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  const exited = children.map((c) => c?.status.then((s) => s.code));
  let lastError = "";
  while (Date.now() < deadline) {
    for (let i = 0; i < exited.length; i++) {
      const code = await Promise.race([exited[i], Promise.resolve("running" as const)]);
      if (code !== "running") {
        const log = await Deno.readTextFile(`${dir}/node-${i + 1}/logs/server.log`).catch(() => "");
        throw new UserFacingError(
          `local Kafka node ${i + 1} exited with code ${code}: ${lastLines(log)}`,
        );
      }
    }
    try {
      const client = await createKafkaClient({
        brokers,
        clientId: "fraudstream-local-kafka",
        securityProtocol: "plaintext",
        connectTimeoutMs: 1_000,
      });
      const admin = await client.admin();
      try {
        const count = await admin.brokerCount();
        if (count === brokers.length) {
          // Ready means consumer groups work too: the first group lookup creates the offsets
          // topic and its coordinator loads; until then every join is refused and retried with
          // backoff, which made the first test of a fresh broker take a minute on a busy machine.
          await admin.describeGroup("fraudstream-local-kafka-ready");
          return;
        }
        lastError = `${count}/${brokers.length} brokers registered`;
      } finally {
        await admin.close().catch(() => {});
      }
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new UserFacingError(
    `local Kafka did not answer within ${timeoutMs / 1000}s (${lastError}); logs in ${dir}`,
  );
}

/**
 * What a node that exited said last: its last ERROR or FATAL line with the exception logged
 * under it and that exception's root cause ("Caused by:"), which is where the reason is;
 * without an error, its last two lines.
 */
export function lastLines(text: string): string {
  const lines = text.trim().split("\n");
  const error = lines.findLastIndex((l) => / (ERROR|FATAL) /.test(l));
  if (error < 0) return lines.slice(-2).join(" | ");
  const trace = lines.slice(error + 1);
  const end = trace.findIndex((l) => l.startsWith("["));
  const below = (end < 0 ? trace : trace.slice(0, end)).filter((l) => !/^\s+(at |\.\.\.)/.test(l));
  const cause = below.findLast((l) => l.startsWith("Caused by:"));
  return [lines[error], below[0], cause].filter((l, i, all) => l && all.indexOf(l) === i)
    .join(" | ");
}

export async function requireTool(cmd: string, args: string[], what: string) {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    if (out.success) return;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  throw new UserFacingError(
    `the local Kafka broker needs ${what} and Maven (mvn) on PATH: install them (Debian: apt install openjdk-17-jdk-headless maven) or pass --brokers HOST:PORT to use an existing cluster`,
  );
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * KRaft wants a base64url-encoded 16-byte UUID. One starting with "-" would be read by the
 * storage tool as a flag, so those are drawn again.
 */
function randomClusterId(): string {
  for (;;) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    const id = btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
      .replace(/=+$/, "");
    if (!id.startsWith("-")) return id;
  }
}
