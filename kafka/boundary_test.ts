import assert from "node:assert/strict";

/**
 * A fresh process that reaches Kafka only through the boundary, the way every command does: the
 * kafkajs client it gets runs with the speedups, whatever the importer loaded first.
 */
const PROBE = `
import { createRequire } from "node:module";
import { createKafkaClient } from "./kafka/boundary.ts";
const client = await createKafkaClient({
  brokers: ["127.0.0.1:9"], clientId: "probe", securityProtocol: "plaintext", connectTimeoutMs: 1000,
});
// Imported only now: importing it is what installs the speedups.
const { groupMessagesPerPartition, crc32c } = await import("./kafka/kafkajs_speedups.ts");
const require = createRequire(import.meta.url);
console.log(JSON.stringify({
  details: client.details,
  grouping: require("kafkajs/src/producer/groupMessagesPerPartition.js") === groupMessagesPerPartition,
  crc: require("kafkajs/src/protocol/recordBatch/crc32C/index.js") === crc32c,
}));
`;

Deno.test("a kafkajs client made through the boundary runs with the speedups installed", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", PROBE],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const probe = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(probe, {
    details: { client: "kafkajs", kafkajs_speedups: true },
    grouping: true,
    crc: true,
  });
});
