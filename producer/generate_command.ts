import { mkdir, rename } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { defineCommand } from "../cli/command.ts";
import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import { positiveInt } from "../cli/values.ts";
import { utcDateFlag } from "./date_flag.ts";
import { DataSetGenerator, DEFAULT_DIRT, type DirtRates, NO_DIRT } from "./generator.ts";

const DIRT_FLAGS: [flag: string, key: keyof DirtRates, what: string][] = [
  ["dirt-duplicate-id", "duplicateId", "rows reusing the previous row's transaction id"],
  ["dirt-empty-terminal", "emptyTerminal", "rows with an empty terminal_id"],
  ["dirt-negative-customer", "negativeCustomer", "rows with a negative customer_id"],
  ["dirt-missing-datetime", "missingDatetime", "rows with an empty tx_datetime"],
  ["dirt-wrong-days", "wrongTimeDays", "rows whose tx_time_days is off by one"],
  ["dirt-garbage", "garbage", "unparseable extra lines per row"],
];

export const command = defineCommand(
  {
    name: "generate",
    summary: "write simulated retrospective day files (Fraud Detection Handbook statistics)",
    flags: {
      out: { type: "string", value: "DIR", description: "output directory", default: "data" },
      customers: { type: "string", value: "N", description: "customers", default: "5000" },
      terminals: { type: "string", value: "N", description: "terminals", default: "10000" },
      days: { type: "string", value: "N", description: "days, one file each", default: "7" },
      "start-date": {
        type: "string",
        value: "YYYY-MM-DD",
        description: "date of the first day",
        default: "2018-04-01",
      },
      seed: {
        type: "string",
        value: "N",
        description: "random seed; the same seed writes byte-identical files",
        default: "1",
      },
      ...Object.fromEntries(DIRT_FLAGS.map(([flag, key, what]) => [flag, {
        type: "string" as const,
        value: "RATE",
        description: `share of ${what} (0.002 or 0.2%)`,
        default: String(DEFAULT_DIRT[key]),
      }])),
      clean: { type: "boolean", description: "no dirt at all (overrides the --dirt-* rates)" },
      gzip: { type: "boolean", description: "write YYYY-MM-DD.txt.gz instead of .txt" },
    },
    examples: [
      "fraudstream generate --out data --days 30",
      "fraudstream generate --out /tmp/big --days 183 --seed 7 --gzip",
      "fraudstream generate --clean --customers 500 --terminals 1000 --days 2",
    ],
  },
  async (flags) => {
    const dirt: DirtRates = { ...NO_DIRT };
    if (!flags.clean) {
      const given = flags as Record<string, unknown>;
      for (const [flag, key] of DIRT_FLAGS) dirt[key] = rate(flag, String(given[flag]));
    }
    const generator = new DataSetGenerator({
      customers: positiveInt("customers", flags.customers),
      terminals: positiveInt("terminals", flags.terminals),
      days: positiveInt("days", flags.days),
      startMs: utcDateFlag("start-date", flags["start-date"]),
      seed: seed(flags.seed),
      dirt,
    });
    const t0 = performance.now();
    await writeDataSet(generator, flags.out, flags.gzip);
    const seconds = (performance.now() - t0) / 1000;
    const c = generator.counts;
    const pct = (n: number, of: number) => of === 0 ? "0" : (100 * n / of).toFixed(2);
    console.log(
      [
        `wrote ${generator.config.days} files to ${flags.out}: ${c.rows} transactions ` +
        `in ${seconds.toFixed(2)} s (${Math.round(c.rows / seconds)} rows/s)`,
        `fraud ${pct(c.fraud, c.rows)}%: scenario 1 ${pct(c.byScenario[1], c.fraud)}%, ` +
        `2 ${pct(c.byScenario[2], c.fraud)}%, 3 ${pct(c.byScenario[3], c.fraud)}%`,
        `dirt: ${c.duplicateId} duplicate ids, ${c.emptyTerminal} empty terminals, ` +
        `${c.negativeCustomer} negative customers, ${c.missingDatetime} missing datetimes, ` +
        `${c.wrongTimeDays} wrong days, ${c.garbage} garbage lines`,
      ].join("\n"),
    );
    return 0;
  },
);

/**
 * Writes every day of the generator's data set as DIR/YYYY-MM-DD.txt[.gz], streaming each day
 * in chunks. A day is written under a temporary name and renamed when complete, so that a
 * reader never takes a half-written file for a day.
 */
export async function writeDataSet(
  generator: DataSetGenerator,
  dir: string,
  gzip: boolean,
): Promise<string[]> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new UserFacingError(`cannot create ${dir}: ${(err as Error).message}`);
  }
  const files: string[] = [];
  for (let day = 0; day < generator.config.days; day++) {
    const path = join(dir, `${generator.dateOfDay(day)}.txt${gzip ? ".gz" : ""}`);
    const partial = `${path}.partial`;
    const source = Readable.from(generator.nextDayChunks(), { objectMode: false });
    try {
      if (gzip) {
        await pipeline(source, createGzip({ level: 6 }), createWriteStream(partial));
      } else {
        await pipeline(source, createWriteStream(partial));
      }
      await rename(partial, path);
    } catch (err) {
      throw new UserFacingError(`cannot write ${path}: ${(err as Error).message}`);
    }
    files.push(path);
  }
  return files;
}

function rate(flag: string, raw: string): number {
  const m = /^\s*(\d*\.?\d+)\s*(%?)\s*$/.exec(raw);
  const value = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(value >= 0 && value <= 1)) {
    throw new UsageError(`--${flag} ${raw}: expected a share between 0 and 1, or a percentage`);
  }
  return value;
}

function seed(raw: string): number {
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n)) {
    throw new UsageError(`--seed ${raw}: expected a non-negative integer`);
  }
  return n;
}
