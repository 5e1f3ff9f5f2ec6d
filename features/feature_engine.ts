import type { Transaction } from "../transactions/transaction.ts";
import {
  CUSTOMER_WINDOW_DAYS,
  DEFAULT_LABEL_DELAY_MS,
  FEATURE_COUNT,
  FEATURE_LIST_VERSION,
  NIGHT_BEFORE_HOUR,
  TERMINAL_WINDOW_DAYS,
} from "./feature_list.ts";
import { IdSlots } from "./id_slots.ts";

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * Customer state covers the longest window plus the current day. Windows are whole UTC days so
 * that day buckets give exact answers (a sliding 24 h window would need every transaction kept):
 * the w-day window of a transaction on day d is days d-w .. d, up to and including the
 * transaction itself, which is counted before its own features are written. Including it keeps
 * the mean defined (never 0/0) and makes scoring one call: update, then read.
 */
const CUSTOMER_RING = Math.max(...CUSTOMER_WINDOW_DAYS) + 1;

/** The longest terminal window: a transaction reads this many days of labels before its cutoff. */
const TERMINAL_SPAN = Math.max(...TERMINAL_WINDOW_DAYS);

/**
 * Terminal days kept below the ones releaseTerminalDaysBefore is told nobody reads, so that a row a
 * little out of event-time order still finds its windows.
 */
const TERMINAL_RELEASE_SLACK_DAYS = 7;

/**
 * A customer's day bucket holds its count in 16 bits and its amount in cents in 32 bits: 6 bytes
 * a day instead of 12, so the whole state is 31 x 6 + 8 = 194 bytes per customer. A card holder
 * does not make 65,535 transactions or spend $42.9M in one day; a bucket that would pass either
 * ceiling stays at it (features of that day become approximate) and the transaction is counted in
 * `saturated`, so such data shows up in /stats and the export header instead of wrapping around.
 * Amounts are never negative here: the row rules reject those as bad_amount.
 */
const MAX_DAY_COUNT = 0xffff;
const MAX_DAY_CENTS = 0xffff_ffff;

/**
 * First four bytes of an exported customer snapshot ("FSC2": 16-bit counts and 32-bit cents;
 * "FSC1" snapshots held 32-bit counts and float64 cents and are refused), then ring size, count
 * and zero padding that keeps the float64 arrays after the 16-byte head aligned.
 */
const SNAPSHOT_MAGIC = 0x32435346;

/** What adding a transaction to its customer's state did; bits, counted by process(). */
const LATE = 1;
const TOO_OLD = 2;
const SATURATED = 4;

export interface FeatureEngineOptions {
  /** Event time after which a transaction's label may be used; default 7 days. */
  labelDelayMs?: number;
}

/**
 * Transactions scored (process) that did not fit the in-order, in-range case. Cumulative over the
 * engine's life, like Prometheus counters; replays through updateCustomer are not counted, since
 * their transactions were counted when they were scored.
 */
export interface EngineCounters {
  /** Older than their customer's newest transaction (in event time); still scored. */
  outOfOrder: number;
  /**
   * Of those, the ones whose day had left the customer's 31-day ring: scored as if they were the
   * customer's only transaction, and not added to the state.
   */
  tooOld: number;
  /** Added to a day bucket that was at its ceiling (65,535 transactions or $42.9M a day). */
  saturated: number;
}

export interface EngineMemory {
  customers: number;
  terminals: number;
  /** Typed-array bytes held for customer state, including free capacity and the id index. */
  customerBytes: number;
  terminalBytes: number;
  /** State per customer slot when the arrays are full (what capacity planning should use). */
  bytesPerCustomerSlot: number;
  bytesPerTerminalSlot: number;
}

function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}

/**
 * The one feature engine, used by the scoring agent online and by the training export over
 * historical files (features/label_delay_simulator.ts). Feed it transactions in event-time order;
 * it writes FEATURE_COUNT float32 values per transaction in the order of features/feature_list.ts.
 *
 * Two independent inputs, because they come from different places in the agent:
 * - customer state: updateCustomer / process, for the customers of the partitions the agent owns;
 * - terminal state: applyLabel, from the labels topic that every agent reads in full.
 *
 * Terminal windows for a transaction at time t cover whole days ending at the start of the day
 * of (t - labelDelay): [dayStart(t - delay) - w days, dayStart(t - delay)). Every label read
 * there belongs to a transaction at least labelDelay older than t, so applying labels early
 * (or the row's own label) cannot change the row's features.
 *
 * Out-of-order input (a transaction older than its customer's newest one) is handled
 * deterministically and counted (`counters`), but is not exact: it is added to its own day if that
 * day is still among the 31 days ending at the customer's newest day, and its windows read only
 * those days; a transaction older than that is scored as the customer's only transaction and
 * left out of the state. Input in event-time order per customer (the export sorts it so, the
 * producer replays it so) gives exact features.
 */
export class FeatureEngine {
  readonly width = FEATURE_COUNT;
  readonly version = FEATURE_LIST_VERSION;
  readonly labelDelayMs: number;

  readonly #customers = new IdSlots();
  /**
   * Newest event time per customer slot: its day is where the ring ends, and the time itself tells
   * a late transaction from one of the same day that is merely not the newest.
   */
  #custLast = new Float64Array(0);
  #custCount = new Uint16Array(0);
  /** Amounts in integer cents (amounts have 2 decimals) so sums are exact in any order. */
  #custCents = new Uint32Array(0);
  /** Per customer slot, the ownerTag its latest transaction came with (the agent's partition). */
  #custTag = new Int32Array(0);
  /**
   * Recorded with every customer the next transactions (or an imported snapshot) touch: the agent
   * sets its partition here, so a partition's customers can be exported alone (state snapshots).
   */
  ownerTag = 0;
  /** Outcome bits of the latest #addCustomer; a field so that the hot path allocates nothing. */
  #outcome = 0;
  #outOfOrder = 0;
  #tooOld = 0;
  #saturated = 0;

  readonly #terminals = new IdSlots();
  /**
   * Terminal state by day: one array per UTC day of labels, holding per terminal slot its count
   * of labelled transactions at [2 * slot] and of frauds at [2 * slot + 1]. Keyed by day rather
   * than a ring per terminal, so a window reads the same counts however far labels of later days
   * have run ahead: the state never depends on when labels arrived, only on which ones did.
   * Days are dropped only by releaseTerminalDaysBefore, once no transaction to come reads them.
   */
  readonly #termDays = new Map<number, Uint32Array>();
  /** Slots each day array is sized for (they grow on write; reads treat a short one as zeros). */
  #termCapacity = 1024;
  #termEvictedBefore = -Infinity;
  /** Day arrays of the windows of #termCacheCutoff, newest first; rows mostly share a cutoff. */
  readonly #termCache: (Uint32Array | undefined)[] = new Array(TERMINAL_SPAN);
  #termCacheCutoff = NaN;

  constructor(options: FeatureEngineOptions = {}) {
    this.labelDelayMs = options.labelDelayMs ?? DEFAULT_LABEL_DELAY_MS;
    if (!(this.labelDelayMs > 0) || !Number.isFinite(this.labelDelayMs)) {
      // A zero delay would let a row read labels of its own day, possibly its own label.
      throw new RangeError(`label delay must be a positive number of ms, got ${this.labelDelayMs}`);
    }
  }

  /**
   * The first day whose labels the terminal windows of a transaction at eventTimeMs do not read.
   * Those windows read every label of the days before it, so they are exact only once all those
   * labels have been applied (and their days are still held: see releaseTerminalDaysBefore). This is the
   * one definition of what a transaction needs from the label stream, used online (the agent's
   * label join) and offline (the training export's label delay simulator).
   */
  labelCutoffDay(eventTimeMs: number): number {
    return dayOf(eventTimeMs - this.labelDelayMs);
  }

  /** Adds tx to its customer's state, then writes its feature vector at out[offset..]. */
  process(tx: Transaction, out: Float32Array, offset: number): void {
    const slot = this.#addCustomer(tx);
    const outcome = this.#outcome;
    if (outcome === 0) {
      this.#write(tx, slot, 0, 0, out, offset);
      return;
    }
    if (outcome & LATE) this.#outOfOrder++;
    if (outcome & SATURATED) this.#saturated++;
    if (outcome & TOO_OLD) {
      this.#tooOld++;
      // Its windows cannot overlap the days held, so they hold just the transaction itself: the
      // same shape as a first transaction, which the model has seen, rather than a count of 0.
      this.#write(tx, slot, 1, Math.round(tx.amount * 100), out, offset);
    } else {
      this.#write(tx, slot, 0, 0, out, offset);
    }
  }

  /**
   * Adds tx to its customer's windows without scoring it: what `process` does first, and how an
   * agent rebuilds a customer set after a rebalance (re-read the partition's recent history,
   * oldest first, through this method).
   */
  updateCustomer(tx: Transaction): void {
    this.#addCustomer(tx);
  }

  /** Returns tx's customer slot; sets #outcome. */
  #addCustomer(tx: Transaction): number {
    const t = tx.eventTimeMs;
    const day = dayOf(t);
    const slot = this.#customers.getOrAdd(tx.customerId);
    if (this.#customers.lastAddWasNew) this.#resetCustomer(slot, t);
    this.#custTag[slot] = this.ownerTag;
    const last = this.#custLast[slot];
    // last passed dayOf's check when it was stored.
    const newest = Math.floor(last / DAY_MS);
    let outcome = 0;
    if (t >= last) {
      if (day > newest) {
        this.#advanceCustomer(slot, newest, day);
      }
      this.#custLast[slot] = t;
    } else if (day > newest - CUSTOMER_RING) {
      outcome = LATE;
    } else {
      this.#outcome = LATE | TOO_OLD;
      return slot;
    }
    const i = slot * CUSTOMER_RING + mod(day, CUSTOMER_RING);
    const count = this.#custCount[i] + 1;
    const cents = this.#custCents[i] + Math.round(tx.amount * 100);
    if (count <= MAX_DAY_COUNT && cents <= MAX_DAY_CENTS) {
      this.#custCount[i] = count;
      this.#custCents[i] = cents;
    } else {
      outcome |= SATURATED;
      this.#custCount[i] = Math.min(count, MAX_DAY_COUNT);
      this.#custCents[i] = Math.min(cents, MAX_DAY_CENTS);
    }
    this.#outcome = outcome;
    return slot;
  }

  /**
   * Records a label from the feedback stream: terminal terminalId had a (fraud) transaction at
   * that time. Returns false when its day was already evicted (the label is ignored).
   */
  applyLabel(terminalId: number, eventTimeMs: number, fraud: number): boolean {
    const day = dayOf(eventTimeMs);
    if (day < this.#termEvictedBefore) return false;
    const slot = this.#terminals.getOrAdd(terminalId);
    if (slot >= this.#termCapacity) this.#termCapacity = Math.max(slot + 1, this.#termCapacity * 2);
    let counts = this.#termDays.get(day);
    if (counts === undefined || counts.length <= 2 * slot + 1) {
      const grown = new Uint32Array(2 * this.#termCapacity);
      if (counts !== undefined) grown.set(counts);
      this.#termDays.set(day, counts = grown);
      this.#termCacheCutoff = NaN;
    }
    counts[2 * slot]++;
    if (fraud) counts[2 * slot + 1]++;
    return true;
  }

  /**
   * Drops the terminal days that no transaction with a label cutoff day at or after cutoffDay
   * reads, less a week of slack: call it once no transaction still to be scored has an earlier
   * cutoff day.
   */
  releaseTerminalDaysBefore(cutoffDay: number): void {
    const day = cutoffDay - TERMINAL_SPAN - TERMINAL_RELEASE_SLACK_DAYS;
    if (!(day > this.#termEvictedBefore)) return;
    this.#termEvictedBefore = day;
    for (const d of this.#termDays.keys()) if (d < day) this.#termDays.delete(d);
    this.#termCacheCutoff = NaN;
  }

  /**
   * Forgets every label, released days included, before the labels are read again from the
   * start: the agent does so when it is handed a partition behind the days it released.
   */
  dropTerminalDays(): void {
    this.#termDays.clear();
    this.#termEvictedBefore = -Infinity;
    this.#termCacheCutoff = NaN;
  }

  /** Whether the terminal windows of a transaction with this label cutoff day are still held. */
  terminalWindowsHeld(cutoffDay: number): boolean {
    return cutoffDay - TERMINAL_SPAN >= this.#termEvictedBefore;
  }

  /** Days of terminal state held (each costs 8 bytes per terminal slot). */
  get terminalDaysHeld(): number {
    return this.#termDays.size;
  }

  /**
   * Writes tx's features from the current state without changing it. The customer windows
   * include tx only if updateCustomer(tx) ran before; `process` does both.
   */
  writeFeatures(tx: Transaction, out: Float32Array, offset: number): void {
    this.#write(tx, this.#customers.get(tx.customerId), 0, 0, out, offset);
  }

  /** The features of tx from customer slot `slot` (-1: none), plus one extra transaction. */
  #write(
    tx: Transaction,
    slot: number,
    extraCount: number,
    extraCents: number,
    out: Float32Array,
    offset: number,
  ): void {
    const t = tx.eventTimeMs;
    const day = dayOf(t);
    const msOfDay = t - day * DAY_MS;
    const hour = Math.floor(msOfDay / HOUR_MS);
    // 1970-01-01 was a Thursday (weekday 4, Sunday = 0).
    const weekday = mod(day + 4, 7);
    let o = offset;
    out[o++] = tx.amount;
    out[o++] = weekday === 0 || weekday === 6 ? 1 : 0;
    out[o++] = hour < NIGHT_BEFORE_HOUR ? 1 : 0;
    out[o++] = hour;
    o = this.#writeCustomer(slot, day, extraCount, extraCents, out, o);
    this.#writeTerminal(tx.terminalId, dayOf(t - this.labelDelayMs), out, o);
  }

  #writeCustomer(
    slot: number,
    day: number,
    count: number,
    cents: number,
    out: Float32Array,
    o: number,
  ): number {
    // Day day-k is held for k in [first, first + ring): the ring ends at the newest day. The
    // bucket index steps back one day per k, so the loop needs no modulo.
    const first = slot >= 0 ? day - Math.floor(this.#custLast[slot] / DAY_MS) : Infinity;
    const base = slot * CUSTOMER_RING;
    let i = base + mod(day, CUSTOMER_RING);
    let w = 0;
    for (let k = 0; w < CUSTOMER_WINDOW_DAYS.length; k++) {
      if (k >= first && k < first + CUSTOMER_RING) {
        count += this.#custCount[i];
        cents += this.#custCents[i];
      }
      i = i === base ? base + CUSTOMER_RING - 1 : i - 1;
      if (k === CUSTOMER_WINDOW_DAYS[w]) {
        out[o++] = count;
        out[o++] = count > 0 ? cents / count / 100 : 0;
        w++;
      }
    }
    return o;
  }

  #writeTerminal(terminalId: number, cutoffDay: number, out: Float32Array, o: number): void {
    const slot = this.#terminals.get(terminalId);
    if (cutoffDay !== this.#termCacheCutoff) {
      for (let k = 1; k <= TERMINAL_SPAN; k++) {
        this.#termCache[k - 1] = this.#termDays.get(cutoffDay - k);
      }
      this.#termCacheCutoff = cutoffDay;
    }
    const i = 2 * slot;
    let count = 0;
    let fraud = 0;
    let w = 0;
    for (let k = 1; w < TERMINAL_WINDOW_DAYS.length; k++) {
      const counts = this.#termCache[k - 1];
      if (slot >= 0 && counts !== undefined && i < counts.length) {
        count += counts[i];
        fraud += counts[i + 1];
      }
      if (k === TERMINAL_WINDOW_DAYS[w]) {
        out[o++] = count;
        out[o++] = count > 0 ? fraud / count : 0;
        w++;
      }
    }
  }

  /** Clears a customer's buckets of the days after `from` up to `to` (at most the whole ring). */
  #advanceCustomer(slot: number, from: number, to: number): void {
    const base = slot * CUSTOMER_RING;
    const steps = Math.min(to - from, CUSTOMER_RING);
    for (let s = 1; s <= steps; s++) {
      const i = base + mod(from + s, CUSTOMER_RING);
      this.#custCount[i] = 0;
      this.#custCents[i] = 0;
    }
  }

  /** Empties a slot just handed out (possibly one a dropped customer left). */
  #resetCustomer(slot: number, eventTimeMs: number): void {
    if (slot >= this.#custLast.length) {
      // Grows by half rather than doubling: customer state is what an agent's memory is sized
      // by, and at most a third of the allocation is then spare; copies still amortise to O(1).
      const cap = Math.max(1024, Math.ceil(this.#custLast.length * 1.5));
      this.#custLast = grow(this.#custLast, cap);
      this.#custCount = grow(this.#custCount, cap * CUSTOMER_RING);
      this.#custCents = grow(this.#custCents, cap * CUSTOMER_RING);
      this.#custTag = grow(this.#custTag, cap);
    }
    this.#custLast[slot] = eventTimeMs;
    this.#custCount.fill(0, slot * CUSTOMER_RING, (slot + 1) * CUSTOMER_RING);
    this.#custCents.fill(0, slot * CUSTOMER_RING, (slot + 1) * CUSTOMER_RING);
  }

  /** The ownerTag of a customer's latest transaction, or -1 when the customer has no state. */
  tagOf(customerId: number): number {
    const slot = this.#customers.get(customerId);
    return slot < 0 ? -1 : this.#custTag[slot];
  }

  /** Number of customers and terminals with state. */
  get customerCount(): number {
    return this.#customers.size;
  }

  get terminalCount(): number {
    return this.#terminals.size;
  }

  /** A copy of the out-of-order and saturation counters (for /stats and the export header). */
  get counters(): EngineCounters {
    return { outOfOrder: this.#outOfOrder, tooOld: this.#tooOld, saturated: this.#saturated };
  }

  memory(): EngineMemory {
    const perCustomer = 8 + CUSTOMER_RING * (2 + 4);
    // 8 bytes per held day; the agent holds the longest window plus the days labels run ahead.
    const perTerminal = 8 * Math.max(this.#termDays.size, TERMINAL_SPAN + 1);
    let terminalBytes = this.#terminals.indexBytes();
    for (const counts of this.#termDays.values()) terminalBytes += counts.byteLength;
    return {
      customers: this.#customers.size,
      terminals: this.#terminals.size,
      customerBytes: this.#custLast.byteLength + this.#custCount.byteLength +
        this.#custCents.byteLength + this.#customers.indexBytes(),
      terminalBytes,
      bytesPerCustomerSlot: perCustomer,
      bytesPerTerminalSlot: perTerminal,
    };
  }

  /**
   * Serialises the state of the customers `select` accepts (all by default; it is given the
   * customer id and its ownerTag), e.g. the customers of one partition for a state snapshot. Layout after the 16-byte head: ids and newest event
   * times (float64 each), then per customer its ring of cents (uint32) and of counts (uint16).
   * Little-endian host byte order (a local snapshot, not a wire format).
   */
  exportCustomers(
    select: (customerId: number, tag: number) => boolean = () => true,
  ): Uint8Array {
    const ids: number[] = [];
    const slots: number[] = [];
    this.#customers.forEach((id, slot) => {
      if (select(id, this.#custTag[slot])) {
        ids.push(id);
        slots.push(slot);
      }
    });
    const n = ids.length;
    const buf = new ArrayBuffer(snapshotBytes(n));
    const view = snapshotViews(buf, 0, n);
    view.head.set([SNAPSHOT_MAGIC, CUSTOMER_RING, n, 0]);
    view.ids.set(ids);
    slots.forEach((s, j) => {
      view.last[j] = this.#custLast[s];
      const from = s * CUSTOMER_RING;
      view.cents.set(this.#custCents.subarray(from, from + CUSTOMER_RING), j * CUSTOMER_RING);
      view.counts.set(this.#custCount.subarray(from, from + CUSTOMER_RING), j * CUSTOMER_RING);
    });
    return new Uint8Array(buf);
  }

  /**
   * Loads a snapshot from exportCustomers, replacing those customers' state and giving them the
   * current ownerTag; returns the count.
   */
  importCustomers(snapshot: Uint8Array): number {
    const bytes = snapshot.byteOffset % 8 === 0 ? snapshot : snapshot.slice();
    const head = bytes.byteLength >= 16 ? new Uint32Array(bytes.buffer, bytes.byteOffset, 4) : [];
    if (head[0] !== SNAPSHOT_MAGIC || head[1] !== CUSTOMER_RING) {
      throw new RangeError("not a customer state snapshot of this feature engine (FSC2)");
    }
    const n = head[2];
    if (bytes.byteLength !== snapshotBytes(n)) {
      throw new RangeError("customer state snapshot is truncated");
    }
    const view = snapshotViews(bytes.buffer, bytes.byteOffset, n);
    for (let j = 0; j < n; j++) {
      const s = this.#customers.getOrAdd(view.ids[j]);
      if (this.#customers.lastAddWasNew) this.#resetCustomer(s, view.last[j]);
      this.#custLast[s] = view.last[j];
      this.#custTag[s] = this.ownerTag;
      const from = j * CUSTOMER_RING;
      this.#custCents.set(view.cents.subarray(from, from + CUSTOMER_RING), s * CUSTOMER_RING);
      this.#custCount.set(view.counts.subarray(from, from + CUSTOMER_RING), s * CUSTOMER_RING);
    }
    return n;
  }

  /**
   * Forgets the customers `select` accepts (given the id and its ownerTag: partitions revoked in a
   * rebalance); returns the count.
   */
  dropCustomers(select: (customerId: number, tag: number) => boolean): number {
    let dropped = 0;
    this.#customers.forEach((id, slot) => {
      if (select(id, this.#custTag[slot])) {
        this.#customers.delete(id);
        dropped++;
      }
    });
    return dropped;
  }
}

function snapshotBytes(n: number): number {
  return 16 + 16 * n + (4 + 2) * n * CUSTOMER_RING;
}

function snapshotViews(buf: ArrayBufferLike, base: number, n: number) {
  const centsAt = base + 16 + 16 * n;
  const countsAt = centsAt + 4 * n * CUSTOMER_RING;
  return {
    head: new Uint32Array(buf, base, 4),
    ids: new Float64Array(buf, base + 16, n),
    last: new Float64Array(buf, base + 16 + 8 * n, n),
    cents: new Uint32Array(buf, centsAt, n * CUSTOMER_RING),
    counts: new Uint16Array(buf, countsAt, n * CUSTOMER_RING),
  };
}

/** Day index (whole UTC days since the epoch) of an event time. */
export function dayOf(eventTimeMs: number): number {
  if (!Number.isFinite(eventTimeMs)) {
    // Validation upstream rejects rows without a time; reaching here is a bug, not dirty data.
    throw new RangeError(`feature engine: event time is not a number (${eventTimeMs})`);
  }
  return Math.floor(eventTimeMs / DAY_MS);
}

function grow<T extends Float64Array | Uint32Array | Uint16Array | Int32Array>(
  a: T,
  length: number,
): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}
