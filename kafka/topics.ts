import type { FlagSpecs } from "../cli/flags.ts";
import { UserFacingError } from "../cli/usage_error.ts";
import type { KafkaAdmin, KafkaClient, TopicSpec } from "./boundary.ts";

/** The flag every command that reads or writes the project's topics shares. */
export const TOPIC_PREFIX_FLAG = {
  "topic-prefix": {
    type: "string",
    value: "PREFIX",
    description: "prefix of every topic name",
    default: "",
  },
} as const satisfies FlagSpecs;

/** The project's topics; a prefix lets experiments (capacity runs, tests) use fresh ones. */
export interface TopicNames {
  transactions: string;
  predictions: string;
  dlq: string;
  labels: string;
  /** The agents' per-partition state snapshots (agent/state_snapshot.ts), compacted. */
  state: string;
}

export function topicNames(prefix = ""): TopicNames {
  return {
    transactions: `${prefix}transactions`,
    predictions: `${prefix}predictions`,
    dlq: `${prefix}transactions.dlq`,
    labels: `${prefix}labels`,
    state: `${prefix}state`,
  };
}

export interface TopicLayout {
  /** Partitions of transactions and predictions: the most agents a group can use. */
  partitions: number;
  replicationFactor: number;
}

const DAY_MS = 86_400_000;

/** What each topic should look like; labels are kept long enough to rebuild 30-day windows. */
export function topicSpecs(names: TopicNames, layout: TopicLayout): TopicSpec[] {
  const rf = layout.replicationFactor;
  const minIsr = { "min.insync.replicas": String(Math.min(2, rf)) };
  return [
    {
      topic: names.transactions,
      partitions: layout.partitions,
      replicationFactor: rf,
      config: minIsr,
    },
    {
      topic: names.predictions,
      partitions: layout.partitions,
      replicationFactor: rf,
      config: minIsr,
    },
    { topic: names.dlq, partitions: 1, replicationFactor: rf, config: minIsr },
    {
      topic: names.labels,
      partitions: 1,
      replicationFactor: rf,
      config: { ...minIsr, "retention.ms": String(45 * DAY_MS) },
    },
    {
      // One state partition per transactions partition; compaction keeps each key's newest chunk.
      // Segments roll every 10 minutes so the cleaner reaches superseded snapshots soon and a
      // restore reads little more than the newest one.
      topic: names.state,
      partitions: layout.partitions,
      replicationFactor: rf,
      config: {
        ...minIsr,
        "cleanup.policy": "compact",
        "segment.ms": String(10 * 60_000),
        "min.cleanable.dirty.ratio": "0.1",
      },
    },
  ];
}

export interface TopicState {
  topic: string;
  partitions: number;
  replicationFactor: number;
  created: boolean;
}

/**
 * Creates the topics that are missing and reports every topic's partition count. Existing topics
 * are left as they are (idempotent); fewer partitions than asked is reported, not changed.
 */
export async function ensureTopics(
  admin: KafkaAdmin,
  names: TopicNames,
  layout: TopicLayout,
): Promise<TopicState[]> {
  const specs = topicSpecs(names, layout);
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) await admin.createTopics(missing);
  return await describeTopics(
    admin,
    specs.map((s) => s.topic),
    new Set(missing.map((s) => s.topic)),
  );
}

export async function describeTopics(
  admin: KafkaAdmin,
  topics: string[],
  created = new Set<string>(),
): Promise<TopicState[]> {
  return (await admin.describeTopics(topics)).map((t) => ({ ...t, created: created.has(t.topic) }));
}

/** The partition count of a topic that must exist; one line naming the fix when it does not. */
export async function topicPartitions(client: KafkaClient, topic: string): Promise<number> {
  const admin = await client.admin();
  try {
    const [state] = await describeTopics(admin, [topic]);
    if (state.partitions === 0) {
      throw new UserFacingError(`missing topic ${topic}: create it with fraudstream topics`);
    }
    return state.partitions;
  } finally {
    await admin.close();
  }
}
