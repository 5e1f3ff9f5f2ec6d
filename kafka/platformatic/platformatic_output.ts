import { Buffer } from "node:buffer";
import {
  compatibilityPartitioner,
  type Message,
  type MessageToProduce,
  type Partitioner,
  ProduceAcks,
  Producer,
  type ProducerOptions,
} from "@platformatic/kafka";
import {
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_SEND_RETRY_MS,
  type InputOffsets,
  type KafkaOutput,
  type OutputSettings,
  type TransactionalOutput,
} from "../boundary/output.ts";
import type { OutputRecord, TopicRecords } from "../boundary/records.ts";
import { cutByBytes } from "../byte_requests.ts";
import type { ConnectionSettings } from "../connection.ts";
import { UserFacingError } from "../../cli/usage_error.ts";
import { platformaticOptions } from "./config.ts";
import { PlatformaticInput } from "./platformatic_input.ts";

type Bytes = Buffer | undefined;
type Outgoing = MessageToProduce<Bytes, Bytes, string, Bytes>;

function asBuffer(data: Uint8Array | string | null | undefined): Bytes {
  if (data === null || data === undefined) return undefined;
  if (typeof data === "string") return Buffer.from(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Keys go where the Java client and kafkajs' default put them (murmur2 & 0x7fffffff, the
 * library's compatibilityPartitioner; its default drops the sign bit differently and places about
 * half the keys elsewhere); records without a key or partition go round robin, not all to
 * partition 0 as the library's partitioners would.
 */
function javaCompatiblePartitioner(): Partitioner<Bytes, Bytes, string, Bytes> {
  let next = 0;
  return (message, key) =>
    key ? compatibilityPartitioner(message, key) : (next = (next + 1) & 0x7fffffff);
}

/**
 * Waits between the library's own retries of a request: from 10 ms, doubling to 1 s. A
 * transaction's first request after the previous commit is refused with CONCURRENT_TRANSACTIONS
 * while the broker writes the commit markers, for a few milliseconds: with the library's fixed
 * 1 s wait a transaction of 200 records took 989 ms, with this 30 ms (probe of 15 transactions
 * on the local broker).
 */
function retryDelayMs(_client: unknown, _operation: string, attempt: number): number {
  return Math.min(1_000, 10 * 2 ** (attempt - 1));
}

/** How many retries of retryDelayMs add up to at least `budgetMs`. */
export function retriesWithin(budgetMs: number): number {
  let retries = 0;
  for (let total = 0; total < budgetMs; retries++) total += retryDelayMs(null, "", retries + 1);
  return retries;
}

function producerOptions(
  s: ConnectionSettings,
  settings: OutputSettings,
  extra: Partial<ProducerOptions<Bytes, Bytes, string, Bytes>> = {},
): ProducerOptions<Bytes, Bytes, string, Bytes> {
  return {
    ...platformaticOptions(s),
    // The library retries a failed request itself (only to the broker that failed, with the same
    // producer id and sequences, so the broker drops what it already has) for the send budget.
    retries: retriesWithin(settings.sendRetryMs ?? DEFAULT_SEND_RETRY_MS),
    retryDelay: retryDelayMs,
    // Idempotent always: the library resends a whole produce request when one partition in it
    // fails (a leader not yet elected on a new topic), which duplicates the records of the
    // partitions that were written; with producer ids and sequences the broker drops those.
    idempotent: true,
    acks: ProduceAcks.ALL,
    partitioner: javaCompatiblePartitioner(),
    serializers: {
      key: (k) => k,
      value: (v) => v,
      headerKey: (k) => (k === undefined ? undefined : Buffer.from(k)),
      headerValue: (v) => v,
    },
    ...extra,
  };
}

function toMessages(request: readonly TopicRecords[]): Outgoing[] {
  const out: Outgoing[] = [];
  for (const { topic, records } of request) {
    for (const r of records) out.push(toMessage(topic, r));
  }
  return out;
}

function toMessage(topic: string, r: OutputRecord): Outgoing {
  const m: Outgoing = { topic, key: asBuffer(r.key), value: asBuffer(r.value) };
  if (r.partition !== undefined) m.partition = r.partition;
  if (r.timestampMs !== undefined) m.timestamp = BigInt(r.timestampMs);
  if (r.headers) {
    const headers: Record<string, Bytes> = {};
    for (const name in r.headers) headers[name] = asBuffer(r.headers[name]);
    m.headers = headers;
  }
  return m;
}

/** KafkaOutput on a @platformatic/kafka idempotent producer. */
export class PlatformaticOutput implements KafkaOutput {
  readonly #producer: Producer<Bytes, Bytes, string, Bytes>;
  readonly #maxBytes: number;

  private constructor(producer: Producer<Bytes, Bytes, string, Bytes>, settings: OutputSettings) {
    this.#producer = producer;
    this.#maxBytes = settings.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  }

  static async connect(
    s: ConnectionSettings,
    settings: OutputSettings,
  ): Promise<PlatformaticOutput> {
    const producer = new Producer(producerOptions(s, settings));
    producer.on("error", () => {});
    await producer.initIdempotentProducer({});
    return new PlatformaticOutput(producer, settings);
  }

  async send(groups: readonly TopicRecords[]): Promise<void> {
    // One request after the other: requests sent at once may land in either order.
    for (const request of cutByBytes(groups, this.#maxBytes)) {
      await this.#producer.send({ messages: toMessages(request) });
    }
  }

  async close(): Promise<void> {
    await this.#producer.close();
  }
}

/**
 * A producer with its transactional id initialised, as kafkajs' connect does: this fences a
 * predecessor under the same id (its open transaction is aborted) before the first batch, and
 * a fresh broker's transaction log is created now, not in the first batch's time.
 */
async function openTransactionalProducer(
  s: ConnectionSettings,
  settings: OutputSettings & { transactionalId: string },
): Promise<Producer<Bytes, Bytes, string, Bytes>> {
  const producer = new Producer(
    producerOptions(s, settings, {
      transactionalId: settings.transactionalId,
      // The library's InitProducerId sends producer id 0, epoch 0 unless told otherwise, which
      // the broker takes for a request to bump that producer: once the transactional id has a
      // producer (an agent restarted under its id), it answers PRODUCER_FENCED and the restart
      // fails. -1/-1 is a new producer's request: it fences the predecessor instead.
      producerId: -1n,
      producerEpoch: -1,
    }),
  );
  producer.on("error", () => {});
  try {
    // The library initialises the id when a transaction begins; cancel ends it locally.
    await (await producer.beginTransaction()).cancel();
  } catch (err) {
    await producer.close().catch(() => {});
    throw err;
  }
  return producer;
}

/**
 * TransactionalOutput on a @platformatic/kafka transactional producer: one transaction at a time
 * per producer, so calls queue here in order. The input offsets are committed with the member's
 * group generation (TxnOffsetCommit), so a member that lost the partition in a rebalance cannot
 * commit it (KIP-447).
 */
export class PlatformaticTransactionalOutput implements TransactionalOutput {
  #producer: Producer<Bytes, Bytes, string, Bytes>;
  readonly #open: () => Promise<Producer<Bytes, Bytes, string, Bytes>>;
  readonly #maxBytes: number;
  #queue: Promise<void> = Promise.resolve();

  private constructor(
    producer: Producer<Bytes, Bytes, string, Bytes>,
    open: () => Promise<Producer<Bytes, Bytes, string, Bytes>>,
    settings: OutputSettings,
  ) {
    this.#producer = producer;
    this.#open = open;
    this.#maxBytes = settings.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  }

  static async connect(
    s: ConnectionSettings,
    settings: OutputSettings & { transactionalId: string },
  ): Promise<PlatformaticTransactionalOutput> {
    const open = () => openTransactionalProducer(s, settings);
    return new PlatformaticTransactionalOutput(await open(), open, settings);
  }

  sendWithOffsets(groups: readonly TopicRecords[], offsets: InputOffsets): Promise<void> {
    const input = offsets.input;
    if (!(input instanceof PlatformaticInput)) {
      throw new UserFacingError("a platformatic transactional output needs a platformatic input");
    }
    const run = this.#queue.then(async () => {
      const tx = await this.#begin();
      try {
        const consumer = input.membership(offsets.partition);
        // The library takes the offsets to commit from a consumed message: the last one read.
        const last = {
          topic: input.topic,
          partition: offsets.partition,
          offset: offsets.nextOffset - 1n,
          metadata: { consumer },
        } as unknown as Message;
        const records = async () => {
          for (const request of cutByBytes(groups, this.#maxBytes)) {
            const messages = toMessages(request);
            if (messages.length) await tx.send({ messages });
          }
        };
        // The offsets go to the group coordinator while the records go to the partition leaders:
        // together, a transaction takes three round trips (records and offsets, then EndTxn)
        // instead of five one after the other.
        const inputOffsets = async () => {
          await tx.addConsumer(
            { groupId: consumer.groupId } as Parameters<typeof tx.addConsumer>[0],
          );
          await tx.addOffset(last);
        };
        // Both settle before an abort, which must not overtake a request still in flight.
        for (const r of await Promise.allSettled([records(), inputOffsets()])) {
          if (r.status === "rejected") throw r.reason;
        }
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => this.#replace());
        throw err;
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #begin() {
    try {
      return await this.#producer.beginTransaction();
    } catch (err) {
      await this.#replace();
      throw err;
    }
  }

  /**
   * @platformatic/kafka 2.12.1 records a transaction before its begin finds the coordinator and
   * initialises the producer id, and forgets it only when EndTxn succeeds or the producer is
   * fenced: after a begin or an abort that failed, no caller holds that transaction and every
   * later begin is refused ("There is already an active transaction."), which held a restarted
   * agent's partitions for good. A new producer under the same transactional id fences the old
   * one, whose open transaction the broker aborts, as at start. When that fails too, the next
   * failure tries again.
   */
  async #replace(): Promise<void> {
    const old = this.#producer;
    try {
      this.#producer = await this.#open();
    } catch {
      return;
    }
    await old.close().catch(() => {});
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#producer.close();
  }
}
