import assert from "node:assert/strict";

/**
 * A fresh process that reaches Kafka only through the boundary, the way every command does: the
 * kafkajs client it gets runs with the patches, whatever the importer loaded first.
 */
const PROBE = `
import { createRequire } from "node:module";
import { createKafkaClient } from "./kafka/boundary.ts";
const client = await createKafkaClient({
  brokers: ["127.0.0.1:9"], clientId: "probe", securityProtocol: "plaintext", connectTimeoutMs: 1000,
});
// Imported only now: importing it is what installs the patches.
const { crc32c } = await import("./kafka/kafkajs_patches.ts");
const { createSendMessages } = await import("./kafka/kafkajs/send_messages.ts");
const require = createRequire(import.meta.url);
console.log(JSON.stringify({
  details: client.details,
  send: require("kafkajs/src/producer/sendMessages.js") === createSendMessages,
  crc: require("kafkajs/src/protocol/recordBatch/crc32C/index.js") === crc32c,
}));
`;

Deno.test("a kafkajs client made through the boundary runs with the patches installed", async () => {
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
    details: { client: "kafkajs", kafkajs_patches: true },
    send: true,
    crc: true,
  });
});
