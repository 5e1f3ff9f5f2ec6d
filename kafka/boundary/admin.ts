/** A topic to create. */
export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  config?: Readonly<Record<string, string>>;
}

/** A topic as the cluster has it; partitions 0 when it does not exist. */
export interface TopicDescription {
  topic: string;
  partitions: number;
  replicationFactor: number;
}

/** One partition's retained range: earliest retained offset and end offset (next to write). */
export interface PartitionOffsets {
  partition: number;
  earliest: bigint;
  latest: bigint;
}

/** A consumer group's backlog on one topic, as Kafka sees it: committed offsets vs end offsets. */
export interface GroupLag {
  group: string;
  topic: string;
  total: number;
  partitions: { partition: number; committed: number | null; end: number; lag: number }[];
}

export interface GroupDescription {
  group: string;
  state: string;
  members: number;
}

/**
 * Cluster administration. Reads retry on connection errors within the connect timeout, so a
 * broker that is restarting or failing over is waited for, not reported at the first refusal.
 */
export interface KafkaAdmin {
  /** Number of brokers that answer; proves the connection and authentication work. */
  brokerCount(): Promise<number>;
  listTopics(): Promise<string[]>;
  /** Creates the topics and waits for their leaders. */
  createTopics(specs: readonly TopicSpec[]): Promise<void>;
  describeTopics(topics: readonly string[]): Promise<TopicDescription[]>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** Earliest and latest offset of every partition of the topic, by partition. */
  partitionOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** The group's committed next offset per partition; partitions never committed are absent. */
  committedOffsets(group: string, topic: string): Promise<Map<number, bigint>>;
  groupLag(group: string, topic: string): Promise<GroupLag>;
  listGroups(): Promise<string[]>;
  describeGroup(group: string): Promise<GroupDescription>;
  deleteGroups(groups: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
