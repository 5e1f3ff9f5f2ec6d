import assert from "node:assert/strict";
import { createKafkaClient } from "../../kafka/boundary.ts";
import { startLocalKafka } from "../../kafka/local/local_kafka.ts";
import { ensureTopics, topicNames } from "../../kafka/topics.ts";
import { kafkaTest, uniquePrefix } from "../support/kafka.ts";
import { startAgent, waitFor } from "../support/pipeline.ts";
import { processMemoryBytes } from "../support/process_memory.ts";

/**
 * The agent's own broker stopped under it for a minute and started again: the agent rides it out
 * in the same process, not ready meanwhile, its memory flat while it waits.
 */
const OUTAGE_MS = 60_000;

const GOOD = "1,2019-08-22 06:51:03,7,711,70.91,24663,0,0,0";

Deno.test({
  name:
    "the broker gone for 60 s and back: not ready meanwhile, memory flat, then scoring resumes without a restart",
  ...kafkaTest,
}, async () => {
  const kafka = await startLocalKafka();
  try {
    const prefix = uniquePrefix("outage");
    const client = await createKafkaClient({
      brokers: kafka.brokers,
      clientId: "outage-test",
      securityProtocol: "plaintext",
      connectTimeoutMs: 10_000,
    });
    const admin = await client.admin();
    await ensureTopics(admin, topicNames(prefix), { partitions: 2, replicationFactor: 1 });
    await admin.close();
    const send = async (id: number) => {
      const output = await client.output();
      await output.send([{
        topic: topicNames(prefix).transactions,
        records: [{ key: "7", value: GOOD.replace(/^1,/, `${id},`) }],
      }]);
      await output.close();
    };
    await send(1);
    const agent = await startAgent(prefix, "outage", [], kafka.brokers);
    try {
      const ready = async () =>
        (await fetch(`${agent.url}/readyz`).then((r) => r.json())).checks.broker_connected;
      await waitFor("scored before the outage", async () => (await agent.stats()).scored >= 1);
      assert.equal(await ready(), true);
      await kafka.stopNode(0);
      await waitFor("readiness reports the broker gone", async () => !(await ready()), 30_000);
      assert.equal((await fetch(`${agent.url}/healthz`)).status, 200, "alive, only not ready");
      const rss = () => processMemoryBytes(agent.child.pid, "VmRSS");
      const rssAtStop = rss();
      let rssMax = rssAtStop;
      let readyDuringOutage = false;
      const outageEnds = Date.now() + OUTAGE_MS;
      while (Date.now() < outageEnds) {
        await new Promise((r) => setTimeout(r, 1000));
        rssMax = Math.max(rssMax, rss());
        if (await ready()) readyDuringOutage = true;
      }
      const restartedAt = performance.now();
      await kafka.restartNode(0);
      await send(2);
      await waitFor("scoring resumed", async () => (await agent.stats()).scored >= 2, 90_000);
      await waitFor("ready again", ready, 30_000);
      const recoveryS = (performance.now() - restartedAt) / 1000;
      console.log(
        `broker outage ${OUTAGE_MS / 1000} s: RSS at the stop ${
          (rssAtStop / 2 ** 20).toFixed(0)
        } MiB, ` +
          `max during the outage ${(rssMax / 2 ** 20).toFixed(0)} MiB, scoring and ready again ` +
          `${recoveryS.toFixed(1)} s after the broker was started`,
      );
      assert.equal(readyDuringOutage, false, "never ready while the broker is gone");
      assert.ok(rssMax - rssAtStop < 64 * 2 ** 20, `RSS grew ${rssMax - rssAtStop} bytes waiting`);
      const exited = await Promise.race([
        agent.child.status.then(() => true),
        Promise.resolve(false),
      ]);
      assert.equal(exited, false, "the same process, no crash loop");
    } finally {
      await agent.stop();
    }
  } finally {
    await kafka.stop();
  }
});

Deno.test({
  name: "an agent started while its broker is down waits for it within --connect-timeout",
  ...kafkaTest,
}, async () => {
  const kafka = await startLocalKafka();
  try {
    const prefix = uniquePrefix("late-broker");
    const client = await createKafkaClient({
      brokers: kafka.brokers,
      clientId: "late-broker-test",
      securityProtocol: "plaintext",
      connectTimeoutMs: 10_000,
    });
    const admin = await client.admin();
    await ensureTopics(admin, topicNames(prefix), { partitions: 2, replicationFactor: 1 });
    await admin.close();
    const output = await client.output();
    await output.send([{
      topic: topicNames(prefix).transactions,
      records: [{ key: "7", value: GOOD }],
    }]);
    await output.close();
    await kafka.stopNode(0);
    // Refused connections for the first seconds: the client alone gave up on them within ~2 s.
    const starting = startAgent(prefix, "late", ["--connect-timeout", "120s"], kafka.brokers);
    await new Promise((r) => setTimeout(r, 6_000));
    await kafka.restartNode(0);
    const agent = await starting;
    try {
      await waitFor("scored", async () => (await agent.stats()).scored >= 1, 90_000);
      assert.ok(agent.log.every((l) => !l.includes('"level":"error"')), agent.log.join("\n"));
    } finally {
      assert.equal(await agent.stop(), 0);
    }
  } finally {
    await kafka.stop();
  }
});
