import assert from "node:assert/strict";
import type { FleetSnapshot } from "../fleet/fleet_table.ts";
import type { GroupLag } from "../kafka/boundary.ts";
import { kafkaTest, runCli, testBrokers, testKafka, uniquePrefix } from "./support/kafka.ts";
import { waitFor } from "./support/pipeline.ts";

Deno.test({
  name: "fleet --brokers reads the group's lag from Kafka: end offsets minus committed offsets",
  ...kafkaTest,
  fn: async () => {
    const prefix = uniquePrefix("fleet");
    const topic = `${prefix}transactions`;
    const group = `${prefix}agents`;
    const kafka = await testKafka();
    const admin = await kafka.admin();
    const output = await kafka.output();
    try {
      await admin.createTopics([{ topic, partitions: 3, replicationFactor: 1 }]);
      const rows = (partition: number, n: number) =>
        Array.from({ length: n }, (_, i) => ({ key: null, value: `row ${i}`, partition }));
      await output.send([{ topic, records: [...rows(0, 10), ...rows(1, 5), ...rows(2, 2)] }]);
      // A member of the group that handled 4 records of partition 0 and 2 of partition 2.
      const commits = new Map([[0, 4n], [2, 2n]]);
      const member = kafka.input({ group, topic, start: "earliest", commit: "coalesced" });
      const handled = new Set<number>();
      await member.start((batch, control) => {
        const next = commits.get(batch.partition);
        if (next !== undefined) control.ack(next);
        handled.add(batch.partition);
        return Promise.resolve();
      });
      await waitFor("the member read every partition", () => Promise.resolve(handled.size === 3));
      await member.stop();

      const out = await runCli([
        "fleet",
        "--brokers",
        (await testBrokers()).join(","),
        "--group",
        group,
        "--topic-prefix",
        prefix,
        "--json",
      ]);
      assert.equal(out.code, 0, out.stderr);
      const lag = (JSON.parse(out.stdout) as FleetSnapshot).kafka as GroupLag;
      assert.deepEqual(lag, {
        group,
        topic,
        total: 6 + 5 + 0,
        partitions: [
          { partition: 0, committed: 4, end: 10, lag: 6 },
          { partition: 1, committed: null, end: 5, lag: 5 },
          { partition: 2, committed: 2, end: 2, lag: 0 },
        ],
      });

      const table = await runCli([
        "fleet",
        "--brokers",
        (await testBrokers()).join(","),
        "--group",
        group,
        "--topic-prefix",
        prefix,
      ]);
      assert.match(
        table.stdout,
        new RegExp(
          `^kafka: group ${group} on ${topic}: lag 11 over 3 partitions \\(1 without a committed offset\\)$`,
          "m",
        ),
      );

      const unreachable = await runCli([
        "fleet",
        "--brokers",
        "127.0.0.1:1",
        "--connect-timeout",
        "1s",
        "--json",
      ]);
      assert.equal(unreachable.code, 0, "an unreachable broker is reported, not fatal");
      const k = (JSON.parse(unreachable.stdout) as FleetSnapshot).kafka as { error: string };
      assert.match(k.error, /^cannot reach Kafka at 127\.0\.0\.1:1/);
    } finally {
      await output.close();
      await admin.close();
    }
  },
});
