import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { createGunzip } from "node:zlib";
import { UserFacingError } from "../cli/usage_error.ts";
import { newTransaction, type Transaction } from "../transactions/transaction.ts";
import { parseRow } from "../transactions/parse_row.ts";
import {
  FLAG_DUPLICATE_ID,
  FLAG_NAMES,
  HEADER,
  REJECT_REASONS,
  type RejectReason,
  RowState,
} from "../transactions/row_fields.ts";

/** File names a directory or glob contributes: day files, plain or gzipped. */
const DATA_FILE = /\.(txt|csv|jsonl?|ndjson)(\.gz)?$/;
const NEWLINE = 0x0a;

/**
 * Up to `capacity` consecutive lines of one file, parsed. Struct of arrays, owned and reused by
 * the reader: valid only until the reader is asked for the next batch. Row i is good when
 * reason[i] is null (its fields are in the typed arrays), else it was rejected for that reason
 * and its eventTimeMs is NaN.
 * Line i is the bytes buf[lineStart[i] .. lineEnd[i]) without the newline.
 */
export class RowBatch {
  count = 0;
  file = "";
  buf: Uint8Array = new Uint8Array(0);
  readonly lineStart: Int32Array;
  readonly lineEnd: Int32Array;
  /** 1-based line number in its file. */
  readonly lineNo: Float64Array;
  readonly reason: (RejectReason | null)[];
  /** Repair bits of good rows (row_fields.ts REPAIR_* and FLAG_DUPLICATE_ID). */
  readonly flags: Uint8Array;
  readonly transactionId: Float64Array;
  readonly eventTimeMs: Float64Array;
  readonly customerId: Float64Array;
  readonly terminalId: Float64Array;
  readonly amount: Float64Array;
  readonly timeSeconds: Float64Array;
  readonly fraud: Uint8Array;
  readonly scenario: Uint8Array;

  constructor(readonly capacity: number) {
    this.lineStart = new Int32Array(capacity);
    this.lineEnd = new Int32Array(capacity);
    this.lineNo = new Float64Array(capacity);
    this.reason = new Array(capacity).fill(null);
    this.flags = new Uint8Array(capacity);
    this.transactionId = new Float64Array(capacity);
    this.eventTimeMs = new Float64Array(capacity);
    this.customerId = new Float64Array(capacity);
    this.terminalId = new Float64Array(capacity);
    this.amount = new Float64Array(capacity);
    this.timeSeconds = new Float64Array(capacity);
    this.fraud = new Uint8Array(capacity);
    this.scenario = new Uint8Array(capacity);
  }

  /** Copies good row i into tx. */
  get(i: number, tx: Transaction): Transaction {
    tx.transactionId = this.transactionId[i];
    tx.eventTimeMs = this.eventTimeMs[i];
    tx.customerId = this.customerId[i];
    tx.terminalId = this.terminalId[i];
    tx.amount = this.amount[i];
    tx.timeSeconds = this.timeSeconds[i];
    tx.timeDays = Math.floor(this.timeSeconds[i] / 86_400);
    tx.fraud = this.fraud[i] as 0 | 1;
    tx.scenario = this.scenario[i] as 0 | 1 | 2 | 3;
    return tx;
  }

  /** The raw bytes of line i (a view, as valid as the batch). */
  line(i: number): Uint8Array {
    return this.buf.subarray(this.lineStart[i], this.lineEnd[i]);
  }

  private push(lineNo: number, start: number, end: number): number {
    const i = this.count++;
    this.lineStart[i] = start;
    this.lineEnd[i] = end;
    this.lineNo[i] = lineNo;
    return i;
  }

  /** @internal the reader's way in. */
  addGood(lineNo: number, start: number, end: number, tx: Transaction, flags: number): void {
    const i = this.push(lineNo, start, end);
    this.reason[i] = null;
    this.flags[i] = flags;
    this.transactionId[i] = tx.transactionId;
    this.eventTimeMs[i] = tx.eventTimeMs;
    this.customerId[i] = tx.customerId;
    this.terminalId[i] = tx.terminalId;
    this.amount[i] = tx.amount;
    this.timeSeconds[i] = tx.timeSeconds;
    this.fraud[i] = tx.fraud;
    this.scenario[i] = tx.scenario;
  }

  /** @internal the reader's way in. */
  addRejected(lineNo: number, start: number, end: number, reason: RejectReason): void {
    const i = this.push(lineNo, start, end);
    this.reason[i] = reason;
    // No event time: pacing and label feedback then pass the line along with its neighbours.
    this.eventTimeMs[i] = NaN;
  }
}

/** What a reader has seen so far. */
export interface ReaderStats {
  files: number;
  bytes: number;
  lines: number;
  headers: number;
  good: number;
  rejected: number;
  rejectedBy: Record<RejectReason, number>;
  /** Good rows by repair (and duplicate id), keyed by FLAG_NAMES' names. */
  repaired: Record<string, number>;
}

export interface ReaderOptions {
  /** Rows per batch (default 4096). */
  batchRows?: number;
  /** Read buffer; also the longest line accepted (default 1 MiB). */
  bufferBytes?: number;
  /** Origin of tx_time_seconds, if known: lets even the first rows' missing datetimes be repaired. */
  originMs?: number;
}

/**
 * Streams the rows of day files (plain or .gz, CSV or JSON lines) in order, a buffer at a time:
 * memory stays at one read buffer and one batch whatever the file sizes. Headers are counted and
 * skipped; every other line becomes a good or a rejected row of a batch, so nothing is dropped
 * unseen. Duplicate ids are found by id order (ids increase through the data set).
 */
export class FileReader {
  readonly stats: ReaderStats = {
    files: 0,
    bytes: 0,
    lines: 0,
    headers: 0,
    good: 0,
    rejected: 0,
    rejectedBy: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<
      RejectReason,
      number
    >,
    repaired: Object.fromEntries(FLAG_NAMES.map(([, name]) => [name, 0])),
  };
  private readonly batch: RowBatch;
  private readonly bufferBytes: number;
  private readonly state: RowState;
  private readonly tx = newTransaction();
  private maxId = -1;

  constructor(readonly files: readonly string[], options: ReaderOptions = {}) {
    this.batch = new RowBatch(options.batchRows ?? 4096);
    this.bufferBytes = options.bufferBytes ?? 1024 * 1024;
    this.state = new RowState(options.originMs);
  }

  /** Batches of every file in turn; a batch never spans two files. */
  async *batches(): AsyncGenerator<RowBatch> {
    for (const file of this.files) yield* this.readFile(file);
  }

  private async *readFile(path: string): AsyncGenerator<RowBatch> {
    const source = await openSource(path);
    const batch = this.batch;
    batch.file = path;
    batch.count = 0;
    const buf = new Uint8Array(this.bufferBytes);
    let filled = 0;
    let lineNo = 0;
    /** Inside a line longer than the buffer: drop bytes up to its end. */
    let skipping = false;
    this.stats.files++;
    try {
      for (;;) {
        const n = await source.read(buf.subarray(filled));
        this.stats.bytes += n;
        const eof = n === 0;
        filled += n;
        const view = buf.subarray(0, filled);
        batch.buf = buf;
        let pos = 0;
        for (;;) {
          let nl = view.indexOf(NEWLINE, pos);
          if (nl < 0) {
            if (!eof || pos >= filled) break;
            nl = filled;
          }
          lineNo++;
          if (skipping) {
            skipping = false;
          } else {
            this.take(lineNo, pos, nl);
            if (batch.count === batch.capacity) {
              yield batch;
              batch.count = 0;
            }
          }
          pos = nl + 1;
        }
        if (eof) break;
        // The batch points into the buffer that is about to be compacted: hand it over first.
        if (batch.count > 0) {
          yield batch;
          batch.count = 0;
        }
        if (pos === 0 && filled === buf.length) {
          if (!skipping) {
            this.stats.lines++;
            this.stats.rejected++;
            this.stats.rejectedBy.line_too_long++;
            batch.addRejected(lineNo + 1, 0, 0, "line_too_long");
            skipping = true;
            if (batch.count === batch.capacity) {
              yield batch;
              batch.count = 0;
            }
          }
          filled = 0;
          continue;
        }
        buf.copyWithin(0, pos, filled);
        filled -= pos;
      }
      if (batch.count > 0) {
        yield batch;
        batch.count = 0;
      }
    } finally {
      source.close();
    }
  }

  private take(lineNo: number, start: number, end: number): void {
    const buf = this.batch.buf;
    const outcome = parseRow(buf, start, end, this.tx, this.state);
    if (outcome === HEADER) {
      this.stats.headers++;
      return;
    }
    this.stats.lines++;
    if (outcome !== null) {
      this.stats.rejected++;
      this.stats.rejectedBy[outcome]++;
      this.batch.addRejected(lineNo, start, end, outcome);
      return;
    }
    let flags = this.state.flags;
    if (this.tx.transactionId <= this.maxId) flags |= FLAG_DUPLICATE_ID;
    else this.maxId = this.tx.transactionId;
    if (flags !== 0) {
      for (let k = 0; k < FLAG_NAMES.length; k++) {
        if (flags & FLAG_NAMES[k][0]) this.stats.repaired[FLAG_NAMES[k][1]]++;
      }
    }
    this.stats.good++;
    this.batch.addGood(lineNo, start, end, this.tx, flags);
  }
}

/** A file's bytes, decompressed when it ends in .gz; read() returns 0 at the end. */
interface ByteSource {
  read(into: Uint8Array): Promise<number>;
  close(): void;
}

async function openSource(path: string): Promise<ByteSource> {
  if (path.endsWith(".gz")) return gunzipSource(path);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (err) {
    throw new UserFacingError(`cannot open ${path}: ${(err as Error).message}`);
  }
  return {
    read: async (into) => (await file.read(into)) ?? 0,
    close: () => file.close(),
  };
}

/**
 * node:zlib rather than DecompressionStream: it also reads multi-member files (day files
 * concatenated with cat) and measured faster here.
 */
function gunzipSource(path: string): ByteSource {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 }).pipe(
    createGunzip({ chunkSize: 1 << 18 }),
  );
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  let pending: Uint8Array | null = null;
  let offset = 0;
  return {
    read: async (into) => {
      if (pending === null || offset === pending.length) {
        let next;
        try {
          next = await chunks.next();
        } catch (err) {
          throw new UserFacingError(`cannot read ${path}: ${(err as Error).message}`);
        }
        if (next.done) return 0;
        pending = next.value;
        offset = 0;
      }
      const n = Math.min(into.length, pending.length - offset);
      into.set(pending.subarray(offset, offset + n));
      offset += n;
      return n;
    },
    close: () => stream.destroy(),
  };
}

/**
 * Expands inputs into the files to read: a file stands for itself, a directory for its day files,
 * a name with * or ? in its last part for the matching day files; expansions are sorted by name,
 * which for YYYY-MM-DD names is date order. The given order of inputs is kept.
 */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    const name = basename(input);
    if (/[*?]/.test(name)) {
      const pattern = new RegExp(
        "^" + name.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".") +
          "$",
      );
      const dir = dirname(input);
      const matches = (await list(dir, input)).filter((f) => pattern.test(f) && DATA_FILE.test(f));
      if (matches.length === 0) throw new UserFacingError(`no day files match ${input}`);
      files.push(...matches.map((f) => join(dir, f)));
      continue;
    }
    let info;
    try {
      info = await stat(input);
    } catch {
      throw new UserFacingError(`no such file or directory: ${input}`);
    }
    if (info.isDirectory()) {
      const matches = (await list(input, input)).filter((f) => DATA_FILE.test(f));
      if (matches.length === 0) throw new UserFacingError(`no day files in ${input}`);
      files.push(...matches.map((f) => join(input, f)));
    } else {
      files.push(input);
    }
  }
  return files;
}

async function list(dir: string, input: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    throw new UserFacingError(`cannot list ${dir} (from ${input})`);
  }
}
