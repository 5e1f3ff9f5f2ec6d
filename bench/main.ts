/**
 * `deno task bench NAME`: runs one benchmark by name, so that each bench file stays a plain
 * script (deno run bench/x_bench.ts works too) and the task list stays short.
 */
const BENCHES: Record<string, { file: string; summary: string }> = {
  agent: {
    file: "./agent_bench.ts",
    summary:
      "one agent end to end vs the Kafka client consume-only (tx/s, ratio), produce-only, ONNX alone, latency at 400 tx/s; --binary PATH: compiled vs deno run",
  },
  "agent-cpu": {
    file: "./agent_cpu_bench.ts",
    summary:
      "--other DIR and/or --python: this checkout's agent against another checkout's and/or the Python baseline consumer (bench/python_consumer), alternated on one topic (CPU µs per message, ratio to Python)",
  },
  "kill-gap": {
    file: "./kill_gap_bench.ts",
    summary:
      "the scoring gap of one kill -9 among 3 agents: kafkajs, @platformatic/kafka, and with --static-membership",
  },
  data: {
    file: "./data_bench.ts",
    summary: "generator, file reader and row parser throughput (rows/s)",
  },
  "load-driver": {
    file: "./load_driver_bench.ts",
    summary:
      "the capacity planner's load driver: CPU µs per transaction (its label too), flat out and at 20,000 and 60,000 tx/s",
  },
  producer: {
    file: "./producer_bench.ts",
    summary: "producer's highest send rate to a broker, pacing error at 50, 400 and 5,000 tx/s",
  },
  restore: {
    file: "./restore_bench.ts",
    summary:
      "a restarted agent's time to ready against 1, 7 and 30 days of partition history (restore s)",
  },
  features: {
    file: "./features_bench.ts",
    summary: "feature engine rows/s, state bytes per customer, ONNX batch scoring rows/s",
  },
};

const [name, ...args] = Deno.args;
const bench = name !== undefined && Object.hasOwn(BENCHES, name) ? BENCHES[name] : undefined;
if (!bench) {
  const width = Math.max(...Object.keys(BENCHES).map((n) => n.length));
  console.error(
    [
      name === undefined ? "usage: deno task bench NAME [args]" : `unknown benchmark "${name}"`,
      "benchmarks:",
      ...Object.entries(BENCHES).map(([n, b]) => `  ${n.padEnd(width)}  ${b.summary}`),
    ].join("\n"),
  );
  Deno.exit(2);
}
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL(bench.file, import.meta.url).pathname, ...args],
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
Deno.exit((await child.status).code);
