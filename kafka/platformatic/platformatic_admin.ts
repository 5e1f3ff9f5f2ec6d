import { type Admin, ListOffsetTimestamps } from "@platformatic/kafka";
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

/** How long createTopics waits for every new partition to have a leader. */
const LEADERS_WAIT_MS = 30_000;

/**
 * KafkaAdmin on a @platformatic/kafka Admin. Every read is retried on transient errors for the
 * connect timeout, so an agent started while a broker restarts or fails over waits for it.
 */
export class PlatformaticAdmin implements KafkaAdmin {
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
    return (await this.#retry((a) => a.metadata({ topics: [], forceUpdate: true }))).brokers.size;
  }

  listTopics(): Promise<string[]> {
    return this.#retry((a) => a.listTopics());
  }

  async createTopics(specs: readonly TopicSpec[]): Promise<void> {
    // The library's request carries one set of configs for all its topics: one request per topic.
    for (const s of specs) {
      await this.#admin.createTopics({
        topics: [s.topic],
        partitions: s.partitions,
        replicas: s.replicationFactor,
        configs: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
      });
    }
    await this.#leadersElected(specs.map((s) => s.topic));
  }

  async #leadersElected(topics: string[]): Promise<void> {
    const deadline = performance.now() + LEADERS_WAIT_MS;
    for (;;) {
      const metadata = await this.#retry((a) => a.metadata({ topics, forceUpdate: true }));
      const ready = topics.every((t) => {
        const m = metadata.topics.get(t);
        return m !== undefined && m.partitions.every((p) => p.leader >= 0);
      });
      if (ready || performance.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async describeTopics(topics: readonly string[]): Promise<TopicDescription[]> {
    const existing = new Set(await this.listTopics());
    const present = topics.filter((t) => existing.has(t));
    const metadata = present.length
      ? await this.#retry((a) => a.metadata({ topics: present, forceUpdate: true }))
      : undefined;
    return topics.map((topic) => {
      const m = metadata?.topics.get(topic);
      return {
        topic,
        partitions: m?.partitionsCount ?? 0,
        replicationFactor: m?.partitions[0]?.replicas.length ?? 0,
      };
    });
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    await this.#admin.deleteTopics({ topics: [...topics] });
  }

  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    const metadata = await this.#retry((a) => a.metadata({ topics: [topic] }));
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const ids = Array.from({ length: count }, (_, p) => p);
    const at = async (timestamp: bigint) => {
      const listed = await this.#retry((a) =>
        a.listOffsets({
          topics: [{ name: topic, partitions: ids.map((p) => ({ partitionIndex: p, timestamp })) }],
        })
      );
      const byPartition = new Map<number, bigint>();
      for (const p of listed.find((t) => t.name === topic)?.partitions ?? []) {
        byPartition.set(p.partitionIndex, p.offset);
      }
      return byPartition;
    };
    const [earliest, latest] = await Promise.all([
      at(ListOffsetTimestamps.EARLIEST),
      at(ListOffsetTimestamps.LATEST),
    ]);
    return ids.map((p) => ({
      partition: p,
      earliest: earliest.get(p) ?? 0n,
      latest: latest.get(p) ?? 0n,
    }));
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, bigint>> {
    const groups = await this.#retry((a) => a.listConsumerGroupOffsets({ groups: [group] }));
    const committed = new Map<number, bigint>();
    const topicOffsets = groups.find((g) => g.groupId === group)?.topics.find((t) =>
      t.name === topic
    );
    for (const p of topicOffsets?.partitions ?? []) {
      if (p.committedOffset >= 0n) committed.set(p.partitionIndex, p.committedOffset);
    }
    return committed;
  }

  groupLag(group: string, topic: string): Promise<GroupLag> {
    return readGroupLag(this, group, topic);
  }

  async listGroups(): Promise<string[]> {
    return [...(await this.#retry((a) => a.listGroups())).keys()];
  }

  async describeGroup(group: string): Promise<GroupDescription> {
    const groups = await this.#retry((a) => a.describeGroups({ groups: [group] }));
    const g = groups.get(group);
    return { group, state: g?.state ?? "Dead", members: g?.members.size ?? 0 };
  }

  async deleteGroups(groups: readonly string[]): Promise<void> {
    await this.#admin.deleteGroups({ groups: [...groups] });
  }

  async close(): Promise<void> {
    await this.#admin.close();
  }
}
