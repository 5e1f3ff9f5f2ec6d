import assert from "node:assert/strict";
import { agentStatsDocument } from "../tests/support/agent_stats_document.ts";
import { connectRemoteFleet, startUrl } from "./agent_fleet.ts";

Deno.test("the stats URL comes from the agent's JSON start line only", () => {
  assert.equal(
    startUrl(
      '{"ts":"t","level":"info","component":"agent","event":"start","http":"http://127.0.0.1:40001"}',
    ),
    "http://127.0.0.1:40001",
  );
  assert.equal(startUrl('{"event":"restore","note":"start"}'), null);
  assert.equal(startUrl('{"event":"start","http":null}'), null);
  assert.equal(startUrl("fraudstream: start failed"), null);
});

function fakeAgent(doc: unknown) {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json(doc),
  );
}

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("remote agents: the ones that answer are used, the others named", async () => {
  const topics = agentStatsDocument().topics;
  const up = fakeAgent(
    agentStatsDocument({
      group: "fleet-a",
      topics: { ...topics, transactions: "prod.transactions" },
    }),
  );
  const old = fakeAgent({ role: "agent", group: "fleet-a" });
  const down = closedPort();
  try {
    const fleet = await connectRemoteFleet([
      `127.0.0.1:${up.addr.port}`,
      `127.0.0.1:${old.addr.port}`,
      `http://127.0.0.1:${down}`,
    ], 2000);
    assert.deepEqual(fleet.urls, [`http://127.0.0.1:${up.addr.port}`]);
    assert.equal(fleet.group, "fleet-a");
    assert.equal(fleet.topic, "prod.transactions");
    assert.deepEqual(fleet.unreachable.map((u) => u.url), [
      `http://127.0.0.1:${old.addr.port}`,
      `http://127.0.0.1:${down}`,
    ]);
    assert.match(fleet.unreachable[0].error, /^\/stats: agent stats version none/);
    await fleet.stop();
  } finally {
    await up.shutdown();
    await old.shutdown();
  }
});

Deno.test("remote agents: none answering, or two groups, is a clear error", async () => {
  const down = closedPort();
  await assert.rejects(
    () => connectRemoteFleet([`127.0.0.1:${down}`], 1000),
    new RegExp(`none of the agents answered: http://127\\.0\\.0\\.1:${down} \\(`),
  );
  const a = fakeAgent(agentStatsDocument({ group: "a" }));
  const b = fakeAgent(agentStatsDocument({ group: "b" }));
  try {
    await assert.rejects(
      () => connectRemoteFleet([`127.0.0.1:${a.addr.port}`, `127.0.0.1:${b.addr.port}`], 1000),
      /different consumer groups \(a, b\)/,
    );
  } finally {
    await a.shutdown();
    await b.shutdown();
  }
});
