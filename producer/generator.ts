import { LineBuffer } from "./line_buffer.ts";
import { RETROSPECTIVE_HEADER } from "../transactions/transaction.ts";
import { Rng } from "./prng.ts";
import { F_AMOUNT } from "../transactions/row_fields.ts";

/**
 * A statistically faithful stand-in for the bank's retrospective files, after the Fraud
 * Detection Handbook's simulator (chapter 3), generated one day at a time so that memory stays
 * bounded by one day whatever --days is.
 */

/** Share of rows (garbage: extra lines per row) that get each kind of dirt. */
export interface DirtRates {
  duplicateId: number;
  emptyTerminal: number;
  negativeCustomer: number;
  missingDatetime: number;
  wrongTimeDays: number;
  garbage: number;
}

export const DEFAULT_DIRT: DirtRates = {
  duplicateId: 0.002,
  emptyTerminal: 0.003,
  negativeCustomer: 0.002,
  missingDatetime: 0.002,
  wrongTimeDays: 0.003,
  garbage: 0.001,
};

export const NO_DIRT: DirtRates = {
  duplicateId: 0,
  emptyTerminal: 0,
  negativeCustomer: 0,
  missingDatetime: 0,
  wrongTimeDays: 0,
  garbage: 0,
};

export interface GeneratorConfig {
  customers: number;
  terminals: number;
  days: number;
  /** Midnight UTC of day 0, epoch milliseconds: the origin of tx_time_seconds. */
  startMs: number;
  seed: number;
  dirt: DirtRates;
}

/** The Handbook's constants. */
const GRID = 100;
const RADIUS = 5;
const MEAN_AMOUNT_MIN = 5;
const MEAN_AMOUNT_MAX = 100;
const MEAN_TX_PER_DAY_MAX = 4;
const TIME_MEAN = 43_200;
const TIME_STD = 20_000;
const SECONDS_PER_DAY = 86_400;
const SCENARIO1_CENTS = 22_000;
const SCENARIO2_TERMINALS_PER_DAY = 2;
const SCENARIO2_DAYS = 28;
const SCENARIO3_CUSTOMERS_PER_DAY = 3;
const SCENARIO3_DAYS = 14;
const SCENARIO3_SHARE = 1 / 3;
const SCENARIO3_FACTOR = 5;

/** Streams of one seed (see Rng). */
const STREAM_PROFILES = 0;
const STREAM_TRANSACTIONS = 1;
const STREAM_FRAUD = 2;
const STREAM_DIRT = 3;

/** Counts of what was written, for the command's summary and the tests. */
export interface GeneratorCounts {
  rows: number;
  fraud: number;
  byScenario: [number, number, number, number];
  duplicateId: number;
  emptyTerminal: number;
  negativeCustomer: number;
  missingDatetime: number;
  wrongTimeDays: number;
  garbage: number;
}

export class DataSetGenerator {
  readonly config: GeneratorConfig;
  readonly counts: GeneratorCounts = {
    rows: 0,
    fraud: 0,
    byScenario: [0, 0, 0, 0],
    duplicateId: 0,
    emptyTerminal: 0,
    negativeCustomer: 0,
    missingDatetime: 0,
    wrongTimeDays: 0,
    garbage: 0,
  };
  /** The day that nextDayChunks simulates next. */
  day = 0;

  private readonly txRng: Rng;
  private readonly fraudRng: Rng;
  private readonly dirtRng: Rng;

  private readonly meanCents: Float64Array;
  private readonly meanTxPerDay: Float64Array;
  /** Terminals within reach of each customer, as CSR: reach[reachStart[c] .. reachStart[c+1]). */
  private readonly reachStart: Int32Array;
  private readonly reach: Int32Array;
  /** First day on which a compromise no longer applies (0 = never compromised). */
  private readonly terminalCompromisedUntil: Int32Array;
  private readonly customerCompromisedUntil: Int32Array;

  /** One simulated day, struct of arrays, reused and grown as needed. */
  private n = 0;
  private time: Int32Array = new Int32Array(16_384);
  private customer: Int32Array = new Int32Array(16_384);
  private terminal: Int32Array = new Int32Array(16_384);
  private cents: Float64Array = new Float64Array(16_384);
  /** The same rows in time order (indices into the arrays above). */
  private order: Int32Array = new Int32Array(16_384);
  private readonly timeCounts = new Int32Array(SECONDS_PER_DAY + 1);

  private nextId = 0;
  private lastWrittenId = -1;

  constructor(config: GeneratorConfig) {
    this.config = config;
    const { customers, terminals, seed } = config;
    const profiles = new Rng(seed, STREAM_PROFILES);
    this.txRng = new Rng(seed, STREAM_TRANSACTIONS);
    this.fraudRng = new Rng(seed, STREAM_FRAUD);
    this.dirtRng = new Rng(seed, STREAM_DIRT);

    const cx = new Float64Array(customers);
    const cy = new Float64Array(customers);
    this.meanCents = new Float64Array(customers);
    this.meanTxPerDay = new Float64Array(customers);
    for (let c = 0; c < customers; c++) {
      cx[c] = profiles.uniform() * GRID;
      cy[c] = profiles.uniform() * GRID;
      this.meanCents[c] = (MEAN_AMOUNT_MIN +
        profiles.uniform() * (MEAN_AMOUNT_MAX - MEAN_AMOUNT_MIN)) * 100;
      this.meanTxPerDay[c] = profiles.uniform() * MEAN_TX_PER_DAY_MAX;
    }
    const tx = new Float64Array(terminals);
    const ty = new Float64Array(terminals);
    for (let t = 0; t < terminals; t++) {
      tx[t] = profiles.uniform() * GRID;
      ty[t] = profiles.uniform() * GRID;
    }
    [this.reachStart, this.reach] = terminalsInReach(cx, cy, tx, ty);
    this.terminalCompromisedUntil = new Int32Array(terminals);
    this.customerCompromisedUntil = new Int32Array(customers);
  }

  /** "YYYY-MM-DD" of a day of the data set: its file's name without extension. */
  dateOfDay(day: number): string {
    return new Date(this.config.startMs + day * 86_400_000).toISOString().slice(0, 10);
  }

  /**
   * Simulates the next day and yields its file, header first, as chunks of about chunkBytes.
   * Every chunk is a fresh array, so a consumer may hold on to it (stream pipelines do).
   */
  *nextDayChunks(chunkBytes = 256 * 1024): Generator<Uint8Array> {
    const day = this.day++;
    this.compromise(day);
    this.simulate();
    this.sortByTime();
    const out = new LineBuffer(Math.max(chunkBytes, 4096));
    out.ascii(RETROSPECTIVE_HEADER);
    out.byte(NEWLINE);
    const datePrefix = new TextEncoder().encode(this.dateOfDay(day) + " ");
    for (let k = 0; k < this.n; k++) {
      this.writeRow(out, day, datePrefix, this.order[k]);
      if (out.full()) yield out.take();
    }
    if (out.length > 0) yield out.take();
  }

  /** Scenario 2 and 3 draws of the day (the Handbook samples them without replacement). */
  private compromise(day: number): void {
    const { terminals, customers } = this.config;
    drawDistinct(this.fraudRng, terminals, SCENARIO2_TERMINALS_PER_DAY, (t) => {
      this.terminalCompromisedUntil[t] = Math.max(
        this.terminalCompromisedUntil[t],
        day + SCENARIO2_DAYS,
      );
    });
    drawDistinct(this.fraudRng, customers, SCENARIO3_CUSTOMERS_PER_DAY, (c) => {
      this.customerCompromisedUntil[c] = Math.max(
        this.customerCompromisedUntil[c],
        day + SCENARIO3_DAYS,
      );
    });
  }

  private simulate(): void {
    const rng = this.txRng;
    this.n = 0;
    for (let c = 0; c < this.config.customers; c++) {
      const count = rng.poisson(this.meanTxPerDay[c]);
      const from = this.reachStart[c];
      const reachable = this.reachStart[c + 1] - from;
      const mean = this.meanCents[c];
      for (let k = 0; k < count; k++) {
        // The Handbook truncates the normal draw to whole seconds and discards times off the day.
        const time = Math.trunc(TIME_MEAN + TIME_STD * rng.normal());
        if (time <= 0 || time >= SECONDS_PER_DAY) continue;
        let amount = mean + (mean / 2) * rng.normal();
        if (amount < 0) amount = rng.uniform() * 2 * mean;
        if (reachable === 0) continue;
        const terminal = this.reach[from + rng.below(reachable)];
        this.push(time, c, terminal, Math.round(amount));
      }
    }
  }

  private push(time: number, customer: number, terminal: number, cents: number): void {
    if (this.n === this.time.length) {
      const size = this.n * 2;
      this.time = grow(this.time, size);
      this.customer = grow(this.customer, size);
      this.terminal = grow(this.terminal, size);
      this.cents = growF(this.cents, size);
      this.order = new Int32Array(size);
    }
    const i = this.n++;
    this.time[i] = time;
    this.customer[i] = customer;
    this.terminal[i] = terminal;
    this.cents[i] = cents;
  }

  /** Counting sort on the second of the day: linear, and stable, so ties keep customer order. */
  private sortByTime(): void {
    const counts = this.timeCounts;
    counts.fill(0);
    for (let i = 0; i < this.n; i++) counts[this.time[i] + 1]++;
    for (let s = 1; s <= SECONDS_PER_DAY; s++) counts[s] += counts[s - 1];
    for (let i = 0; i < this.n; i++) this.order[counts[this.time[i]]++] = i;
  }

  private writeRow(out: LineBuffer, day: number, datePrefix: Uint8Array, i: number): void {
    const dirt = this.config.dirt;
    const rng = this.dirtRng;
    const customer = this.customer[i];
    const terminal = this.terminal[i];
    const timeOfDay = this.time[i];
    let cents = this.cents[i];

    let scenario = 0;
    if (cents > SCENARIO1_CENTS) scenario = 1;
    if (this.terminalCompromisedUntil[terminal] > day) scenario = 2;
    if (
      this.customerCompromisedUntil[customer] > day && this.fraudRng.uniform() < SCENARIO3_SHARE
    ) {
      cents *= SCENARIO3_FACTOR;
      scenario = 3;
    }

    let id = this.nextId++;
    const counts = this.counts;
    if (this.lastWrittenId >= 0 && rng.uniform() < dirt.duplicateId) {
      id = this.lastWrittenId;
      counts.duplicateId++;
    }
    this.lastWrittenId = id;

    const lineStart = out.length;
    out.uint(id);
    out.byte(COMMA);
    if (rng.uniform() < dirt.missingDatetime) {
      counts.missingDatetime++;
    } else {
      out.bytes(datePrefix);
      out.clock(timeOfDay);
    }
    out.byte(COMMA);
    if (rng.uniform() < dirt.negativeCustomer) {
      out.byte(MINUS);
      counts.negativeCustomer++;
    }
    out.uint(customer);
    out.byte(COMMA);
    if (rng.uniform() < dirt.emptyTerminal) {
      counts.emptyTerminal++;
    } else {
      out.uint(terminal);
    }
    out.byte(COMMA);
    out.amount(cents);
    out.byte(COMMA);
    out.uint(day * SECONDS_PER_DAY + timeOfDay);
    out.byte(COMMA);
    if (rng.uniform() < dirt.wrongTimeDays) {
      // Off by one either way, as a day boundary computed in another time zone would be.
      out.uint(day === 0 || rng.uniform() < 0.5 ? day + 1 : day - 1);
      counts.wrongTimeDays++;
    } else {
      out.uint(day);
    }
    out.byte(COMMA);
    out.byte(scenario === 0 ? ZERO : ZERO + 1);
    out.byte(COMMA);
    out.byte(ZERO + scenario);
    out.byte(NEWLINE);

    counts.rows++;
    if (scenario !== 0) counts.fraud++;
    counts.byScenario[scenario]++;

    if (rng.uniform() < dirt.garbage) {
      counts.garbage++;
      this.writeGarbage(out, lineStart);
    }
  }

  /**
   * An extra line no parser can accept, after the row it was made from: a row cut short (its
   * last field is then empty or missing), a non-numeric amount, or noise without commas.
   */
  private writeGarbage(out: LineBuffer, lineStart: number): void {
    const rng = this.dirtRng;
    const lineEnd = out.length - 1;
    const kind = rng.below(3);
    if (kind === 0) {
      out.repeat(lineStart, lineStart + 1 + rng.below(lineEnd - lineStart - 1));
    } else if (kind === 1) {
      const amountStart = out.indexOf(COMMA, lineStart, F_AMOUNT) + 1;
      out.repeat(lineStart, amountStart);
      out.ascii("N/A");
      out.repeat(out.indexOf(COMMA, amountStart, 1), lineEnd);
    } else {
      const length = 5 + rng.below(36);
      for (let i = 0; i < length; i++) out.byte(0x61 + rng.below(26));
    }
    out.byte(NEWLINE);
  }
}

/** Calls take(i) for `count` distinct integers of [0, n) (all of them when n <= count). */
function drawDistinct(rng: Rng, n: number, count: number, take: (i: number) => void): void {
  if (n <= count) {
    for (let i = 0; i < n; i++) take(i);
    return;
  }
  const chosen: number[] = [];
  while (chosen.length < count) {
    const i = rng.below(n);
    if (!chosen.includes(i)) chosen.push(i);
  }
  for (const i of chosen) take(i);
}

/**
 * Terminals within RADIUS of each customer, by bucketing terminals on a grid of RADIUS-sized
 * cells: each customer then checks 3x3 cells instead of every terminal (the naive scan is
 * customers x terminals distance checks, 50 million for the Handbook's set).
 */
function terminalsInReach(
  cx: Float64Array,
  cy: Float64Array,
  tx: Float64Array,
  ty: Float64Array,
): [Int32Array, Int32Array] {
  const cells = Math.ceil(GRID / RADIUS);
  const cellOf = (x: number, y: number) =>
    Math.min(cells - 1, Math.floor(y / RADIUS)) * cells +
    Math.min(cells - 1, Math.floor(x / RADIUS));
  const cellStart = new Int32Array(cells * cells + 1);
  for (let t = 0; t < tx.length; t++) cellStart[cellOf(tx[t], ty[t]) + 1]++;
  for (let k = 1; k < cellStart.length; k++) cellStart[k] += cellStart[k - 1];
  const fill = cellStart.slice(0, cells * cells);
  const byCell = new Int32Array(tx.length);
  for (let t = 0; t < tx.length; t++) byCell[fill[cellOf(tx[t], ty[t])]++] = t;

  const start = new Int32Array(cx.length + 1);
  let reach: Int32Array = new Int32Array(Math.max(1024, cx.length * 16));
  let n = 0;
  const r2 = RADIUS * RADIUS;
  for (let c = 0; c < cx.length; c++) {
    start[c] = n;
    const col = Math.min(cells - 1, Math.floor(cx[c] / RADIUS));
    const row = Math.min(cells - 1, Math.floor(cy[c] / RADIUS));
    for (let r = Math.max(0, row - 1); r <= Math.min(cells - 1, row + 1); r++) {
      for (let q = Math.max(0, col - 1); q <= Math.min(cells - 1, col + 1); q++) {
        const cell = r * cells + q;
        for (let k = cellStart[cell]; k < cellStart[cell + 1]; k++) {
          const t = byCell[k];
          const dx = tx[t] - cx[c];
          const dy = ty[t] - cy[c];
          if (dx * dx + dy * dy >= r2) continue;
          if (n === reach.length) reach = grow(reach, n * 2);
          reach[n++] = t;
        }
      }
    }
    // Ascending terminal ids, as the Handbook's list: the choice then depends on the data only.
    reach.subarray(start[c], n).sort();
  }
  start[cx.length] = n;
  return [start, reach.slice(0, n)];
}

function grow(a: Int32Array, size: number): Int32Array {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

function growF(a: Float64Array, size: number): Float64Array {
  const b = new Float64Array(size);
  b.set(a);
  return b;
}

const NEWLINE = 0x0a;
const COMMA = 0x2c;
const MINUS = 0x2d;
const ZERO = 0x30;
