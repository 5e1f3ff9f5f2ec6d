import { FEATURE_COUNT, FEATURE_LIST_VERSION, FEATURE_NAMES } from "./feature_list.ts";

/**
 * The training matrix written by `fraudstream features` and read by model/train/train.py.
 *
 * Binary layout (little-endian), made for numpy to map in one call:
 *   bytes 0..7    "FSMATRIX"
 *   bytes 8..11   uint32 H, the header size (a multiple of 4096)
 *   bytes 12..H   JSON header padded with spaces: rows, features, the numpy dtype of a record
 *   bytes H..     `rows` fixed-size records: features float32[F], event_time_ms, transaction_id,
 *                 customer_id, terminal_id (float64, exact for ids below 2^53), fraud, scenario
 *                 (uint8), zero padding to a multiple of 8 bytes
 *   numpy: np.fromfile(path, dtype=np.dtype(header["dtype"]), count=rows, offset=H)
 *
 * The CSV alternative has a header line and one row per transaction with the same columns.
 */

export const MATRIX_MAGIC = "FSMATRIX";
const HEADER_ALIGN = 4096;
/** Room in the header for the figures only known at the end (rows, time range). */
const HEADER_SLACK = 4096;

const F = FEATURE_COUNT;
const OFF_TIME = 4 * F;
const OFF_TXID = OFF_TIME + 8;
const OFF_CUSTOMER = OFF_TIME + 16;
const OFF_TERMINAL = OFF_TIME + 24;
const OFF_FRAUD = OFF_TIME + 32;
const OFF_SCENARIO = OFF_TIME + 33;
export const RECORD_BYTES = Math.ceil((OFF_TIME + 34) / 8) * 8;

/** numpy's dict form of the record dtype, so the reader does not hard-code the layout. */
export const RECORD_DTYPE = {
  names: [
    "features",
    "event_time_ms",
    "transaction_id",
    "customer_id",
    "terminal_id",
    "fraud",
    "scenario",
  ],
  formats: [`(${F},)<f4`, "<f8", "<f8", "<f8", "<f8", "u1", "u1"],
  offsets: [0, OFF_TIME, OFF_TXID, OFF_CUSTOMER, OFF_TERMINAL, OFF_FRAUD, OFF_SCENARIO],
  itemsize: RECORD_BYTES,
};

export type MatrixFormat = "bin" | "csv";

/** Everything about one row besides its features. */
export interface RowMeta {
  eventTimeMs: number;
  transactionId: number;
  customerId: number;
  terminalId: number;
  fraud: number;
  scenario: number;
}

export interface MatrixHeader {
  format: "fraudstream-feature-matrix";
  formatVersion: 1;
  featureListVersion: string;
  features: string[];
  rows: number;
  labelDelayMs: number;
  firstEventTimeMs: number | null;
  lastEventTimeMs: number | null;
  dtype: typeof RECORD_DTYPE;
  /** Free-form provenance: input files, the command line, reader statistics. */
  source: Record<string, unknown>;
}

const CSV_COLUMNS = [
  "transaction_id",
  "customer_id",
  "terminal_id",
  "event_time_ms",
  "fraud",
  "scenario",
  ...FEATURE_NAMES,
];

const FLUSH_ROWS = 8192;

/** Streams rows to disk in fixed-size chunks, so memory does not grow with the data set. */
export class FeatureMatrixWriter {
  readonly #path: string;
  readonly #file: Deno.FsFile;
  readonly #format: MatrixFormat;
  readonly #header: MatrixHeader;
  readonly #headerBytes: number;
  readonly #chunk = new Uint8Array(FLUSH_ROWS * RECORD_BYTES);
  readonly #view = new DataView(this.#chunk.buffer);
  #csv: string[] = [];
  #inChunk = 0;

  private constructor(
    path: string,
    file: Deno.FsFile,
    format: MatrixFormat,
    header: MatrixHeader,
    size: number,
  ) {
    this.#path = path;
    this.#file = file;
    this.#format = format;
    this.#header = header;
    this.#headerBytes = size;
  }

  static async create(
    path: string,
    format: MatrixFormat,
    labelDelayMs: number,
    source: Record<string, unknown>,
  ): Promise<FeatureMatrixWriter> {
    const header: MatrixHeader = {
      format: "fraudstream-feature-matrix",
      formatVersion: 1,
      featureListVersion: FEATURE_LIST_VERSION,
      features: [...FEATURE_NAMES],
      rows: 0,
      labelDelayMs,
      firstEventTimeMs: null,
      lastEventTimeMs: null,
      dtype: RECORD_DTYPE,
      source,
    };
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    const jsonBytes = new TextEncoder().encode(JSON.stringify(header)).length;
    const size = Math.ceil((12 + jsonBytes + HEADER_SLACK) / HEADER_ALIGN) * HEADER_ALIGN;
    const writer = new FeatureMatrixWriter(path, file, format, header, size);
    if (format === "bin") await writeAll(file, new Uint8Array(size));
    else await writeAll(file, new TextEncoder().encode(CSV_COLUMNS.join(",") + "\n"));
    return writer;
  }

  /** Appends one row: F features from features[offset..] and its metadata. */
  async append(features: Float32Array, offset: number, meta: RowMeta): Promise<void> {
    const h = this.#header;
    if (h.firstEventTimeMs === null) h.firstEventTimeMs = meta.eventTimeMs;
    h.lastEventTimeMs = meta.eventTimeMs;
    h.rows++;
    if (this.#format === "csv") {
      const values = Array.from(features.subarray(offset, offset + F), String).join(",");
      this.#csv.push(
        `${meta.transactionId},${meta.customerId},${meta.terminalId},${meta.eventTimeMs},` +
          `${meta.fraud},${meta.scenario},${values}\n`,
      );
    } else {
      const at = this.#inChunk * RECORD_BYTES;
      this.#chunk.set(new Uint8Array(features.buffer, features.byteOffset + offset * 4, F * 4), at);
      const v = this.#view;
      v.setFloat64(at + OFF_TIME, meta.eventTimeMs, true);
      v.setFloat64(at + OFF_TXID, meta.transactionId, true);
      v.setFloat64(at + OFF_CUSTOMER, meta.customerId, true);
      v.setFloat64(at + OFF_TERMINAL, meta.terminalId, true);
      v.setUint8(at + OFF_FRAUD, meta.fraud);
      v.setUint8(at + OFF_SCENARIO, meta.scenario);
    }
    if (++this.#inChunk === FLUSH_ROWS) await this.#flush();
  }

  get rows(): number {
    return this.#header.rows;
  }

  /** Flushes, writes the final header (with `source` added to its provenance) and closes. */
  async close(source: Record<string, unknown> = {}): Promise<MatrixHeader> {
    Object.assign(this.#header.source, source);
    await this.#flush();
    if (this.#format === "bin") {
      const prefix = new Uint8Array(this.#headerBytes).fill(0x20);
      prefix.set(new TextEncoder().encode(MATRIX_MAGIC), 0);
      new DataView(prefix.buffer).setUint32(8, this.#headerBytes, true);
      const json = new TextEncoder().encode(JSON.stringify(this.#header));
      if (12 + json.length > this.#headerBytes - 1) {
        throw new Error("feature matrix header outgrew its reserved space");
      }
      prefix.set(json, 12);
      prefix[this.#headerBytes - 1] = 0x0a;
      await this.#file.seek(0, Deno.SeekMode.Start);
      await writeAll(this.#file, prefix);
    }
    this.#file.close();
    return this.#header;
  }

  /** Closes and removes a file that could not be completed, so no half matrix is left. */
  async abort(): Promise<void> {
    this.#file.close();
    await Deno.remove(this.#path).catch(() => {});
  }

  async #flush(): Promise<void> {
    if (this.#inChunk === 0) return;
    if (this.#format === "csv") {
      await writeAll(this.#file, new TextEncoder().encode(this.#csv.join("")));
      this.#csv = [];
    } else {
      await writeAll(this.#file, this.#chunk.subarray(0, this.#inChunk * RECORD_BYTES));
    }
    this.#inChunk = 0;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

/** Reads a binary matrix back (tests and tools; the trainer uses numpy directly). */
export async function readFeatureMatrix(
  path: string,
): Promise<{ header: MatrixHeader; features: Float32Array; meta: RowMeta[] }> {
  const bytes = await Deno.readFile(path);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== MATRIX_MAGIC) throw new Error(`${path}: not a fraudstream feature matrix`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = view.getUint32(8, true);
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(12, headerBytes)),
  ) as MatrixHeader;
  const features = new Float32Array(header.rows * F);
  const meta: RowMeta[] = [];
  for (let r = 0; r < header.rows; r++) {
    const at = headerBytes + r * RECORD_BYTES;
    for (let j = 0; j < F; j++) features[r * F + j] = view.getFloat32(at + 4 * j, true);
    meta.push({
      eventTimeMs: view.getFloat64(at + OFF_TIME, true),
      transactionId: view.getFloat64(at + OFF_TXID, true),
      customerId: view.getFloat64(at + OFF_CUSTOMER, true),
      terminalId: view.getFloat64(at + OFF_TERMINAL, true),
      fraud: view.getUint8(at + OFF_FRAUD),
      scenario: view.getUint8(at + OFF_SCENARIO),
    });
  }
  return { header, features, meta };
}
