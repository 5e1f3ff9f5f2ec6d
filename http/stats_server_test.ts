import assert from "node:assert/strict";
import { PrometheusText } from "./prometheus.ts";
import { startStatsServer, statsApp, type StatsSource } from "./stats_server.ts";

function source(state: { healthy: boolean; assigned: boolean }): StatsSource {
  return {
    healthy: () => state.healthy,
    readiness: () => ({ broker_connected: true, partitions_assigned: state.assigned }),
    readinessDetail: () => ({ label_lag_ms: 5 }),
    stats: () => ({ version: 1, role: "test", instance: "t-1", uptime_s: 3 }),
    metrics: () =>
      new PrometheusText().sample("fraudstream_processed_total", "counter", "Rows.", 42)
        .toString(),
  };
}

Deno.test("/healthz is 200 while the source is healthy and 503 once it is wedged", async () => {
  const state = { healthy: true, assigned: true };
  const app = statsApp(source(state));
  const ok = await app.request("/healthz");
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { status: "ok" });
  state.healthy = false;
  const wedged = await app.request("/healthz");
  assert.equal(wedged.status, 503);
  assert.deepEqual(await wedged.json(), { status: "unhealthy" });
});

Deno.test("/readyz is 503 until every check passes, with the source's details", async () => {
  const state = { healthy: true, assigned: false };
  const app = statsApp(source(state));
  const notReady = await app.request("/readyz");
  assert.equal(notReady.status, 503);
  assert.deepEqual(await notReady.json(), {
    ready: false,
    checks: { broker_connected: true, partitions_assigned: false },
    label_lag_ms: 5,
  });
  state.assigned = true;
  const ready = await app.request("/readyz");
  assert.equal(ready.status, 200);
  assert.equal((await ready.json()).ready, true);
});

Deno.test("/stats is the source's document as JSON", async () => {
  const res = await statsApp(source({ healthy: true, assigned: true })).request("/stats");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.deepEqual(await res.json(), { version: 1, role: "test", instance: "t-1", uptime_s: 3 });
});

Deno.test("/metrics is the source's exposition followed by the process metrics", async () => {
  const res = await statsApp(source({ healthy: true, assigned: true })).request("/metrics");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  assert.ok(
    text.startsWith(
      "# HELP fraudstream_processed_total Rows.\n# TYPE fraudstream_processed_total counter\n" +
        "fraudstream_processed_total 42\n",
    ),
    text,
  );
  const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1]);
  assert.ok(value("process_resident_memory_bytes") > 1_000_000, "a Deno process holds > 1 MB");
  const heapUsed = value("nodejs_heap_size_used_bytes");
  assert.ok(heapUsed > 0 && heapUsed <= value("nodejs_heap_size_total_bytes"), `${heapUsed}`);
  assert.ok(value("nodejs_external_memory_bytes") >= 0);
  const started = value("process_start_time_seconds");
  assert.ok(started <= Date.now() / 1000 && started > Date.now() / 1000 - 3600, `${started}`);
  if (Deno.build.os === "linux") assert.ok(value("process_cpu_seconds_total") > 0);
});

Deno.test("an unknown path is a 404 that lists the endpoints", async () => {
  const res = await statsApp(source({ healthy: true, assigned: true })).request("/nope");
  assert.equal(res.status, 404);
  assert.deepEqual((await res.json()).endpoints, ["/healthz", "/readyz", "/stats", "/metrics"]);
});

Deno.test("the server binds the port asked for, or a free one for port 0", async () => {
  const server = await startStatsServer(
    { hostname: "127.0.0.1", port: 0 },
    source({ healthy: true, assigned: true }),
  );
  try {
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    assert.equal((await fetch(`${server.url}/healthz`).then((r) => r.json())).status, "ok");
  } finally {
    await server.shutdown();
  }
});

Deno.test("prometheus label values and help text are escaped", () => {
  const text = new PrometheusText().sample("x", "gauge", "a\\b\nc", 1, { topic: 'a"b' })
    .toString();
  assert.equal(text, '# HELP x a\\\\b\\nc\n# TYPE x gauge\nx{topic="a\\"b"} 1\n');
});
