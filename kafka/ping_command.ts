import { defineCommand } from "../cli/command.ts";
import { positiveInt } from "../cli/values.ts";
import { createKafkaClient } from "./boundary.ts";
import { CONNECTION_FLAGS, connectionSettings, withinConnectTimeout } from "./connection.ts";
import { roundTrip } from "./round_trip.ts";

export const command = defineCommand({
  name: "ping",
  summary: "produce a few records to a topic and read them back (checks brokers and credentials)",
  flags: {
    ...CONNECTION_FLAGS,
    topic: {
      type: "string",
      value: "TOPIC",
      description: "topic to use (created if missing)",
      default: "fraudstream.ping",
    },
    count: { type: "string", value: "N", description: "records to round-trip", default: "5" },
  },
  examples: ["fraudstream ping --brokers 127.0.0.1:9092"],
}, async (flags) => {
  const settings = await connectionSettings(flags);
  const count = positiveInt("count", flags.count);
  const client = await createKafkaClient({ ...settings, clientId: `${settings.clientId}-ping` });
  const result = await withinConnectTimeout(
    { ...settings, connectTimeoutMs: settings.connectTimeoutMs + 30_000 },
    "round-trip records",
    () => roundTrip(client, flags.topic, count),
  );
  console.log(
    `ping: ${result.received}/${count} records through ${flags.topic} at ${
      settings.brokers.join(",")
    } in ${result.ms} ms`,
  );
  return result.received === count ? 0 : 1;
});
