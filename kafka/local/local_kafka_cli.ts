import { parseArgs } from "node:util";
import { startLocalKafka } from "./local_kafka.ts";

/**
 * `deno task broker [--nodes 3] [--sasl]`: runs a local Kafka in the foreground, prints its
 * bootstrap address as FRAUDSTREAM_BROKERS=..., and stops it cleanly on Ctrl-C or SIGTERM.
 */
const { values } = parseArgs({
  args: Deno.args,
  options: { nodes: { type: "string", default: "1" }, sasl: { type: "boolean", default: false } },
  strict: true,
});
if (values.nodes !== "1" && values.nodes !== "3") {
  console.error("broker: --nodes must be 1 or 3");
  Deno.exit(2);
}
try {
  const kafka = await startLocalKafka({ nodes: values.nodes === "3" ? 3 : 1, sasl: values.sasl });
  console.log(`FRAUDSTREAM_BROKERS=${kafka.brokers.join(",")}`);
  if (values.sasl) {
    console.log(`sasl_ssl brokers: ${kafka.saslBrokers.join(",")}  ca: ${kafka.caFile}`);
    for (const u of kafka.users) {
      console.log(`  user ${u.username} (${u.mechanism}) password ${u.password}`);
    }
  }
  console.log("local Kafka is running; Ctrl-C stops it and deletes its data");
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", resolve);
    Deno.addSignalListener("SIGTERM", resolve);
  });
  await kafka.stop();
  Deno.exit(0);
} catch (err) {
  console.error(`broker: ${err instanceof Error ? err.message : err}`);
  Deno.exit(1);
}
