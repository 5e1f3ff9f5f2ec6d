import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { createGunzip } from "node:zlib";
import { UserFacingError } from "../cli/usage_error.ts";
import { describeRejected, isRetrospectiveHeader, quote } from "./input_problems.ts";
import { newTransaction, type Transaction } from "../transactions/transaction.ts";
import { parseRow } from "../transactions/parse_row.ts";
import {
  FLAG_DUPLICATE_ID,
  FLAG_NAMES,
  HEADER,
  REJECT_REASONS,
  type RejectReason,
  type RowOutcome,
  RowState,
} from "../transactions/row_fields.ts";

/** File names a directory or glob contributes: day files, plain or gzipped. */
const DATA_FILE = /\.(txt|csv|jsonl?|ndjson)(\.gz)?$/;
const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;
const SPACE = 0x20;
const TAB = 0x09;
const UTF8_BOM = new Uint8Array([0xef, 0xbb, 0xbf]);
const decoder = new TextDecoder();
/** Rejected lines described in ReaderStats.firstRejected; the rest are only counted. */
const REJECTED_SAMPLES = 10;

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
  /** "file:line: what is wrong" for the first few rejected lines. */
  firstRejected: string[];
  /** Files (or their rest) not read: unreadable, or a header naming other columns. */
  filesSkipped: number;
  /** CSV files whose first line is not a header (they are read all the same). */
  filesWithoutHeader: number;
}

/**
 * A problem with a whole file rather than one line. "unreadable" (cannot be opened, or its gzip
 * stream is corrupt or truncated) and "other_header" (its header names other columns, so its
 * rows would be misread) skip the file, or its rest; "no_header" only warns.
 */
export interface InputProblem {
  kind: "unreadable" | "other_header" | "no_header";
  file: string;
  /** The line it concerns, or the last line read before it; 0 when none was read. */
  line: number;
  /** One line for a human: where, what, and what the reader does about it. */
  message: string;
}

export interface ReaderOptions {
  /** Rows per batch (default 4096). */
  batchRows?: number;
  /** Read buffer; also the longest line accepted (default 1 MiB). */
  bufferBytes?: number;
  /** Origin of tx_time_seconds, if known: lets even the first rows' missing datetimes be repaired. */
  originMs?: number;
  /**
   * Told of every file-level problem, at a batch boundary (rows before it have been handed
   * over); reading goes on after it returns, and stops with whatever it throws. Without it, a
   * problem that skips a file is thrown as a UserFacingError and "no_header" passes silently.
   */
  onProblem?: (problem: InputProblem) => void;
}

/**
 * Streams the rows of day files (plain or .gz, CSV or JSON lines) in order, a buffer at a time:
 * memory stays at one read buffer and one batch whatever the file sizes. Headers are counted and
 * skipped; every other line becomes a good or a rejected row of a batch, so nothing is dropped
 * unseen. A file that cannot be read or whose header names other columns is skipped and told to
 * onProblem. Duplicate ids are found by id order (ids increase through the data set).
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
    firstRejected: [],
    filesSkipped: 0,
    filesWithoutHeader: 0,
  };
  private readonly batch: RowBatch;
  private readonly bufferBytes: number;
  private readonly state: RowState;
  private readonly onProblem: ((problem: InputProblem) => void) | undefined;
  private readonly tx = newTransaction();
  private maxId = -1;
  /** Set by take() when line 1 shows the file is not one to read. */
  private skipRest: InputProblem | null = null;

  constructor(readonly files: readonly string[], options: ReaderOptions = {}) {
    this.batch = new RowBatch(options.batchRows ?? 4096);
    this.bufferBytes = options.bufferBytes ?? 1024 * 1024;
    this.state = new RowState(options.originMs);
    this.onProblem = options.onProblem;
  }

  /** Batches of every file in turn; a batch never spans two files. */
  async *batches(): AsyncGenerator<RowBatch> {
    for (const file of this.files) yield* this.readFile(file);
  }

  private async *readFile(path: string): AsyncGenerator<RowBatch> {
    this.stats.files++;
    let source: ByteSource;
    try {
      source = await openSource(path);
    } catch (err) {
      this.problem({
        kind: "unreadable",
        file: path,
        line: 0,
        message: `${path}: cannot open (${errorMessage(err)}); file skipped`,
      });
      return;
    }
    const batch = this.batch;
    batch.file = path;
    batch.count = 0;
    const buf = new Uint8Array(this.bufferBytes);
    let filled = 0;
    let lineNo = 0;
    /** Inside a line longer than the buffer: drop bytes up to its end. */
    let skipping = false;
    let startSeen = false;
    this.skipRest = null;
    try {
      for (;;) {
        let n: number;
        try {
          n = await source.read(buf.subarray(filled));
        } catch (err) {
          // The lines before the break are sound: they go first, then the problem is told.
          if (batch.count > 0) {
            yield batch;
            batch.count = 0;
          }
          const why = `${path.endsWith(".gz") ? "gzip: " : ""}${errorMessage(err)}`;
          this.problem({
            kind: "unreadable",
            file: path,
            line: lineNo,
            message: lineNo === 0
              ? `${path}: cannot read (${why}); file skipped`
              : `${path}:${lineNo}: cannot read past this line (${why}); rest of the file skipped`,
          });
          return;
        }
        this.stats.bytes += n;
        const eof = n === 0;
        filled += n;
        if (!startSeen) {
          if (filled < UTF8_BOM.length && !eof) continue;
          startSeen = true;
          // Editors on Windows write one; it would make line 1 a bad row instead of the header.
          if (startsWith(buf, filled, UTF8_BOM)) {
            buf.copyWithin(0, UTF8_BOM.length, filled);
            filled -= UTF8_BOM.length;
          }
        }
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
            if (this.skipRest) {
              // Only line 1 sets it, so no row of this file is pending.
              this.problem(this.skipRest);
              return;
            }
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
            this.reject(lineNo + 1, 0, 0, "line_too_long");
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
    if (lineNo === 1 && this.headerLine(outcome, start, end)) return;
    if (outcome === HEADER) {
      this.stats.headers++;
      return;
    }
    if (outcome !== null) {
      this.reject(lineNo, start, end, outcome);
      return;
    }
    this.stats.lines++;
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

  private reject(lineNo: number, start: number, end: number, reason: RejectReason): void {
    this.stats.lines++;
    this.stats.rejected++;
    this.stats.rejectedBy[reason]++;
    const samples = this.stats.firstRejected;
    if (samples.length < REJECTED_SAMPLES) {
      const line = decoder.decode(this.batch.buf.subarray(start, end));
      samples.push(`${this.batch.file}:${lineNo}: ${describeRejected(line, reason)}`);
    }
    this.batch.addRejected(lineNo, start, end, reason);
  }

  /**
   * Line 1 of a CSV day file must be the header: a row there means no header (read on), a
   * header naming other columns means rows that would be misread (skip the file). Returns true
   * when line 1 is a header, i.e. no row. JSON lines carry their names in every row.
   */
  private headerLine(outcome: RowOutcome, start: number, end: number): boolean {
    const buf = this.batch.buf;
    const file = this.batch.file;
    let i = start;
    while (i < end && (buf[i] === SPACE || buf[i] === TAB)) i++;
    if (i < end && buf[i] === OPEN_BRACE) return false;
    const letter = (buf[i] | 0x20) >= 0x61 && (buf[i] | 0x20) <= 0x7a;
    if (outcome !== HEADER && !(outcome !== null && letter)) {
      this.problem({
        kind: "no_header",
        file,
        line: 1,
        message: `${file}:1: no header line (the file starts with a ${
          outcome === null ? "row" : "bad line"
        }); read all the same`,
      });
      return false;
    }
    const text = decoder.decode(buf.subarray(start, end));
    if (isRetrospectiveHeader(text)) {
      this.stats.headers++;
      return true;
    }
    this.skipRest = {
      kind: "other_header",
      file,
      line: 1,
      message: `${file}:1: header names other columns than a day file's ${
        quote(text.replace(/\r$/, ""))
      }; file skipped`,
    };
    return true;
  }

  private problem(problem: InputProblem): void {
    if (problem.kind === "no_header") this.stats.filesWithoutHeader++;
    else this.stats.filesSkipped++;
    if (this.onProblem) this.onProblem(problem);
    else if (problem.kind !== "no_header") throw new UserFacingError(problem.message);
  }
}

/** A file's bytes, decompressed when it ends in .gz; read() returns 0 at the end. */
interface ByteSource {
  read(into: Uint8Array): Promise<number>;
  close(): void;
}

async function openSource(path: string): Promise<ByteSource> {
  if (path.endsWith(".gz")) return gunzipSource(path);
  const file = await Deno.open(path);
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
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream = createGunzip({ chunkSize: 1 << 18 });
  // pipe() does not pass on the file's errors (missing, unreadable): without this the
  // decompressed stream would wait for data forever.
  file.on("error", (err) => stream.destroy(err));
  file.pipe(stream);
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  let pending: Uint8Array | null = null;
  let offset = 0;
  return {
    read: async (into) => {
      if (pending === null || offset === pending.length) {
        const next = await chunks.next();
        if (next.done) return 0;
        pending = next.value;
        offset = 0;
      }
      const n = Math.min(into.length, pending.length - offset);
      into.set(pending.subarray(offset, offset + n));
      offset += n;
      return n;
    },
    close: () => {
      stream.destroy();
      file.destroy();
    },
  };
}

function startsWith(buf: Uint8Array, filled: number, prefix: Uint8Array): boolean {
  if (filled < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
