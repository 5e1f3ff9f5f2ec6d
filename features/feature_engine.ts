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

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * Customer state covers the longest window plus the current day. Windows are whole UTC days so
 * that day buckets give exact answers (a sliding 24 h window would need every transaction kept):
 * the w-day window of a transaction on day d is days d-w .. d, up to and including the
 * transaction itself, which is counted before its own features are written. Including it keeps
 * the mean defined (never 0/0) and makes scoring one call: update, then read.
 */
const CUSTOMER_RING = Math.max(...CUSTOMER_WINDOW_DAYS) + 1;

/**
 * Terminal windows read the days before the cutoff day (the day of t - delay); labels for the
 * cutoff day itself and for later days are kept but not read yet. The extra days beyond the
 * longest window absorb labels that arrive ahead of the transactions (an agent with a consumer
 * lag reads the labels topic sooner than its own backlog): up to this many days ahead the
 * terminal features stay exact.
 */
const TERMINAL_LEAD_DAYS = 14;
const TERMINAL_RING = Math.max(...TERMINAL_WINDOW_DAYS) + 1 + TERMINAL_LEAD_DAYS;

/** First four bytes of an exported customer snapshot ("FSC1"), then ring size and count. */
const SNAPSHOT_MAGIC = 0x31435346;

export interface FeatureEngineOptions {
  /** Event time after which a transaction's label may be used; default 7 days. */
  labelDelayMs?: number;
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
 * Out-of-order input is tolerated, not exact: a transaction older than a customer's newest day
 * is added to its own day if that day is still in the ring (30 days) and dropped otherwise.
 */
export class FeatureEngine {
  readonly width = FEATURE_COUNT;
  readonly version = FEATURE_LIST_VERSION;
  readonly labelDelayMs: number;

  readonly #customers = new IdSlots();
  #custId = new Float64Array(0);
  /** Newest day index (days since the epoch) per customer slot; the ring ends there. */
  #custDay = new Int32Array(0);
  #custCount = new Uint32Array(0);
  /** Amounts in integer cents (amounts have 2 decimals) so sums are exact in any order. */
  #custCents = new Float64Array(0);

  readonly #terminals = new IdSlots();
  #termDay = new Int32Array(0);
  #termCount = new Uint32Array(0);
  #termFraud = new Uint32Array(0);

  constructor(options: FeatureEngineOptions = {}) {
    this.labelDelayMs = options.labelDelayMs ?? DEFAULT_LABEL_DELAY_MS;
    if (!(this.labelDelayMs > 0) || !Number.isFinite(this.labelDelayMs)) {
      // A zero delay would let a row read labels of its own day, possibly its own label.
      throw new RangeError(`label delay must be a positive number of ms, got ${this.labelDelayMs}`);
    }
  }

  /** Adds tx to its customer's state, then writes its feature vector at out[offset..]. */
  process(tx: Transaction, out: Float32Array, offset: number): void {
    this.updateCustomer(tx);
    this.writeFeatures(tx, out, offset);
  }

  /**
   * Adds tx to its customer's windows without scoring it: what `process` does first, and how an
   * agent rebuilds a customer set after a rebalance (re-read the partition's recent history,
   * oldest first, through this method).
   */
  updateCustomer(tx: Transaction): void {
    const day = dayOf(tx.eventTimeMs);
    const slot = this.#customerSlot(tx.customerId, day);
    const newest = this.#custDay[slot];
    if (day > newest) {
      this.#advance(this.#custCount, this.#custCents, slot, CUSTOMER_RING, newest, day);
      this.#custDay[slot] = day;
    } else if (day <= newest - CUSTOMER_RING) {
      return;
    }
    const i = slot * CUSTOMER_RING + mod(day, CUSTOMER_RING);
    this.#custCount[i]++;
    this.#custCents[i] += Math.round(tx.amount * 100);
  }

  /** Records a label from the feedback stream: terminal terminalId had a (fraud) tx at that time. */
  applyLabel(terminalId: number, eventTimeMs: number, fraud: number): void {
    const day = dayOf(eventTimeMs);
    const slot = this.#terminals.getOrAdd(terminalId);
    if (this.#terminals.lastAddWasNew) {
      this.#ensureTerminalCapacity(slot);
      this.#termCount.fill(0, slot * TERMINAL_RING, (slot + 1) * TERMINAL_RING);
      this.#termFraud.fill(0, slot * TERMINAL_RING, (slot + 1) * TERMINAL_RING);
      this.#termDay[slot] = day;
    }
    const newest = this.#termDay[slot];
    if (day > newest) {
      this.#advance(this.#termCount, this.#termFraud, slot, TERMINAL_RING, newest, day);
      this.#termDay[slot] = day;
    } else if (day <= newest - TERMINAL_RING) {
      return;
    }
    const i = slot * TERMINAL_RING + mod(day, TERMINAL_RING);
    this.#termCount[i]++;
    if (fraud) this.#termFraud[i]++;
  }

  /**
   * Writes tx's features from the current state without changing it. The customer windows
   * include tx only if updateCustomer(tx) ran before; `process` does both.
   */
  writeFeatures(tx: Transaction, out: Float32Array, offset: number): void {
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
    o = this.#writeCustomer(tx.customerId, day, out, o);
    this.#writeTerminal(tx.terminalId, dayOf(t - this.labelDelayMs), out, o);
  }

  #writeCustomer(customerId: number, day: number, out: Float32Array, o: number): number {
    const slot = this.#customers.get(customerId);
    const newest = slot >= 0 ? this.#custDay[slot] : 0;
    let count = 0;
    let cents = 0;
    let w = 0;
    for (let k = 0; w < CUSTOMER_WINDOW_DAYS.length; k++) {
      const d = day - k;
      if (slot >= 0 && d <= newest && d > newest - CUSTOMER_RING) {
        const i = slot * CUSTOMER_RING + mod(d, CUSTOMER_RING);
        count += this.#custCount[i];
        cents += this.#custCents[i];
      }
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
    const newest = slot >= 0 ? this.#termDay[slot] : 0;
    let count = 0;
    let fraud = 0;
    let w = 0;
    for (let k = 1; w < TERMINAL_WINDOW_DAYS.length; k++) {
      const d = cutoffDay - k;
      if (slot >= 0 && d <= newest && d > newest - TERMINAL_RING) {
        const i = slot * TERMINAL_RING + mod(d, TERMINAL_RING);
        count += this.#termCount[i];
        fraud += this.#termFraud[i];
      }
      if (k === TERMINAL_WINDOW_DAYS[w]) {
        out[o++] = count;
        out[o++] = count > 0 ? fraud / count : 0;
        w++;
      }
    }
  }

  /** Clears the buckets of the days after `from` up to `to` (at most the whole ring). */
  #advance(
    a: Uint32Array,
    b: Float64Array | Uint32Array,
    slot: number,
    ring: number,
    from: number,
    to: number,
  ): void {
    const base = slot * ring;
    const steps = Math.min(to - from, ring);
    for (let s = 1; s <= steps; s++) {
      const i = base + mod(from + s, ring);
      a[i] = 0;
      b[i] = 0;
    }
  }

  #customerSlot(customerId: number, day: number): number {
    const slot = this.#customers.getOrAdd(customerId);
    if (this.#customers.lastAddWasNew) {
      this.#ensureCustomerCapacity(slot);
      this.#custId[slot] = customerId;
      this.#custDay[slot] = day;
      this.#custCount.fill(0, slot * CUSTOMER_RING, (slot + 1) * CUSTOMER_RING);
      this.#custCents.fill(0, slot * CUSTOMER_RING, (slot + 1) * CUSTOMER_RING);
    }
    return slot;
  }

  #ensureCustomerCapacity(slot: number): void {
    if (slot < this.#custDay.length) return;
    const cap = Math.max(1024, this.#custDay.length * 2);
    this.#custId = grow(this.#custId, cap);
    this.#custDay = grow(this.#custDay, cap);
    this.#custCount = grow(this.#custCount, cap * CUSTOMER_RING);
    this.#custCents = grow(this.#custCents, cap * CUSTOMER_RING);
  }

  #ensureTerminalCapacity(slot: number): void {
    if (slot < this.#termDay.length) return;
    const cap = Math.max(1024, this.#termDay.length * 2);
    this.#termDay = grow(this.#termDay, cap);
    this.#termCount = grow(this.#termCount, cap * TERMINAL_RING);
    this.#termFraud = grow(this.#termFraud, cap * TERMINAL_RING);
  }

  /** Number of customers and terminals with state. */
  get customerCount(): number {
    return this.#customers.size;
  }

  get terminalCount(): number {
    return this.#terminals.size;
  }

  memory(): EngineMemory {
    const perCustomer = 8 + 4 + CUSTOMER_RING * (4 + 8);
    const perTerminal = 4 + TERMINAL_RING * (4 + 4);
    return {
      customers: this.#customers.size,
      terminals: this.#terminals.size,
      customerBytes: this.#custId.byteLength + this.#custDay.byteLength +
        this.#custCount.byteLength + this.#custCents.byteLength + this.#customers.indexBytes(),
      terminalBytes: this.#termDay.byteLength + this.#termCount.byteLength +
        this.#termFraud.byteLength + this.#terminals.indexBytes(),
      bytesPerCustomerSlot: perCustomer,
      bytesPerTerminalSlot: perTerminal,
    };
  }

  /**
   * Serialises the state of the customers `select` accepts (all by default), e.g. the customers
   * of one partition before handing it over. Little-endian host byte order (a local snapshot,
   * not a wire format).
   */
  exportCustomers(select: (customerId: number) => boolean = () => true): Uint8Array {
    const slots: number[] = [];
    for (let s = 0; s < this.#customers.highWater; s++) {
      const id = this.#custId[s];
      if (this.#customers.get(id) === s && select(id)) slots.push(s);
    }
    const n = slots.length;
    const idsAt = 16;
    const centsAt = idsAt + 8 * n;
    const dayAt = centsAt + 8 * n * CUSTOMER_RING;
    const countAt = dayAt + 4 * n;
    const buf = new ArrayBuffer(countAt + 4 * n * CUSTOMER_RING);
    new Uint32Array(buf, 0, 4).set([SNAPSHOT_MAGIC, CUSTOMER_RING, n, 0]);
    const ids = new Float64Array(buf, idsAt, n);
    const cents = new Float64Array(buf, centsAt, n * CUSTOMER_RING);
    const days = new Int32Array(buf, dayAt, n);
    const counts = new Uint32Array(buf, countAt, n * CUSTOMER_RING);
    slots.forEach((s, j) => {
      ids[j] = this.#custId[s];
      days[j] = this.#custDay[s];
      const from = s * CUSTOMER_RING;
      cents.set(this.#custCents.subarray(from, from + CUSTOMER_RING), j * CUSTOMER_RING);
      counts.set(this.#custCount.subarray(from, from + CUSTOMER_RING), j * CUSTOMER_RING);
    });
    return new Uint8Array(buf);
  }

  /** Loads a snapshot from exportCustomers, replacing those customers' state; returns count. */
  importCustomers(snapshot: Uint8Array): number {
    const bytes = snapshot.byteOffset % 8 === 0 ? snapshot : snapshot.slice();
    const head = bytes.byteLength >= 16 ? new Uint32Array(bytes.buffer, bytes.byteOffset, 4) : [];
    if (head[0] !== SNAPSHOT_MAGIC || head[1] !== CUSTOMER_RING) {
      throw new RangeError("not a customer state snapshot of this feature engine");
    }
    const n = head[2];
    const base = bytes.byteOffset;
    const centsAt = 16 + 8 * n;
    const dayAt = centsAt + 8 * n * CUSTOMER_RING;
    const countAt = dayAt + 4 * n;
    if (bytes.byteLength !== countAt + 4 * n * CUSTOMER_RING) {
      throw new RangeError("customer state snapshot is truncated");
    }
    const ids = new Float64Array(bytes.buffer, base + 16, n);
    const cents = new Float64Array(bytes.buffer, base + centsAt, n * CUSTOMER_RING);
    const days = new Int32Array(bytes.buffer, base + dayAt, n);
    const counts = new Uint32Array(bytes.buffer, base + countAt, n * CUSTOMER_RING);
    for (let j = 0; j < n; j++) {
      const s = this.#customerSlot(ids[j], days[j]);
      this.#custDay[s] = days[j];
      const from = j * CUSTOMER_RING;
      this.#custCents.set(cents.subarray(from, from + CUSTOMER_RING), s * CUSTOMER_RING);
      this.#custCount.set(counts.subarray(from, from + CUSTOMER_RING), s * CUSTOMER_RING);
    }
    return n;
  }

  /** Forgets the customers `select` accepts (partitions revoked in a rebalance); returns count. */
  dropCustomers(select: (customerId: number) => boolean): number {
    let dropped = 0;
    for (let s = 0; s < this.#customers.highWater; s++) {
      const id = this.#custId[s];
      if (this.#customers.get(id) === s && select(id)) {
        this.#customers.delete(id);
        dropped++;
      }
    }
    return dropped;
  }
}

/** Day index (whole UTC days since the epoch) of an event time. */
export function dayOf(eventTimeMs: number): number {
  if (!Number.isFinite(eventTimeMs)) {
    // Validation upstream rejects rows without a time; reaching here is a bug, not dirty data.
    throw new RangeError(`feature engine: event time is not a number (${eventTimeMs})`);
  }
  return Math.floor(eventTimeMs / DAY_MS);
}

function grow<T extends Float64Array | Int32Array | Uint32Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}
