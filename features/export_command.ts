import { extname } from "node:path";
import { defineCommand } from "../cli/command.ts";
import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import { durationMs } from "../cli/values.ts";
import { expandInputs, FileReader, type ReaderStats } from "../producer/file_reader.ts";
import { DEFAULT_DUPLICATE_WINDOW, DuplicateWindow } from "../transactions/duplicate_window.ts";
import { newTransaction } from "../transactions/transaction.ts";
import { type EngineCounters, FeatureEngine } from "./feature_engine.ts";
import { FEATURE_COUNT, FEATURE_LIST_VERSION } from "./feature_list.ts";
import {
  FeatureMatrixWriter,
  type MatrixFormat,
  type MatrixHeader,
  type RowMeta,
} from "./feature_matrix.ts";
import { LabelDelaySimulator } from "./label_delay_simulator.ts";

export interface ExportOptions {
  out: string;
  format: MatrixFormat;
  labelDelayMs: number;
  /** Recorded in the matrix header (e.g. the command line). */
  source?: Record<string, unknown>;
}

export interface ExportSummary {
  header: MatrixHeader;
  reader: ReaderStats;
  /** Rows older than a row of an earlier file (files overlapping in time); kept, in file order. */
  outOfOrder: number;
  /** The engine's counters: rows older than their customer's newest one, too old, saturated. */
  engine: EngineCounters;
  frauds: number;
  seconds: number;
}

/**
 * One file's good rows, buffered so they can be put in event-time order before the engine sees
 * them: memory is bounded by the largest file, not the data set.
 */
class FileRows {
  n = 0;
  time = new Float64Array(1 << 16);
  txid = new Float64Array(1 << 16);
  customer = new Float64Array(1 << 16);
  terminal = new Float64Array(1 << 16);
  amount = new Float64Array(1 << 16);
  fraud = new Uint8Array(1 << 16);
  scenario = new Uint8Array(1 << 16);

  push(
    time: number,
    txid: number,
    customer: number,
    terminal: number,
    amount: number,
    fraud: number,
    scenario: number,
  ): void {
    if (this.n === this.time.length) this.#grow();
    const i = this.n++;
    this.time[i] = time;
    this.txid[i] = txid;
    this.customer[i] = customer;
    this.terminal[i] = terminal;
    this.amount[i] = amount;
    this.fraud[i] = fraud;
    this.scenario[i] = scenario;
  }

  /** Row indices by event time; ties keep file order, so the result is deterministic. */
  order(): Uint32Array {
    const idx = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) idx[i] = i;
    const t = this.time;
    return idx.sort((a, b) => t[a] - t[b] || a - b);
  }

  #grow(): void {
    const size = this.time.length * 2;
    const g = <T extends Float64Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.time = g(this.time);
    this.txid = g(this.txid);
    this.customer = g(this.customer);
    this.terminal = g(this.terminal);
    this.amount = g(this.amount);
    this.fraud = g(this.fraud);
    this.scenario = g(this.scenario);
  }
}

/**
 * Runs the feature engine over retrospective files exactly as the agent would see them (event-time
 * order, labels fed back after the delay) and writes the training matrix. Files are taken in the
 * given order (a directory: by name, i.e. by date); rows are sorted by event time within a file.
 */
export async function exportFeatures(
  files: readonly string[],
  options: ExportOptions,
): Promise<ExportSummary> {
  const started = performance.now();
  const engine = new FeatureEngine({ labelDelayMs: options.labelDelayMs });
  const sim = new LabelDelaySimulator(engine);
  const writer = await FeatureMatrixWriter.create(
    options.out,
    options.format,
    options.labelDelayMs,
    {
      files: files.map(String),
      ...options.source,
    },
  );
  const reader = new FileReader(files);
  // The agent's rule (DLQ, not scored), applied in file order as the feed would deliver rows.
  const duplicates = new DuplicateWindow(DEFAULT_DUPLICATE_WINDOW);
  const rows = new FileRows();
  const tx = newTransaction();
  const out = new Float32Array(FEATURE_COUNT);
  const meta: RowMeta = {
    eventTimeMs: 0,
    transactionId: 0,
    customerId: 0,
    terminalId: 0,
    fraud: 0,
    scenario: 0,
  };
  let currentFile = "";
  let lastTime = -Infinity;
  let outOfOrder = 0;
  let frauds = 0;
  let skippedDuplicates = 0;

  const flushFile = async () => {
    for (const i of rows.order()) {
      tx.eventTimeMs = meta.eventTimeMs = rows.time[i];
      tx.transactionId = meta.transactionId = rows.txid[i];
      tx.customerId = meta.customerId = rows.customer[i];
      tx.terminalId = meta.terminalId = rows.terminal[i];
      tx.amount = rows.amount[i];
      tx.fraud = (meta.fraud = rows.fraud[i]) as 0 | 1;
      meta.scenario = rows.scenario[i];
      if (tx.eventTimeMs < lastTime) outOfOrder++;
      else lastTime = tx.eventTimeMs;
      frauds += tx.fraud;
      sim.process(tx, out, 0);
      await writer.append(out, 0, meta);
    }
    rows.n = 0;
  };

  try {
    for await (const batch of reader.batches()) {
      if (batch.file !== currentFile) {
        await flushFile();
        currentFile = batch.file;
      }
      for (let i = 0; i < batch.count; i++) {
        if (batch.reason[i] !== null) continue;
        if (duplicates.seen(batch.transactionId[i], batch.customerId[i])) {
          skippedDuplicates++;
          continue;
        }
        rows.push(
          batch.eventTimeMs[i],
          batch.transactionId[i],
          batch.customerId[i],
          batch.terminalId[i],
          batch.amount[i],
          batch.fraud[i],
          batch.scenario[i],
        );
      }
    }
    await flushFile();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  const header = await writer.close({
    reader: reader.stats,
    outOfOrderRows: outOfOrder,
    skippedDuplicates,
    engine: engine.counters,
  });
  return {
    header,
    reader: reader.stats,
    outOfOrder,
    engine: engine.counters,
    frauds,
    seconds: (performance.now() - started) / 1000,
  };
}

export const command = defineCommand(
  {
    name: "features",
    summary:
      "compute the feature matrix of retrospective files for training (same engine as the agent)",
    usage: "--out FILE [flags] FILE|DIR...",
    flags: {
      out: {
        type: "string",
        value: "FILE",
        description: "matrix to write (.bin, or .csv for CSV)",
      },
      format: {
        type: "string",
        value: "bin|csv",
        description: "output format (default: csv when --out ends in .csv, else bin)",
      },
      "label-delay": {
        type: "string",
        value: "DURATION",
        description: "event time after which a transaction's label feeds the terminal features",
        default: "7d",
      },
    },
    examples: [
      "fraudstream features --out matrix.bin data/",
      "fraudstream features --out sample.csv data/2018-04-0*.txt",
    ],
  },
  async (flags, positionals) => {
    if (!flags.out) throw new UsageError("features: --out FILE is required");
    if (positionals.length === 0) {
      throw new UsageError("features: give the files or directories to read");
    }
    const format = flags.format ?? (extname(flags.out).toLowerCase() === ".csv" ? "csv" : "bin");
    if (format !== "bin" && format !== "csv") {
      throw new UsageError(`--format ${format}: expected bin or csv`);
    }
    const labelDelayMs = durationMs("label-delay", flags["label-delay"]);
    if (labelDelayMs <= 0) throw new UsageError("--label-delay must be above zero");
    const files = await expandInputs(positionals);
    let summary: ExportSummary;
    try {
      summary = await exportFeatures(files, {
        out: flags.out,
        format,
        labelDelayMs,
        source: { command: ["fraudstream", "features", ...Deno.args.slice(1)].join(" ") },
      });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) {
        throw new UserFacingError(`features: ${(err as Error).message}`);
      }
      throw err;
    }
    const { header, reader, seconds } = summary;
    const share = header.rows > 0 ? (100 * summary.frauds / header.rows).toFixed(2) : "0";
    console.log(
      `wrote ${header.rows} rows x ${FEATURE_COUNT} features (${FEATURE_LIST_VERSION}) to ${flags.out} ` +
        `in ${seconds.toFixed(2)} s (${Math.round(header.rows / seconds)} rows/s), fraud ${share}%`,
    );
    const rejected = Object.entries(reader.rejectedBy).filter(([, n]) => n > 0)
      .map(([r, n]) => `${r} ${n}`).join(", ");
    console.log(
      `read ${reader.files} files, ${reader.lines} lines: ${reader.good} good, ` +
        `${reader.rejected} rejected${rejected ? ` (${rejected})` : ""}` +
        (summary.outOfOrder ? `, ${summary.outOfOrder} rows older than an earlier file's` : ""),
    );
    const { outOfOrder, tooOld, saturated } = summary.engine;
    if (outOfOrder || saturated) {
      console.log(
        `feature engine: ${outOfOrder} rows older than their customer's newest ` +
          `(${tooOld} beyond the 30-day window, scored alone), ${saturated} in a saturated day`,
      );
    }
    return 0;
  },
);
