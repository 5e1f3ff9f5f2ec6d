import assert from "node:assert/strict";
import { kafkaTest } from "../support/kafka.ts";
import {
  accountedIds,
  AGENT_TEST_DATA,
  freshTopics,
  groupDrained,
  lostIds,
  outputs,
  outputsAccountingFor,
} from "../support/agent_group.ts";
import {
  generateData,
  inputId,
  inputLines,
  multiset,
  produceFiles,
  startAgent,
  waitFor,
} from "../support/pipeline.ts";

/**
 * kill -9 of one of three agents while the producer sends: nothing is lost, and duplicates stay
 * within what each mode promises.
 */
const dataDir = await Deno.makeTempDir({ prefix: "fraudstream-agent-kill-test-" });
const files = await generateData(dataDir, AGENT_TEST_DATA);
const lines = inputLines(files);
globalThis.addEventListener("unload", () => Deno.removeSync(dataDir, { recursive: true }));

for (const exactlyOnce of [false, true]) {
  const mode = exactlyOnce
    ? "exactly-once: zero duplicates for a read_committed reader"
    : "at-least-once: duplicates bounded by one batch per partition";
  Deno.test(
    { name: `kill -9 one of three agents mid-stream: nothing lost; ${mode}`, ...kafkaTest },
    async () => {
      const prefix = await freshTopics(exactlyOnce ? "eos" : "alo", 6);
      const group = exactlyOnce ? "gk-eos" : "gk-alo";
      const maxBatch = 200;
      const args = ["--max-batch", String(maxBatch), ...(exactlyOnce ? ["--exactly-once"] : [])];
      const agents = await Promise.all([0, 1, 2].map(() => startAgent(prefix, group, args)));
      const producing = produceFiles(prefix, files, ["--rate", "3000"]);
      try {
        const consumed = async () =>
          (await Promise.all(agents.map((a) => a.stats()))).map((s) => s.consumed);
        await waitFor("scoring under way", async () => (await consumed()).every((n) => n > 300));
        const victim = agents[0];
        const owned = ((await victim.stats()).assigned_partitions as number[]).length;
        await victim.kill();
        const sent = await producing;
        await waitFor("the group drained", () => groupDrained(prefix, group, sent), 90_000);
        const { predictions, dlq } = exactlyOnce
          ? await outputsAccountingFor(prefix, sent, 60_000)
          : await outputs(prefix);
        const expected = multiset(lines.map(inputId));
        const got = accountedIds(predictions, dlq);
        const lost = lostIds(expected, got);
        assert.deepEqual(
          lost,
          [],
          `${lost.length} lost of ${sent}: ${predictions.length} predictions, ${dlq.length} DLQ\n` +
            agents.flatMap((a) => a.log.filter((l) => !l.includes('"info"'))).join("\n"),
        );
        const duplicates = predictions.length + dlq.length - sent;
        if (exactlyOnce) {
          assert.equal(duplicates, 0);
          assert.deepEqual(got, expected);
        } else {
          assert.ok(
            duplicates >= 0 && duplicates <= owned * maxBatch * 2,
            `${duplicates} duplicates for ${owned} partitions`,
          );
        }
      } finally {
        await producing.catch(() => {});
        await Promise.all(
          agents.slice(1).map((a) => a.stop()),
        );
      }
    },
  );
}
