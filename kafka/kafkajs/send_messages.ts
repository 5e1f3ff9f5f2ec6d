import { createRequire } from "node:module";
import type { Message, PartitionMetadata } from "kafkajs";

/**
 * kafkajs 2.2.4's produce send (src/producer/sendMessages.js) with its retry fixed so that a
 * leader change cannot lose records.
 *
 * kafkajs remembers which *brokers* answered and, on a retry, re-sends only to brokers without an
 * answer. When a broker fails and its partitions move to a broker that already answered for its
 * own, the moved partitions' records are never sent again, yet the send resolves: records the
 * caller counts as written are not (the 3-node failover test lost 3-71 predictions a run, at
 * least once: the input offsets were committed). The fix remembers *partitions*: each attempt
 * sends every partition not yet acknowledged to the broker that leads it now.
 *
 * Two more differences, both for the same reason. Records are grouped into partitions once: a
 * partitioner without a key (round-robin) would otherwise place a record elsewhere on the retry,
 * under a partition already acknowledged. An attempt waits for all its requests before retrying,
 * so a request still in flight is never sent a second time. Everything else (errors retried,
 * sequence numbers, transactions, the response) is kafkajs' own code path.
 */
const require = createRequire(import.meta.url);
const KAFKAJS = "kafkajs/src/";
const { KafkaJSMetadataNotLoaded } = require(`${KAFKAJS}errors`);
const { staleMetadata } = require(`${KAFKAJS}protocol/error`) as {
  staleMetadata: (e: unknown) => boolean;
};
const responseSerializer = require(`${KAFKAJS}producer/responseSerializer`) as (
  response: unknown,
) => PartitionResponse[];

interface PartitionResponse {
  topicName: string;
  partition: number;
  [field: string]: unknown;
}

type Partitioner = (args: {
  topic: string;
  partitionMetadata: PartitionMetadata[];
  message: Message;
}) => number;

/** The parts of kafkajs' internal objects this uses (src/cluster, src/producer/eosManager). */
interface Broker {
  nodeId: number;
  produce(request: Record<string, unknown>): Promise<unknown>;
}
interface Cluster {
  refreshMetadataIfNecessary(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata[];
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(args: { nodeId: string }): Promise<Broker>;
  isConnected(): boolean;
  connect(): Promise<void>;
  removeBroker(args: { host: string; port: number }): void;
}
interface EosManager {
  acquireBrokerLock(broker: Broker): Promise<void>;
  releaseBrokerLock(broker: Broker): Promise<void>;
  isTransactional(): boolean;
  addPartitionsToTransaction(topicData: TopicData[]): Promise<void>;
  getSequence(topic: string, partition: number): number;
  updateSequence(topic: string, partition: number, increment: number): void;
  getTransactionalId(): string;
  getProducerId(): number;
  getProducerEpoch(): number;
}
type Retrier = <T>(
  fn: (bail: (e: unknown) => void, retryCount: number, retryTime: number) => Promise<T>,
) => Promise<T>;
interface Logger {
  debug(message: string, extra?: object): void;
  error(message: string, extra?: object): void;
}
interface TopicData {
  topic: string;
  partitions: { partition: number; messages: Message[]; firstSequence?: number }[];
}
interface SendError {
  name: string;
  message: string;
  retriable?: boolean;
  host: string;
  port: number;
}

export interface SendMessagesDependencies {
  logger: Logger;
  cluster: Cluster;
  partitioner: Partitioner;
  eosManager: EosManager;
  retrier: Retrier;
}

export interface SendMessagesRequest {
  acks: number;
  timeout: number;
  compression: number;
  topicMessages: { topic: string; messages: Message[] }[];
}

/** kafkajs' grouping (same partitioner calls, same order within a partition) in linear time. */
export function groupMessagesPerPartition(
  { topic, partitionMetadata, messages, partitioner }: {
    topic: string;
    partitionMetadata: PartitionMetadata[];
    messages: Message[];
    partitioner: Partitioner;
  },
): Record<number, Message[]> {
  const grouped: Record<number, Message[]> = {};
  if (partitionMetadata.length === 0) return grouped;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (grouped[partition] ??= []).push(message);
  }
  return grouped;
}

/** The factory kafkajs' messageProducer calls once per producer, with its retrier. */
export function createSendMessages(
  { logger, cluster, partitioner, eosManager, retrier }: SendMessagesDependencies,
) {
  return ({ acks, timeout, compression, topicMessages }: SendMessagesRequest) => {
    /** Per topic, its records by partition: fixed by the first attempt that had metadata. */
    const grouped = new Map<string, Record<number, Message[]>>();
    /** Answers by "topic/partition": a partition answered is never sent again. */
    const answered = new Map<string, PartitionResponse | null>();

    const group = async () => {
      await cluster.refreshMetadataIfNecessary();
      for (const { topic, messages } of topicMessages) {
        if (grouped.has(topic)) continue;
        const partitionMetadata = cluster.findTopicPartitionMetadata(topic);
        if (partitionMetadata.length === 0) {
          throw new KafkaJSMetadataNotLoaded("Producing to topic without metadata");
        }
        grouped.set(
          topic,
          groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }),
        );
      }
    };

    /** The unanswered partitions, as one TopicData list per broker leading some of them now. */
    const requestsByLeader = () => {
      const byLeader = new Map<string, TopicData[]>();
      for (const [topic, perPartition] of grouped) {
        const pending = Object.keys(perPartition).map(Number).filter((p) =>
          !answered.has(`${topic}/${p}`)
        );
        if (pending.length === 0) continue;
        for (
          const [nodeId, partitions] of Object.entries(
            cluster.findLeaderForPartitions(topic, pending),
          )
        ) {
          const list = byLeader.get(nodeId) ?? [];
          list.push({
            topic,
            partitions: partitions.map((partition) => ({
              partition,
              messages: perPartition[partition],
            })),
          });
          byLeader.set(nodeId, list);
        }
      }
      return byLeader;
    };

    const produce = async (broker: Broker, topicData: TopicData[]) => {
      await eosManager.acquireBrokerLock(broker);
      try {
        if (eosManager.isTransactional()) await eosManager.addPartitionsToTransaction(topicData);
        for (const { topic, partitions } of topicData) {
          for (const entry of partitions) {
            entry.firstSequence = eosManager.getSequence(topic, entry.partition);
            eosManager.updateSequence(topic, entry.partition, entry.messages.length);
          }
        }
        let response;
        try {
          response = await broker.produce({
            transactionalId: eosManager.isTransactional()
              ? eosManager.getTransactionalId()
              : undefined,
            producerId: eosManager.getProducerId(),
            producerEpoch: eosManager.getProducerEpoch(),
            acks,
            timeout,
            compression,
            topicData,
          });
        } catch (e) {
          for (const { topic, partitions } of topicData) {
            for (const entry of partitions) {
              eosManager.updateSequence(topic, entry.partition, -entry.messages.length);
            }
          }
          throw e;
        }
        const byPartition = new Map(
          (acks !== 0 ? responseSerializer(response) : []).map((
            r,
          ) => [`${r.topicName}/${r.partition}`, r]),
        );
        for (const { topic, partitions } of topicData) {
          for (const { partition } of partitions) {
            const key = `${topic}/${partition}`;
            answered.set(key, byPartition.get(key) ?? null);
          }
        }
      } finally {
        await eosManager.releaseBrokerLock(broker);
      }
    };

    return retrier(async (bail, retryCount, retryTime) => {
      await cluster.addMultipleTargetTopics(topicMessages.map(({ topic }) => topic));
      try {
        await group();
        const attempts = await Promise.allSettled(
          [...requestsByLeader()].map(async ([nodeId, topicData]) =>
            produce(await cluster.findBroker({ nodeId }), topicData)
          ),
        );
        const failed = attempts.find((a): a is PromiseRejectedResult => a.status === "rejected");
        if (failed) throw failed.reason;
        return [...answered.values()].filter((r): r is PartitionResponse => r !== null);
      } catch (err) {
        const e = err as SendError;
        if (e.name === "KafkaJSConnectionClosedError") {
          cluster.removeBroker({ host: e.host, port: e.port });
        }
        if (!cluster.isConnected()) {
          logger.debug(`Cluster has disconnected, reconnecting: ${e.message}`, {
            retryCount,
            retryTime,
          });
          await cluster.connect();
          await cluster.refreshMetadata();
          throw e;
        }
        if (
          staleMetadata(e) ||
          e.name === "KafkaJSMetadataNotLoaded" ||
          e.name === "KafkaJSConnectionError" ||
          e.name === "KafkaJSConnectionClosedError" ||
          (e.name === "KafkaJSProtocolError" && e.retriable)
        ) {
          logger.error(`Failed to send messages: ${e.message}`, { retryCount, retryTime });
          await cluster.refreshMetadata();
          throw e;
        }
        logger.error(`${e.message}`, { retryCount, retryTime });
        if (e.retriable) throw e;
        bail(e);
      }
    });
  };
}
