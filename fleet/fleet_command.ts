import { defineCommand } from "../cli/command.ts";
import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import { durationMs, positiveNumber } from "../cli/values.ts";
import {
  CONNECTION_FLAGS,
  type ConnectionSettings,
  connectionSettings,
  errorText,
  withinConnectTimeout,
} from "../kafka/connection.ts";
import { createKafkaClient, type KafkaAdmin } from "../kafka/boundary.ts";
import { TOPIC_PREFIX_FLAG, topicNames } from "../kafka/topics.ts";
import { normalizeAgentUrl, pollAgents, totals } from "./agent_poll.ts";
import { type FleetSnapshot, renderTable } from "./fleet_table.ts";

export const command = defineCommand({
  name: "fleet",
  summary: "one table of every agent's /stats, and the consumer group's lag from Kafka",
  usage: "--agents URL,... | --agents-file FILE  [--brokers HOST:PORT ...] [flags]",
  flags: {
    agents: {
      type: "string",
      value: "URL,...",
      description: "agents' stats endpoints (http://host:port or host:port)",
    },
    "agents-file": {
      type: "string",
      value: "FILE",
      description: "file with one agent URL per line (# starts a comment)",
    },
    timeout: {
      type: "string",
      value: "DURATION",
      description: "an agent that has not answered by then is listed as down",
      default: "2s",
    },
    watch: {
      type: "string",
      value: "SECONDS",
      description: "refresh every SECONDS until interrupted",
    },
    json: { type: "boolean", description: "print JSON (one document per refresh)" },
    ...CONNECTION_FLAGS,
    group: {
      type: "string",
      value: "GROUP",
      description: "consumer group whose lag is read from Kafka (needs --brokers)",
      default: "fraudstream-agents",
    },
    ...TOPIC_PREFIX_FLAG,
  },
  examples: [
    "fraudstream fleet --agents 10.0.0.5:8081,10.0.0.5:8082,10.0.0.6:8081 --watch 5",
    "fraudstream fleet --agents-file agents.txt --brokers kafka-1:9092 --group fraudstream-agents",
  ],
}, async (flags) => {
  const urls = await agentUrls(flags.agents, flags["agents-file"]);
  const timeoutMs = durationMs("timeout", flags.timeout);
  const watchMs = flags.watch === undefined
    ? undefined
    : positiveNumber("watch", flags.watch) * 1000;
  const settings = flags.brokers ? await connectionSettings(flags) : undefined;
  if (urls.length === 0 && !settings) {
    throw new UsageError(
      "fleet: pass --agents, --agents-file or --brokers (see fraudstream fleet --help)",
    );
  }
  const kafka = settings
    ? new GroupLagReader(settings, flags.group, topicNames(flags["topic-prefix"]).transactions)
    : undefined;
  try {
    while (true) {
      const [agents, lag] = await Promise.all([pollAgents(urls, timeoutMs), kafka?.read()]);
      const snapshot: FleetSnapshot = {
        at: new Date().toISOString(),
        agents,
        total: totals(agents),
      };
      if (lag) snapshot.kafka = lag;
      if (flags.json) {
        console.log(JSON.stringify(snapshot));
      } else {
        if (watchMs !== undefined && Deno.stdout.isTerminal()) console.log("\x1b[H\x1b[2J");
        if (watchMs !== undefined) {
          console.log(`fraudstream fleet at ${snapshot.at} (every ${watchMs / 1000}s)\n`);
        }
        console.log(renderTable(snapshot));
      }
      if (watchMs === undefined) {
        return urls.length > 0 && snapshot.total.up === 0 ? 1 : 0;
      }
      await new Promise((r) => setTimeout(r, watchMs));
    }
  } finally {
    await kafka?.close();
  }
});

async function agentUrls(list: string | undefined, file: string | undefined): Promise<string[]> {
  const raw = (list ?? "").split(",");
  if (file) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      throw new UserFacingError(`--agents-file ${file}: ${errorText(err)}`);
    }
    raw.push(...text.split("\n").map((l) => l.replace(/#.*/, "")));
  }
  const urls = raw.map((s) => s.trim()).filter((s) => s !== "").map(normalizeAgentUrl);
  for (const u of urls) {
    if (!URL.canParse(u)) {
      throw new UsageError(`fleet: "${u}" is not an agent URL (http://host:port)`);
    }
  }
  return [...new Set(urls)];
}

/**
 * Keeps one admin connection across refreshes; a broker that cannot be reached is shown in the
 * table, not fatal, and is tried again on the next refresh.
 */
class GroupLagReader {
  #admin: KafkaAdmin | undefined;

  constructor(
    readonly settings: ConnectionSettings,
    readonly group: string,
    readonly topic: string,
  ) {}

  async read(): Promise<FleetSnapshot["kafka"]> {
    try {
      if (!this.#admin) {
        const client = await createKafkaClient({
          ...this.settings,
          clientId: `${this.settings.clientId}-fleet`,
        });
        this.#admin = await client.admin();
      }
      const admin = this.#admin;
      return await withinConnectTimeout(
        this.settings,
        "read offsets",
        () => admin.groupLag(this.group, this.topic),
      );
    } catch (err) {
      await this.close();
      return { group: this.group, topic: this.topic, error: errorText(err) };
    }
  }

  async close(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    await admin?.close().catch(() => {});
  }
}
