import assert from "node:assert/strict";
import { lastLines } from "./local_kafka.ts";

Deno.test("a node that died names its fault, the exception under it and the root cause", () => {
  const log = [
    "[2026-12-07 22:21:40,001] WARN a warning first (kafka.server.BrokerServer)",
    "[2026-12-07 22:21:41,186] ERROR Encountered fatal fault: Error starting LogManager (org.apache.kafka.server.fault.ProcessTerminatingFaultHandler)",
    "org.apache.kafka.common.KafkaException: Failed to load logs",
    "\tat kafka.log.LogManager.loadLogs(LogManager.scala:460)",
    "\t... 12 more",
    "Caused by: java.nio.file.NoSuchFileException: /tmp/x/node-1/data/.lock",
    "\tat sun.nio.fs.UnixException.translateToIOException(UnixException.java:92)",
    "[2026-12-07 22:21:41,190] INFO shutting down (kafka.server.KafkaRaftServer)",
  ].join("\n");
  assert.equal(
    lastLines(log),
    "[2026-12-07 22:21:41,186] ERROR Encountered fatal fault: Error starting LogManager (org.apache.kafka.server.fault.ProcessTerminatingFaultHandler)" +
      " | org.apache.kafka.common.KafkaException: Failed to load logs" +
      " | Caused by: java.nio.file.NoSuchFileException: /tmp/x/node-1/data/.lock",
  );
});

Deno.test("a node that died without an error shows its last two lines", () => {
  assert.equal(
    lastLines("[t] INFO one (x)\n[t] INFO two (x)\n[t] INFO three (x)\n"),
    "[t] INFO two (x) | [t] INFO three (x)",
  );
});
