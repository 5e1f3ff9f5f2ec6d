import type { FlagSpecs } from "../cli/flags.ts";
import { UserFacingError } from "../cli/usage_error.ts";
import type { Admin, ITopicConfig, Kafka } from "kafkajs";

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
}

export function topicNames(prefix = ""): TopicNames {
  return {
    transactions: `${prefix}transactions`,
    predictions: `${prefix}predictions`,
    dlq: `${prefix}transactions.dlq`,
    labels: `${prefix}labels`,
  };
}

export interface TopicLayout {
  /** Partitions of transactions and predictions: the most agents a group can use. */
  partitions: number;
  replicationFactor: number;
}

const DAY_MS = 86_400_000;

/** What each topic should look like; labels are kept long enough to rebuild 30-day windows. */
export function topicSpecs(names: TopicNames, layout: TopicLayout): ITopicConfig[] {
  const rf = layout.replicationFactor;
  const minIsr = [{ name: "min.insync.replicas", value: String(Math.min(2, rf)) }];
  return [
    {
      topic: names.transactions,
      numPartitions: layout.partitions,
      replicationFactor: rf,
      configEntries: minIsr,
    },
    {
      topic: names.predictions,
      numPartitions: layout.partitions,
      replicationFactor: rf,
      configEntries: minIsr,
    },
    { topic: names.dlq, numPartitions: 1, replicationFactor: rf, configEntries: minIsr },
    {
      topic: names.labels,
      numPartitions: 1,
      replicationFactor: rf,
      configEntries: [...minIsr, { name: "retention.ms", value: String(45 * DAY_MS) }],
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
  admin: Admin,
  names: TopicNames,
  layout: TopicLayout,
): Promise<TopicState[]> {
  const specs = topicSpecs(names, layout);
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  }
  return await describeTopics(
    admin,
    specs.map((s) => s.topic),
    new Set(missing.map((s) => s.topic)),
  );
}

export async function describeTopics(
  admin: Admin,
  topics: string[],
  created = new Set<string>(),
): Promise<TopicState[]> {
  const existing = new Set(await admin.listTopics());
  const present = topics.filter((t) => existing.has(t));
  const meta = present.length
    ? await admin.fetchTopicMetadata({ topics: present })
    : { topics: [] };
  return topics.map((topic) => {
    const m = meta.topics.find((t) => t.name === topic);
    return {
      topic,
      partitions: m?.partitions.length ?? 0,
      replicationFactor: m?.partitions[0]?.replicas.length ?? 0,
      created: created.has(topic),
    };
  });
}

/** The partition count of a topic that must exist; one line naming the fix when it does not. */
export async function topicPartitions(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [state] = await describeTopics(admin, [topic]);
    if (state.partitions === 0) {
      throw new UserFacingError(`missing topic ${topic}: create it with fraudstream topics`);
    }
    return state.partitions;
  } finally {
    await admin.disconnect();
  }
}
