import { requireTool } from "./local_kafka.ts";
import { ensureMavenJars } from "../../java/maven_jars.ts";

const POM = new URL("./pom.xml", import.meta.url).pathname;

/** Returns a directory holding the Kafka broker's jars, fetching them with Maven on first use. */
export async function ensureKafkaJars(): Promise<string> {
  await requireTool("mvn", ["-v"], "Maven (mvn) and a JDK 17+");
  return await ensureMavenJars(POM, "kafka", "the local Kafka broker");
}

/** `deno run -A kafka/local/kafka_jars.ts` prints the jars' directory (deploy/vmlab's broker VM). */
if (import.meta.main) {
  try {
    console.log(await ensureKafkaJars());
  } catch (err) {
    console.error(`kafka jars: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
