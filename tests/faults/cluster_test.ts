import assert from "node:assert/strict";
import { createKafkaClient } from "../../kafka/boundary.ts";
import { startLocalKafka } from "../../kafka/local/local_kafka.ts";
import { roundTrip } from "../../kafka/round_trip.ts";
import { ensureTopics, topicNames } from "../../kafka/topics.ts";
import {
  accountedIds,
  groupOffsets,
  lostIds,
  outputs,
  partitionProgress,
} from "../support/agent_group.ts";
import type { AgentStatsDocument } from "../../agent/stats_document.ts";
import { kafkaTest, testKafka, uniquePrefix } from "../support/kafka.ts";
import {
  type AgentProcess,
  generateData,
  inputId,
  inputLines,
  multiset,
  produceFiles,
  readTopic,
  startAgent,
  waitFor,
} from "../support/pipeline.ts";

Deno.test(
  { name: "a 3-node KRaft cluster keeps serving with one node down", ...kafkaTest },
  async () => {
    const cluster = await startLocalKafka({ nodes: 3, heap: "384m" });
    try {
      assert.equal(cluster.brokers.length, 3);
      const kafka = await createKafkaClient({
        brokers: cluster.brokers,
        clientId: "cluster-test",
        securityProtocol: "plaintext",
        connectTimeoutMs: 10_000,
      });
      const admin = await kafka.admin();
      const names = topicNames("cluster.");
      const topics = await ensureTopics(admin, names, { partitions: 3, replicationFactor: 3 });
      assert.ok(topics.every((t) => t.replicationFactor === 3));
      await admin.close();
      assert.equal((await roundTrip(kafka, names.transactions, 5)).received, 5);
      await cluster.stopNode(2);
      // The remaining two nodes hold a controller quorum and min.insync.replicas=2.
      assert.equal((await roundTrip(kafka, names.transactions, 5)).received, 5);
    } finally {
      await cluster.stop();
    }
  },
);

/**
 * The 3-node cluster under load: kill -9 of the node leading a partition of `transactions` while
 * the producer sends and three agents score, then (that node back) kill -9 of the active KRaft
 * controller. Producer and agents carry on through both failovers and nothing is lost.
 */
Deno.test(
  { name: "kill -9 of a partition leader, then of the controller, while scoring", ...kafkaTest },
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "fraudstream-cluster-failover-" });
    const cluster = await startLocalKafka({ nodes: 3, heap: "384m" });
    const brokers = cluster.brokers;
    const agents: AgentProcess[] = [];
    let producing: Promise<number> | undefined;
    try {
      const files = await generateData(dir, [
        "--customers",
        "2000",
        "--terminals",
        "4000",
        "--days",
        "20",
        "--seed",
        "5",
      ]);
      const prefix = uniquePrefix("failover");
      const names = topicNames(prefix);
      const kafka = await testKafka("failover-test", brokers);
      const admin = await kafka.admin();
      await ensureTopics(admin, names, { partitions: 6, replicationFactor: 3 });
      await admin.close();
      const fullIsr = async () => {
        for (const topic of [names.transactions, names.predictions, names.labels]) {
          const replicas = await cluster.partitionReplicas(topic);
          if (!replicas.every((p) => p.isr.length === 3)) return false;
        }
        return true;
      };
      const group = "failover";
      for (let i = 0; i < 3; i++) {
        agents.push(await startAgent(prefix, group, ["--instance-id", `f${i}`], brokers));
      }
      const exited = agents.map(() => false);
      agents.forEach((a, i) => a.child.status.then(() => (exited[i] = true)));
      // 77,092 transactions at 400 tx/s last about 190 s: longer than both failovers took here
      // (docs/measurements.md), so each kill lands while there is input left to commit.
      producing = produceFiles(prefix, files, ["--rate", "400"], brokers);
      let produced = false;
      // Awaited once the failovers are done; a failure before that must not go unhandled.
      producing.then(() => (produced = true), () => {});
      // Once in a CI run 60 s were not enough on the 2 shared cores: 90 s, and what each agent
      // was doing when it times out.
      let starting: AgentStatsDocument[] = [];
      await waitFor("scoring under way", async () => {
        starting = await Promise.all(agents.map((a) => a.stats()));
        return starting.every((x) => x.scored > 500);
      }, 90_000).catch((e) => {
        throw new Error(
          `${e.message}: ` + starting.map((x, i) =>
            `agent f${i} scored ${x.scored}, partitions [${x.assigned_partitions}], waiting ` +
            `[${x.labels.waiting_partitions}], label watermark ${x.labels.watermark}`
          ).join("; ") + "\n" +
            agents.map((a, i) =>
              `agent f${i}:\n${a.log.slice(-6).join("\n")}`
            ).join("\n"),
        );
      });
      const recoveries: number[] = [];
      const failover = async (node: number) => {
        if (produced) {
          // Everything sent may already be committed: "committing again" could never happen.
          throw new Error(`the producer finished before the kill of node ${node}: no load left`);
        }
        const before = await groupOffsets(prefix, group, brokers);
        const killedAt = performance.now();
        await cluster.killNode(node);
        let last = before;
        await waitFor(
          "the group committing again",
          // The test's own reads may fail while the cluster fails over: polled again.
          async () => (last = await groupOffsets(prefix, group, brokers).catch(() => -1)) > before,
          // After the controller kill the group took up to 60 s to commit again here
          // (docs/measurements.md): the time is reported, not asserted.
          180_000,
        ).catch(async (e) => {
          // Stuck agents, or only this test's reads? Their own counters and what they said.
          const scored = await Promise.all(
            agents.map((a) => a.stats().then((s) => s.scored, String)),
          );
          throw new Error(
            `${e.message} (node ${node} killed; committed sum ${before} before, last read ${last}; ` +
              `scored by agent ${scored.join(", ")})\n` +
              agents.map((a, i) =>
                `agent f${i}:\n` +
                a.log.filter((l) => !l.includes('"level":"info"')).slice(-6).join("\n")
              ).join("\n"),
          );
        });
        recoveries.push((performance.now() - killedAt) / 1000);
        await cluster.restartNode(node);
        await waitFor("every replica back in sync", fullIsr, 90_000);
      };
      const replicas = await cluster.partitionReplicas(names.transactions);
      await failover(replicas.find((p) => p.partition === 0)!.leader);
      await failover(await cluster.quorumLeader());

      const sent = await producing;
      let progress = await partitionProgress(prefix, group, brokers);
      await waitFor("the group drained", async () => {
        progress = await partitionProgress(prefix, group, brokers);
        return [...progress.values()].every((p) => p.committed >= p.end);
      }, 120_000).catch((e) => {
        // Which partitions stopped, and what the agents said: a timeout alone explains nothing.
        const said = agents.map((a, i) =>
          `agent f${i}:\n` +
          a.log.filter((l) => !l.includes('"level":"info"')).slice(-15).join("\n")
        );
        throw new Error(
          `${e.message}; committed/end by partition ${
            JSON.stringify(Object.fromEntries(progress))
          }\n${said.join("\n")}`,
        );
      });
      const { predictions, dlq } = await outputs(prefix, brokers);
      const expected = multiset(inputLines(files).map(inputId));
      const got = accountedIds(predictions, dlq);
      const lost = lostIds(expected, got).length;
      const duplicates = predictions.length + dlq.length - sent;
      console.log(
        `cluster failover: sent ${sent}, predictions ${predictions.length}, DLQ ${dlq.length}, ` +
          `duplicates ${duplicates}, lost ${lost}, recovery after the leader kill ${
            recoveries[0].toFixed(1)
          } s, after the controller kill ${recoveries[1].toFixed(1)} s`,
      );
      if (lost > 0) {
        // Lost by the producer (never in the input topic) or by the agents (read, not scored)?
        const missing = new Set(lostIds(expected, got));
        const input = await readTopic(await testKafka(undefined, brokers), names.transactions);
        const found = input.filter((m) => missing.has(inputId(m.value!.toString())));
        assert.fail(
          `${lost} ids lost; in the transactions topic: ${
            found.map((m) => `${inputId(m.value!.toString())}@${m.partition}:${m.offset}`).join(" ")
          }; committed/end ${JSON.stringify(Object.fromEntries(progress))}`,
        );
      }
      assert.ok(duplicates >= 0);
      assert.deepEqual(
        exited,
        [false, false, false],
        `every agent rode out both failovers:\n${
          agents.filter((_, i) => exited[i]).map((a) => a.log.slice(-8).join("\n")).join("\n")
        }`,
      );
    } finally {
      await producing?.catch(() => {});
      await Promise.all(agents.map((a) => a.stop()));
      await cluster.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
