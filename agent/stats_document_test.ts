import assert from "node:assert/strict";
import { StatsDocumentError } from "../http/stats_document.ts";
import { topicNames } from "../kafka/topics.ts";
import { agentStatsDocument } from "../tests/support/agent_stats_document.ts";
import { AgentStats } from "./agent_stats.ts";
import { OnlineQuality } from "./online_quality.ts";
import { AGENT_STATS_VERSION, parseAgentStats } from "./stats_document.ts";

function liveDocument() {
  const stats = new AgentStats("agent-1", "g", "transactions", {
    name: "m",
    version: "7",
    threshold: 0.5,
    registry: null,
  }, new OnlineQuality(0.5));
  stats.scored.add(3);
  stats.recordDlq("bad_json");
  stats.lag.set(2, 40);
  stats.e2eLatencyMs.observe(12);
  stats.lastRestore = { partitions: [2], messages: 10, ms: 4, from_snapshot: [2] };
  return stats.toJson({
    assigned: [2],
    labels: agentStatsDocument().labels,
    exactlyOnce: true,
    engine: { outOfOrder: 0, tooOld: 0, saturated: 0 },
    topics: topicNames("p."),
    snapshots: { interval_ms: 30_000, sent: 3, last_error: null },
  });
}

Deno.test("what an agent serves on /stats is what its readers parse, through JSON", () => {
  const served = liveDocument();
  const read = parseAgentStats(JSON.parse(JSON.stringify(served)));
  assert.deepEqual(read, served);
  assert.equal(read.version, AGENT_STATS_VERSION);
  assert.deepEqual(read.lag, {
    total: 40,
    partitions: [{ topic: "transactions", partition: 2, lag: 40 }],
  });
  assert.equal(read.dlq_reasons.bad_json, 1);
});

Deno.test("a document of another version, role or shape is refused in one line", () => {
  const refused = (json: unknown) => {
    try {
      parseAgentStats(json);
    } catch (err) {
      assert.ok(err instanceof StatsDocumentError, String(err));
      assert.ok(!err.message.includes("\n"), err.message);
      return err.message;
    }
    assert.fail("accepted");
  };
  const { version: _, ...unversioned } = agentStatsDocument();
  assert.equal(
    refused(unversioned),
    `agent stats version none (an older release); this reader needs version ${AGENT_STATS_VERSION}: run one fraudstream release on both sides`,
  );
  const newer = AGENT_STATS_VERSION + 1;
  assert.match(
    refused({ ...agentStatsDocument(), version: newer }),
    new RegExp(`^agent stats version ${newer}; `),
  );
  assert.equal(
    refused({ ...agentStatsDocument(), role: "producer" }),
    'expected the stats of role "agent", got role "producer"',
  );
  assert.equal(refused([1]), "not a stats document (expected a JSON object)");
  const doc = agentStatsDocument();
  assert.equal(
    refused({ ...doc, lag: { ...doc.lag, partitions: [{ topic: "t", partition: "0", lag: 1 }] } }),
    `agent stats version ${AGENT_STATS_VERSION} with a wrong field: lag.partitions[0].partition: expected a number, got a string`,
  );
  assert.equal(
    refused({ ...doc, rates: { ...doc.rates, scored: undefined } }),
    `agent stats version ${AGENT_STATS_VERSION} with a wrong field: rates.scored: expected an object, got nothing`,
  );
});
