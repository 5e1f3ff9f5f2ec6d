import type { Admin } from "kafkajs";
import type {
  GroupDescription,
  GroupLag,
  KafkaAdmin,
  PartitionOffsets,
  TopicDescription,
  TopicSpec,
} from "../boundary/admin.ts";
import { readGroupLag } from "../group_lag.ts";
import { retryWithin } from "../retry_within.ts";
import { isTransient } from "./config.ts";

/**
 * KafkaAdmin on a connected kafkajs Admin. kafkajs' admin gives up on a refused connection after
 * its short retry budget, and fetchTopicOffsets at the first error other than an unknown topic;
 * every call here is retried on transient errors for the connect timeout instead, so an agent
 * started while a broker restarts or fails over waits for it.
 */
export class KafkajsAdmin implements KafkaAdmin {
  readonly #admin: Admin;
  readonly #budgetMs: number;

  constructor(admin: Admin, budgetMs: number) {
    this.#admin = admin;
    this.#budgetMs = budgetMs;
  }

  #retry<T>(call: (admin: Admin) => Promise<T>): Promise<T> {
    return retryWithin(this.#budgetMs, isTransient, () => call(this.#admin));
  }

  async brokerCount(): Promise<number> {
    return (await this.#retry((a) => a.describeCluster())).brokers.length;
  }

  listTopics(): Promise<string[]> {
    return this.#retry((a) => a.listTopics());
  }

  async createTopics(specs: readonly TopicSpec[]): Promise<void> {
    await this.#admin.createTopics({
      waitForLeaders: true,
      topics: specs.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
  }

  async describeTopics(topics: readonly string[]): Promise<TopicDescription[]> {
    const existing = new Set(await this.listTopics());
    const present = topics.filter((t) => existing.has(t));
    const meta = present.length
      ? await this.#retry((a) => a.fetchTopicMetadata({ topics: present }))
      : { topics: [] };
    return topics.map((topic) => {
      const m = meta.topics.find((t) => t.name === topic);
      return {
        topic,
        partitions: m?.partitions.length ?? 0,
        replicationFactor: m?.partitions[0]?.replicas.length ?? 0,
      };
    });
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    await this.#admin.deleteTopics({ topics: [...topics] });
  }

  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    const offsets = await this.#retry((a) => a.fetchTopicOffsets(topic));
    return offsets
      .map((p) => ({ partition: p.partition, earliest: BigInt(p.low), latest: BigInt(p.high) }))
      .sort((a, b) => a.partition - b.partition);
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, bigint>> {
    const topics = await this.#retry((a) => a.fetchOffsets({ groupId: group, topics: [topic] }));
    const committed = new Map<number, bigint>();
    for (const p of topics.find((t) => t.topic === topic)?.partitions ?? []) {
      const offset = BigInt(p.offset);
      if (offset >= 0n) committed.set(p.partition, offset);
    }
    return committed;
  }

  groupLag(group: string, topic: string): Promise<GroupLag> {
    return readGroupLag(this, group, topic);
  }

  async listGroups(): Promise<string[]> {
    return (await this.#retry((a) => a.listGroups())).groups.map((g) => g.groupId);
  }

  async describeGroup(group: string): Promise<GroupDescription> {
    const { groups } = await this.#retry((a) => a.describeGroups([group]));
    return { group, state: groups[0]?.state ?? "Dead", members: groups[0]?.members.length ?? 0 };
  }

  async deleteGroups(groups: readonly string[]): Promise<void> {
    await this.#admin.deleteGroups([...groups]);
  }

  async close(): Promise<void> {
    await this.#admin.disconnect();
  }
}
