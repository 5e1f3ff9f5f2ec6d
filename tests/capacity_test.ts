import assert from "node:assert/strict";
import { topicNames } from "../kafka/topics.ts";
import { agentStatsDocument } from "./support/agent_stats_document.ts";
import { kafkaTest, runCli, testBrokers, uniquePrefix } from "./support/kafka.ts";

/**
 * `fraudstream capacity`'s refusals and its checks on topics and agents, against the suite's
 * broker. The measured knee of a slowed agent is in tests/faults/capacity_knee_test.ts.
 */

Deno.test("capacity user errors are one line and exit 2", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["zero target", ["--target", "0"], /--target 0: expected a number above zero/],
    ["negative target", ["--target", "50,-400"], /--target -400: expected a non-negative number/],
    ["non-numeric target", ["--target", "lots"], /--target lots: expected a non-negative number/],
    ["empty target entry", ["--target", "50,,400"], /--target "50,,400": expected numbers/],
    [
      "more agents than partitions",
      ["--max-agents", "8", "--partitions", "6"],
      /--max-agents 8 is more than the 6 partitions/,
    ],
    ["utilisation above 1", ["--utilisation", "1.5"], /--utilisation 1.5: expected a share/],
    [
      "step shorter than settling",
      ["--step-seconds", "5", "--settle-seconds", "5"],
      /leaves fewer than 3 s/,
    ],
    [
      "reserved agent flag",
      ["--agent-args", "--http 127.0.0.1:9"],
      /--agent-args: --http is set by the planner/,
    ],
    ["agents without brokers", ["--agents", "http://127.0.0.1:9"], /--agents needs the brokers/],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, async () => {
      const out = await runCli(["capacity", ...args], { FRAUDSTREAM_BROKERS: "" });
      assert.equal(out.code, 2, `${name}: ${out.stderr}`);
      assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
      assert.match(out.stderr, message);
    });
  }
});

Deno.test("stats URLs that do not answer are named", kafkaTest, async () => {
  const port = closedPort();
  const out = await runCli([
    "capacity",
    "--agents",
    `http://127.0.0.1:${port},127.0.0.1:${port}/stats`,
    "--out",
    await Deno.makeTempDir(),
  ], { FRAUDSTREAM_BROKERS: (await testBrokers()).join(",") });
  assert.equal(out.code, 1, out.stderr);
  assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
  assert.match(
    out.stderr,
    new RegExp(`none of the agents answered: http://127\\.0\\.0\\.1:${port} \\(`),
  );
});

Deno.test("remote agents whose topics are missing are refused in one line", kafkaTest, async () => {
  const prefix = uniquePrefix("capacity-missing");
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json(agentStatsDocument({ group: "g", topics: topicNames(prefix) })),
  );
  try {
    const out = await runCli([
      "capacity",
      "--agents",
      `127.0.0.1:${server.addr.port}`,
      "--topic-prefix",
      prefix,
      "--out",
      await Deno.makeTempDir(),
    ], { FRAUDSTREAM_BROKERS: (await testBrokers()).join(",") });
    assert.equal(out.code, 1, out.stderr);
    assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
    assert.match(
      out.stderr,
      new RegExp(`missing topics ${prefix.replaceAll(".", "\\.")}transactions`),
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("existing topics are never measured on (nor deleted)", kafkaTest, async () => {
  const prefix = uniquePrefix("capacity-existing");
  const env = { FRAUDSTREAM_BROKERS: (await testBrokers()).join(",") };
  const made = await runCli(["topics", "--topic-prefix", `${prefix}n1.`], env);
  assert.equal(made.code, 0, made.stderr);
  const out = await runCli([
    "capacity",
    "--topic-prefix",
    prefix,
    "--out",
    await Deno.makeTempDir(),
  ], env);
  assert.equal(out.code, 1, out.stderr);
  assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
  assert.match(
    out.stderr,
    /topics .*n1\.transactions.* already exist: .*pick another --topic-prefix/,
  );
  const after = await runCli(["topics", "--topic-prefix", `${prefix}n1.`, "--describe"], env);
  assert.equal(after.code, 0, after.stdout);
});

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
