import type { PrometheusText } from "../http/prometheus.ts";
import { bootTimeSeconds, readProcStat } from "./proc_stat.ts";

/** Whether /proc describes this process: Linux, and not hidden from it by a sandbox. */
const PROC = Deno.build.os === "linux" && readable();

function readable(): boolean {
  try {
    readProcStat("self");
    bootTimeSeconds();
    return true;
  } catch {
    return false;
  }
}

/**
 * The process's start (epoch seconds): from /proc, as every Prometheus client on Linux reports
 * it; elsewhere the runtime's time origin, which is within milliseconds of it.
 */
const START_TIME_S = PROC
  ? bootTimeSeconds() + readProcStat("self").startAfterBootSeconds
  : performance.timeOrigin / 1000;

/**
 * The standard process metrics every Prometheus client exposes under these names, so the
 * usual dashboards and alerts (CPU, memory, restarts) work on the agent and the producer.
 */
export function addProcessMetrics(p: PrometheusText): PrometheusText {
  if (PROC) {
    p.sample(
      "process_cpu_seconds_total",
      "counter",
      "Total user and system CPU time spent in seconds.",
      readProcStat("self").cpuSeconds,
    );
  }
  const memory = Deno.memoryUsage();
  p.sample("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", memory.rss);
  // prom-client's names for the JavaScript heap: with RSS they tell a growing live set from
  // memory held outside it (buffers, ONNX Runtime, the allocator).
  p.sample(
    "nodejs_heap_size_used_bytes",
    "gauge",
    "Process heap size used from Node.js in bytes.",
    memory.heapUsed,
  );
  p.sample(
    "nodejs_heap_size_total_bytes",
    "gauge",
    "Process heap size from Node.js in bytes.",
    memory.heapTotal,
  );
  p.sample(
    "nodejs_external_memory_bytes",
    "gauge",
    "Node.js external memory size in bytes.",
    memory.external,
  );
  p.sample(
    "process_start_time_seconds",
    "gauge",
    "Start time of the process since unix epoch in seconds.",
    START_TIME_S,
  );
  return p;
}
