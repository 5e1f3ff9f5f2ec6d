import type { ProducerConfig } from "kafkajs";
import { KeyHashPartitioner } from "../key_partitioner.ts";

/**
 * What every fraudstream producer sets: topics come from `fraudstream topics` with their
 * partitions and replication, never from a producer's first send to a misspelt name; keyed
 * records land where the Java client and kafkajs' default partitioner put them.
 */
export const PRODUCER_OPTIONS = {
  allowAutoTopicCreation: false,
  createPartitioner: KeyHashPartitioner,
} as const satisfies ProducerConfig;
