import assert from "node:assert/strict";
import { PrometheusText } from "./prometheus.ts";
import { startStatsServer } from "./stats_server.ts";

Deno.test("stats endpoints answer with the source's state on a picked port", async () => {
  let assigned = false;
  const server = await startStatsServer({ hostname: "127.0.0.1", port: 0 }, {
    healthy: () => true,
    readiness: () => ({ brokerConnected: true, partitionsAssigned: assigned }),
    readinessDetail: () => ({ label_lag_ms: 5 }),
    stats: () => ({ processed: 42 }),
    metrics: () =>
      new PrometheusText().sample("fraudstream_processed_total", "counter", "rows", 42).toString(),
  });
  try {
    assert.ok(server.port > 0);
    assert.equal((await fetch(`${server.url}/healthz`).then((r) => r.json())).status, "ok");
    const notReady = await fetch(`${server.url}/readyz`);
    assert.equal(notReady.status, 503);
    const body = await notReady.json();
    assert.deepEqual(body.checks.partitionsAssigned, false);
    assert.equal(body.label_lag_ms, 5, "the source's details sit beside the checks");
    assigned = true;
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    assert.deepEqual(await fetch(`${server.url}/stats`).then((r) => r.json()), { processed: 42 });
    const metrics = await fetch(`${server.url}/metrics`);
    assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0.0.4/);
    assert.match(
      await metrics.text(),
      /^# HELP fraudstream_processed_total rows\n# TYPE fraudstream_processed_total counter\nfraudstream_processed_total 42\n$/,
    );
    const missing = await fetch(`${server.url}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await server.shutdown();
  }
});

Deno.test("prometheus labels are escaped", () => {
  const text = new PrometheusText().sample("x", "gauge", "h", 1, { topic: 'a"b' }).toString();
  assert.match(text, /x\{topic="a\\"b"\} 1/);
});
