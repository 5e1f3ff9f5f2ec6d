import {
  Admin,
  Consumer,
  CONSUMER_PROTOCOL_HIGHEST_VERSION,
  COOPERATIVE_STICKY_ASSIGNOR,
  FetchIsolationLevels,
  ListOffsetTimestamps,
  type MessageConsumerMetadata,
  ProtocolError,
} from "@platformatic/kafka";
import { retryWithin } from "../retry_within.ts";
import type {
  BatchControl,
  BatchHandler,
  InputListener,
  InputSettings,
  KafkaInput,
} from "../boundary/input.ts";
import { CommitCoalescer } from "../commit_coalescer.ts";
import { fetchRecords } from "./committed_fetch.ts";
import type { ConnectionSettings } from "../connection.ts";
import { isRebalance, isTransient, platformaticOptions } from "./config.ts";
import { offsetAfter, PlatformaticBatch } from "./platformatic_batch.ts";

type FetchTopics = Parameters<Consumer["fetch"]>[0]["topics"];

/** One assigned partition's reading state. */
interface PartitionState {
  /** Next offset to fetch; undefined until the committed offset is known. */
  next: bigint | undefined;
  /** A batch of it is in the handler (or waits for a handler): it is not fetched meanwhile. */
  busy: boolean;
  /** Not fetched before this time (performance.now()): a failed batch waits a little. */
  notBefore: number;
  /** The group generation its batch in the handler was fetched in. */
  generation: number;
}

/** While some partitions are in the handler, a fetch of the others returns this soon. */
const BUSY_MAX_WAIT_MS = 100;
/** Pause after a failed fetch or batch before that partition is read again. */
const RETRY_DELAY_MS = 500;

/**
 * KafkaInput on a @platformatic/kafka consumer group member. The library's MessagesStream hands
 * out one object (with a commit closure) per record and fetches every assigned partition, with
 * no way to pause one; so the group membership is the library's (join, heartbeats, the
 * cooperative-sticky assignor, rejoins) and the fetch loop is this class's: consumer.fetch() of
 * the partitions not paused and not in the handler, from the next offset this member owns, each
 * partition's records handed over as one InputBatch over the decoded record batches.
 *
 * The group uses the cooperative-sticky assignor: a member joining or leaving moves only the
 * partitions that change owner, and the others are read throughout the rebalance.
 */
export class PlatformaticInput implements KafkaInput {
  readonly group: string;
  readonly topic: string;
  readonly #connection: ConnectionSettings;
  readonly #settings: InputSettings;
  readonly #listener: InputListener;
  readonly #partitions = new Map<number, PartitionState>();
  readonly #paused = new Set<number>();
  readonly #commits: CommitCoalescer;
  #consumer?: Consumer;
  #admin?: Admin;
  #running = false;
  #inHandler = 0;
  readonly #slotWaiters: (() => void)[] = [];
  readonly #handlers = new Set<Promise<void>>();
  #wake: (() => void) | null = null;
  #loop: Promise<void> = Promise.resolve();
  lastContactMs = 0;
  #fail!: (err: Error) => void;
  readonly failed: Promise<never> = new Promise((_, reject) => (this.#fail = reject));

  constructor(connection: ConnectionSettings, settings: InputSettings, listener: InputListener) {
    this.#connection = connection;
    this.#settings = settings;
    this.#listener = listener;
    this.group = settings.group;
    this.topic = settings.topic;
    this.failed.catch(() => {});
    this.#commits = new CommitCoalescer(
      (offsets) =>
        this.#consumer!.commit({
          offsets: offsets.map((o) => ({
            topic: this.topic,
            partition: o.partition,
            offset: o.nextOffset,
            leaderEpoch: -1,
          })),
        }),
      (err, offsets) =>
        listener.commitFailed?.(err instanceof Error ? err : new Error(String(err)), offsets),
      { owns: (partition) => this.#partitions.has(partition) },
    );
  }

  /**
   * The group identity a transaction commits the partition's offsets under (KIP-447): the
   * generation its batch was fetched in, so that a member which lost the partition in a rebalance
   * meanwhile is refused (ILLEGAL_GENERATION) instead of committing over its new owner.
   */
  membership(partition: number): MessageConsumerMetadata {
    const c = this.#consumer!;
    const state = this.#partitions.get(partition);
    if (!state) throw new ProtocolError("ILLEGAL_GENERATION");
    return {
      groupId: c.groupId,
      generationId: state.generation,
      memberId: c.memberId ?? "",
      coordinatorId: c.coordinatorId ?? -1,
    };
  }

  async start(handler: BatchHandler): Promise<void> {
    const s = this.#settings;
    const consumer = new Consumer({
      ...platformaticOptions(this.#connection),
      groupId: s.group,
      ...(s.instanceId ? { groupInstanceId: s.instanceId } : {}),
      autocommit: false,
      sessionTimeout: s.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: s.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeout: Math.max(60_000, s.sessionTimeoutMs ?? 0),
      maxWaitTime: s.maxWaitMs ?? 1_000,
      maxBytes: s.maxBytes ?? 8 << 20,
      isolationLevel: s.isolation === "read_committed"
        ? FetchIsolationLevels.READ_COMMITTED
        : FetchIsolationLevels.READ_UNCOMMITTED,
      protocols: [{
        name: COOPERATIVE_STICKY_ASSIGNOR,
        version: CONSUMER_PROTOCOL_HIGHEST_VERSION,
      }],
    });
    this.#consumer = consumer;
    const contact = () => (this.lastContactMs = Date.now());
    consumer.on("consumer:heartbeat:end", contact);
    consumer.on("consumer:group:join", (e) => {
      contact();
      this.#sync(e.isLeader ?? false, true);
    });
    // A cooperative round that only revokes changes the assignment without a join event.
    consumer.on("consumer:group:rebalance", () => this.#sync(false, false));
    // A failed rejoin is emitted as 'error' (thrown when nobody listens) and ends the heartbeats:
    // join again until it works, as kafkajs restarts a crashed consumer.
    consumer.on("error", (err: Error) => {
      this.#report(err);
      if (this.#running) setTimeout(() => this.#rejoin(), RETRY_DELAY_MS);
    });
    consumer.topics.track(this.topic);
    this.#running = true;
    // The join's own event (consumer:group:join) hands over the first assignment.
    await consumer.joinGroup({});
    this.#loop = this.#fetchLoop(handler);
  }

  #rejoin(): void {
    if (!this.#running) return;
    this.#consumer!.joinGroup({}).catch((err) => {
      this.#report(err);
      setTimeout(() => this.#rejoin(), RETRY_DELAY_MS);
    });
  }

  /**
   * A failure the input recovers from by itself (it rejoins, refetches): told to the listener as
   * a restarting crash, unless it only says the group is rebalancing or a broker is moving, which
   * happens whenever agents come and go (kafkajs retries those silently too).
   */
  #report(err: unknown): void {
    if (isRebalance(err) || isTransient(err)) return;
    this.#listener.crashed?.(err instanceof Error ? err : new Error(String(err)), true);
  }

  /** Takes the consumer's assignment for the topic: drops revoked partitions, adds new ones. */
  #sync(leader: boolean, settled: boolean): void {
    const consumer = this.#consumer!;
    const now = (consumer.assignments ?? []).find((a) => a.topic === this.topic)?.partitions ?? [];
    const partitions = [...now].sort((a, b) => a - b);
    const revoked = [...this.#partitions.keys()].filter((p) => !partitions.includes(p));
    for (const p of revoked) {
      this.#partitions.delete(p);
      this.#paused.delete(p);
    }
    if (revoked.length) this.#listener.revoked?.(revoked);
    const added = partitions.filter((p) => !this.#partitions.has(p));
    for (const p of added) {
      this.#partitions.set(p, {
        next: undefined,
        busy: false,
        notBefore: 0,
        generation: -1,
      });
    }
    if (added.length) this.#positions(added);
    if (settled) this.#listener.assigned?.(partitions, leader);
    this.#wake?.();
  }

  /** Where newly assigned partitions start: the committed offset, else earliest or latest. */
  async #positions(partitions: number[]): Promise<void> {
    const consumer = this.#consumer!;
    try {
      const committed = await this.#committed(partitions);
      const missing = partitions.filter((p) => !(committed[p] >= 0n));
      const starts = missing.length
        ? (await consumer.listOffsets({
          topics: [this.topic],
          partitions: { [this.topic]: missing },
          timestamp: this.#settings.start === "earliest"
            ? ListOffsetTimestamps.EARLIEST
            : ListOffsetTimestamps.LATEST,
        })).get(this.topic) ?? []
        : [];
      for (const p of partitions) {
        const state = this.#partitions.get(p);
        if (state && state.next === undefined) {
          state.next = committed[p] >= 0n ? committed[p] : starts[p];
        }
      }
    } catch (err) {
      this.#report(err);
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
      const still = partitions.filter((p) => this.#partitions.get(p)?.next === undefined);
      if (this.#running && still.length) return this.#positions(still);
    }
    this.#wake?.();
  }

  /**
   * The group's committed offsets, stable ones only (requireStable, KIP-447): while a transaction
   * carrying offsets of these partitions is still open (its former owner's, in a rebalance) the
   * broker answers UNSTABLE_OFFSET_COMMIT, retried until it committed or aborted, so this member
   * starts after what that transaction wrote, never before it. The consumer's own offset fetch
   * cannot ask for that; the admin's can.
   */
  async #committed(partitions: number[]): Promise<bigint[]> {
    this.#admin ??= new Admin(platformaticOptions(this.#connection));
    const admin = this.#admin;
    const groups = await retryWithin(
      60_000,
      isTransient,
      () =>
        admin.listConsumerGroupOffsets({
          groups: [{
            groupId: this.group,
            topics: [{ name: this.topic, partitionIndexes: partitions }],
          }],
          requireStable: true,
        }),
    );
    const committed: bigint[] = [];
    for (const t of groups[0]?.topics ?? []) {
      if (t.name !== this.topic) continue;
      for (const p of t.partitions) committed[p.partitionIndex] = p.committedOffset;
    }
    return committed;
  }

  /** Partitions to fetch now, by the node that leads them. */
  async #ready(): Promise<Map<number, number[]>> {
    const now = performance.now();
    const ready: number[] = [];
    for (const [p, s] of this.#partitions) {
      if (!s.busy && s.next !== undefined && !this.#paused.has(p) && s.notBefore <= now) {
        ready.push(p);
      }
    }
    const byNode = new Map<number, number[]>();
    if (ready.length === 0) return byNode;
    const metadata = await this.#consumer!.metadata({ topics: [this.topic] });
    const topic = metadata.topics.get(this.topic)!;
    for (const p of ready) {
      const leader = topic.partitions[p]?.leader ?? -1;
      if (leader < 0) continue;
      byNode.set(leader, [...(byNode.get(leader) ?? []), p]);
    }
    return byNode;
  }

  /**
   * Fetches until the input stops. Whatever a round throws (metadata refreshed while a broker
   * moves, a connection closed under it) is reported and the round tried again: the loop is the
   * only reader of the assigned partitions, so it must never end on an error.
   */
  async #fetchLoop(handler: BatchHandler): Promise<void> {
    while (this.#running) {
      try {
        const byNode = await this.#ready();
        if (byNode.size === 0) {
          await this.#idle();
          continue;
        }
        const anyBusy = [...this.#partitions.values()].some((s) => s.busy);
        await Promise.all(
          [...byNode].map(([node, partitions]) => this.#fetch(node, partitions, anyBusy, handler)),
        );
      } catch (err) {
        await this.#fetchFailed(err);
      }
    }
  }

  /** Waits until something changes (a handler finished, a partition resumed or was assigned). */
  #idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, 250);
      this.#wake = done;
    });
  }

  async #fetch(
    node: number,
    partitions: number[],
    anyBusy: boolean,
    handler: BatchHandler,
  ): Promise<void> {
    const consumer = this.#consumer!;
    const s = this.#settings;
    const asked = new Map<number, bigint>();
    if (partitions.length === 0) return;
    for (const p of partitions) {
      const next = this.#partitions.get(p)?.next;
      if (next !== undefined) asked.set(p, next);
    }
    const topicId = (await consumer.metadata({ topics: [this.topic] })).topics.get(this.topic)?.id;
    if (topicId === undefined) throw new Error(`no metadata for topic ${this.topic}`);
    const request: FetchTopics = [{
      topicId,
      partitions: [...asked].map(([partition, fetchOffset]) => ({
        partition,
        fetchOffset,
        partitionMaxBytes: s.maxBytesPerPartition ?? 1 << 20,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      })),
    }];
    let response;
    try {
      response = await fetchRecords(consumer, {
        node,
        topics: request,
        maxWaitTime: anyBusy ? BUSY_MAX_WAIT_MS : s.maxWaitMs ?? 1_000,
        maxBytes: s.maxBytes ?? 8 << 20,
      }, s.isolation ?? "read_uncommitted");
    } catch (err) {
      await this.#fetchFailed(err);
      return;
    }
    this.lastContactMs = Date.now();
    for (const topic of response.responses) {
      for (const part of topic.partitions) {
        const p = part.partitionIndex;
        const state = this.#partitions.get(p);
        const from = asked.get(p);
        // Revoked, or moved by a rebalance while the fetch was out: this answer is stale.
        if (!state || from === undefined || state.next !== from || state.busy) continue;
        const batches = part.records;
        if (!batches || batches.length === 0) continue;
        const last = batches[batches.length - 1];
        const end = offsetAfter(last);
        const batch = new PlatformaticBatch(
          this.topic,
          p,
          batches,
          from,
          part.highWatermark,
          part.abortedTransactions ?? [],
        );
        state.next = end;
        if (batch.length === 0) continue;
        state.busy = true;
        state.generation = consumer.generationId;
        this.#dispatch(handler, batch, state, from);
      }
    }
  }

  async #fetchFailed(err: unknown): Promise<void> {
    this.#report(err);
    await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
  }

  /** Runs the handler on the batch when one of `concurrency` slots is free. */
  #dispatch(handler: BatchHandler, batch: PlatformaticBatch, state: PartitionState, from: bigint) {
    const run = (async () => {
      const limit = this.#settings.concurrency ?? 1;
      while (this.#inHandler >= limit) await new Promise<void>((r) => this.#slotWaiters.push(r));
      this.#inHandler++;
      try {
        await this.#handle(handler, batch, state, from);
      } finally {
        this.#inHandler--;
        this.#slotWaiters.shift()?.();
        state.busy = false;
        this.#wake?.();
      }
    })();
    this.#handlers.add(run);
    run.finally(() => this.#handlers.delete(run));
  }

  async #handle(
    handler: BatchHandler,
    batch: PlatformaticBatch,
    state: PartitionState,
    from: bigint,
  ): Promise<void> {
    const partition = batch.partition;
    const owned = () => this.#partitions.get(partition) === state;
    const running = () => this.#running;
    const commits = this.#settings.commit === "coalesced" ? this.#commits : null;
    let acked = from;
    const control: BatchControl = {
      ack(nextOffset: bigint) {
        if (!owned()) return;
        acked = nextOffset;
        commits?.schedule(partition, nextOffset);
      },
      get active() {
        return running() && owned();
      },
      fetchedFrom: from,
      // Heartbeats run on the library's own timer, whatever the handler does.
      heartbeat: () => Promise.resolve(),
    };
    try {
      await handler(batch, control);
      if ((this.#paused.has(partition) || !this.#running) && owned()) state.next = acked;
    } catch {
      // The handler reported its failure itself; the records after its last ack are read again.
      if (owned()) {
        state.next = acked;
        state.notBefore = performance.now() + RETRY_DELAY_MS;
      }
    }
  }

  pause(partition: number): void {
    this.#paused.add(partition);
  }

  resume(partition: number): void {
    if (!this.#paused.delete(partition)) return;
    this.#wake?.();
  }

  commitsDone(): Promise<void> {
    return this.#commits.done();
  }

  async stop(): Promise<void> {
    if (!this.#consumer) return;
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    while (this.#handlers.size) await Promise.all([...this.#handlers]);
    this.#commits.close();
    await this.#commits.done();
    await this.#consumer.close(true);
    await this.#admin?.close();
  }
}
