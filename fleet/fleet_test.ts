import assert from "node:assert/strict";
import { AGENT_STATS_VERSION } from "../agent/stats_document.ts";
import type { StatsDocumentHead } from "../http/stats_document.ts";
import { startStatsServer, type StatsServer } from "../http/stats_server.ts";
import { agentStatsDocument } from "../tests/support/agent_stats_document.ts";
import { withAbsentPath } from "../tests/support/absent_path.ts";
import { runCli } from "../tests/support/kafka.ts";
import type { FleetSnapshot } from "./fleet_table.ts";

/** Two live stats endpoints serving agent /stats documents, plus one dead URL. */

function agentStats(instance: string, scored10s: number, lag: number, p99: number, dlq: number) {
  const summary = { count: 5000, mean: 15, p50: 20.1, p95: 40.2, p99, max: 90 };
  return agentStatsDocument({
    instance,
    uptime_s: 314,
    model: { name: "fraudstream-fraud", version: "573e1adcc216", threshold: 0.5, registry: null },
    consumed: 120_000,
    scored: 119_990,
    dlq,
    duplicates: 2,
    errors: 1,
    rates: {
      consumed: { "1s": scored10s + 3, "10s": scored10s + 1, "60s": scored10s },
      scored: { "1s": scored10s + 2, "10s": scored10s, "60s": scored10s - 1 },
      dlq: { "1s": 0, "10s": 0, "60s": 0 },
    },
    e2e_latency_ms: summary,
    lag: {
      total: lag,
      partitions: [
        { topic: "transactions", partition: 0, lag: lag - 10 },
        { topic: "transactions", partition: 1, lag: 10 },
      ],
    },
    assigned_partitions: [0, 1],
  });
}

async function serve(doc: StatsDocumentHead): Promise<StatsServer> {
  return await startStatsServer({ hostname: "127.0.0.1", port: 0 }, {
    healthy: () => true,
    readiness: () => ({ ok: true }),
    stats: () => doc,
    metrics: () => "",
  });
}

function deadUrl(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return `127.0.0.1:${port}`;
}

Deno.test("fleet: one row per agent, a total, and the dead agent listed as down", async () => {
  const a = await serve(agentStats("vm1-agent-1", 412.5, 120, 35.25, 3));
  const b = await serve(agentStats("vm2-agent-1", 87.5, 30, 12, 0));
  // An agent of an older release, whose document has no version: down, saying why.
  const old = await serve({ role: "agent", instance: "vm3-agent-1", uptime_s: 9 } as never);
  const dead = deadUrl();
  try {
    const agents = `${a.url},${b.url}/stats,${old.url},${dead}`;
    const table = await runCli(["fleet", "--agents", agents, "--timeout", "2s"]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split("\n");
    assert.match(
      lines[0],
      /^AGENT\s+INSTANCE\s+STATE\s+PARTS\s+SCORED\/S 10s\s+LAG\s+E2E P99 ms\s+DLQ\s+ERRORS$/,
    );
    assert.match(
      lines[1],
      new RegExp(`^${a.url}\\s+vm1-agent-1\\s+up\\s+2\\s+412\\.5\\s+120\\s+35\\.3\\s+3\\s+1$`),
    );
    assert.match(
      lines[2],
      new RegExp(`^${b.url}\\s+vm2-agent-1\\s+up\\s+2\\s+87\\.5\\s+30\\s+12\\.0\\s+0\\s+1$`),
    );
    for (const [line, url] of [[lines[3], old.url], [lines[4], `http://${dead}`]]) {
      assert.match(line, new RegExp(`^${url}\\s+-\\s+DOWN\\s+-\\s+-\\s+-\\s+-\\s+-\\s+-$`));
    }
    assert.match(lines[5], /^TOTAL \(2 of 4 up\)\s+500\.0\s+150\s+max 35\.3\s+3\s+2$/);
    assert.equal(
      lines[6],
      `down: ${old.url}: /stats: agent stats version none (an older release); this reader needs version ${AGENT_STATS_VERSION}: run one fraudstream release on both sides`,
    );
    assert.match(lines[7], new RegExp(`^down: http://${dead}: .*Connection refused`));
    assert.equal(lines.length, 8);

    const json = await runCli(["fleet", "--json"], { FRAUDSTREAM_AGENTS: agents });
    assert.equal(json.code, 0, json.stderr);
    const snap: FleetSnapshot = JSON.parse(json.stdout);
    assert.deepEqual(snap.total, {
      agents: 4,
      up: 2,
      scored_per_s_10s: 500,
      consumed_per_s_10s: 502,
      lag: 150,
      e2e_p99_ms_max: 35.25,
      dlq: 3,
      errors: 2,
    });
    assert.equal(snap.agents[0].model, "fraudstream-fraud 573e1adcc216");
    assert.equal(snap.agents[2].up, false);
    assert.equal(snap.kafka, undefined);
  } finally {
    await a.shutdown();
    await b.shutdown();
    await old.shutdown();
  }
});

Deno.test("fleet: an agent that hangs past --timeout is down; --watch refreshes", async () => {
  const hung = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // accepts, never answers
  const a = await serve(agentStats("vm1-agent-1", 10, 0, 5, 0));
  const file = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    await Deno.writeTextFile(
      file,
      `# agents of the test\n${a.url}\n127.0.0.1:${(hung.addr as Deno.NetAddr).port}\n`,
    );
    const started = performance.now();
    const out = await runCli(["fleet", "--agents-file", file, "--timeout", "300ms", "--json"]);
    assert.ok(performance.now() - started < 10_000);
    const snap: FleetSnapshot = JSON.parse(out.stdout);
    assert.deepEqual(snap.agents.map((r) => [r.up, r.error]), [[true, null], [
      false,
      "no answer within 0.3s",
    ]]);

    const watch = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../main.ts", import.meta.url).pathname,
        "fleet",
        "--agents",
        a.url,
        "--watch",
        "0.2",
        "--json",
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = watch.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (text.split("\n").length < 3) text += (await reader.read()).value ?? "";
    watch.kill("SIGTERM");
    await reader.cancel();
    await watch.status;
    const [first, second] = text.split("\n").map((l) => l && JSON.parse(l));
    assert.ok(second.at > first.at, "each refresh is a new snapshot");
  } finally {
    hung.close();
    await a.shutdown();
    await Deno.remove(file);
  }
});

Deno.test("fleet: usage errors are one line and exit 2; all agents down exits 1", async () => {
  const none = await runCli(["fleet"]);
  assert.equal(none.code, 2);
  assert.equal(
    none.stderr,
    "fraudstream: fleet: pass --agents, --agents-file or --brokers (see fraudstream fleet --help)\n",
  );
  await withAbsentPath(async (absent) => {
    const missing = await runCli(["fleet", "--agents-file", absent]);
    assert.equal(missing.code, 1);
    assert.ok(
      missing.stderr.startsWith(`fraudstream: --agents-file ${absent}: `),
      missing.stderr,
    );
    assert.match(missing.stderr, /No such file/);
  });
  const down = await runCli(["fleet", "--agents", deadUrl()]);
  assert.equal(down.code, 1);
  assert.match(down.stdout, /TOTAL \(0 of 1 up\)/);
});
