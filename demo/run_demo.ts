import { startLocalKafka } from "../kafka/local/local_kafka.ts";

/**
 * `deno task demo`: the whole story on the embedded defaults. Starts a local Kafka broker unless
 * FRAUDSTREAM_BROKERS names one, then runs the fraudstream commands a user would, and cleans up.
 */
const main = new URL("../main.ts", import.meta.url).pathname;

async function fraudstream(args: string[], env: Record<string, string>): Promise<void> {
  console.log(`\n$ fraudstream ${args.join(" ")}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, ...args],
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!status.success) throw new Error(`fraudstream ${args[0]} exited with ${status.code}`);
}

const external = Deno.env.get("FRAUDSTREAM_BROKERS");
const started = performance.now();
const kafka = external ? undefined : await startLocalKafka();
const brokers = external ?? kafka!.brokers.join(",");
console.log(external ? `using brokers ${brokers}` : `started a local Kafka broker at ${brokers}`);
const env = { FRAUDSTREAM_BROKERS: brokers };
let code = 0;
try {
  await fraudstream(["topics", "--partitions", "6"], env);
  await fraudstream(["ping", "--count", "10"], env);
  console.log(`\ndemo finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} catch (err) {
  console.error(`demo: ${err instanceof Error ? err.message : err}`);
  code = 1;
} finally {
  await kafka?.stop();
}
Deno.exit(code);
