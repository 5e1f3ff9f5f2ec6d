import { Hono } from "hono";
import { addProcessMetrics } from "../metrics/process_metrics.ts";
import { PrometheusText } from "./prometheus.ts";
import type { StatsDocumentHead } from "./stats_document.ts";

/** What a process (agent, producer) tells its stats endpoint. */
export interface StatsSource {
  /** Liveness: false only when the process is wedged and should be restarted. */
  healthy(): boolean;
  /** Readiness: every named check must pass. */
  readiness(): Record<string, boolean>;
  /** Facts shown beside the checks on /readyz (the agent's label lag in event time). */
  readinessDetail?(): Record<string, unknown>;
  /** The /stats JSON document. */
  stats(): StatsDocumentHead;
  /** The process's own /metrics, Prometheus text format; the process_* metrics are added. */
  metrics(): string;
}

export interface StatsServer {
  /** Base URL with the port actually bound (port 0 picks a free one). */
  url: string;
  port: number;
  shutdown(): Promise<void>;
}

export function statsApp(source: StatsSource): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => {
    const ok = source.healthy();
    return c.json({ status: ok ? "ok" : "unhealthy" }, ok ? 200 : 503);
  });
  app.get("/readyz", (c) => {
    const checks = source.readiness();
    const ready = Object.values(checks).every(Boolean);
    return c.json({ ready, checks, ...source.readinessDetail?.() }, ready ? 200 : 503);
  });
  app.get("/stats", (c) => c.json(source.stats()));
  app.get("/metrics", (c) => {
    const body = source.metrics() + addProcessMetrics(new PrometheusText()).toString();
    return c.body(body, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  app.notFound((c) =>
    c.json({ error: "not found", endpoints: ["/healthz", "/readyz", "/stats", "/metrics"] }, 404)
  );
  return app;
}

export function startStatsServer(
  listen: { hostname: string; port: number },
  source: StatsSource,
): Promise<StatsServer> {
  const app = statsApp(source);
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: listen.hostname,
        port: listen.port,
        onListen: (addr) => {
          const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
          resolve({
            url: `http://${host}:${addr.port}`,
            port: addr.port,
            shutdown: () => server.shutdown(),
          });
        },
      }, app.fetch);
    } catch (err) {
      reject(err);
    }
  });
}
