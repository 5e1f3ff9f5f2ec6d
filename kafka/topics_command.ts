import { defineCommand } from "../cli/command.ts";
import { positiveInt } from "../cli/values.ts";
import { createKafkaClient } from "./boundary.ts";
import { CONNECTION_FLAGS, connectionSettings } from "./connection.ts";
import { describeTopics, ensureTopics, TOPIC_PREFIX_FLAG, topicNames } from "./topics.ts";

export const command = defineCommand({
  name: "topics",
  summary: "create the project's topics if missing, or describe them (idempotent)",
  flags: {
    ...CONNECTION_FLAGS,
    partitions: {
      type: "string",
      value: "N",
      description: "partitions of transactions and predictions",
      default: "6",
    },
    "replication-factor": {
      type: "string",
      value: "N",
      description: "replicas per partition",
      default: "1",
    },
    ...TOPIC_PREFIX_FLAG,
    describe: { type: "boolean", description: "only describe, create nothing" },
    json: { type: "boolean", description: "print JSON instead of a table" },
  },
  examples: [
    "fraudstream topics --brokers 127.0.0.1:9092 --partitions 12",
    "fraudstream topics --brokers b1:9096 --security-protocol sasl_ssl --sasl-username app --ssl-ca-file ca.pem --describe",
  ],
}, async (flags) => {
  const settings = await connectionSettings(flags);
  const layout = {
    partitions: positiveInt("partitions", flags.partitions),
    replicationFactor: positiveInt("replication-factor", flags["replication-factor"]),
  };
  const names = topicNames(flags["topic-prefix"]);
  const client = await createKafkaClient({ ...settings, clientId: `${settings.clientId}-topics` });
  const admin = await client.admin();
  try {
    const states = flags.describe
      ? await describeTopics(admin, Object.values(names))
      : await ensureTopics(admin, names, layout);
    if (flags.json) {
      console.log(JSON.stringify(states));
    } else {
      for (const s of states) {
        const status = s.partitions === 0 ? "missing" : s.created ? "created" : "exists";
        console.log(
          `${
            s.topic.padEnd(28)
          } partitions=${s.partitions} replicas=${s.replicationFactor} ${status}`,
        );
      }
    }
    return states.some((s) => s.partitions === 0) ? 1 : 0;
  } finally {
    await admin.close();
  }
});
