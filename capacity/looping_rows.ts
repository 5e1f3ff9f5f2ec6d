import { UserFacingError } from "../cli/usage_error.ts";
import { FileReader, type RowBatch } from "../producer/file_reader.ts";

const DAY_MS = 86_400_000;

export interface LoopedBatch {
  batch: RowBatch;
  /** 0 on the first read of the files, then 1, 2, ... */
  pass: number;
}

/**
 * The files' rows, read again and again for as long as a capacity run needs them. From the
 * second pass on, every good row is moved forward by the data set's span (whole days, so hours
 * and weekdays keep their pattern) and its id by the largest id + 1, in place in the batch:
 * the agents then see new transactions in advancing event time, not duplicates they would send
 * to the DLQ without scoring, and label feedback keeps its order.
 */
export async function* loopRows(
  files: readonly string[],
  batchRows: number,
): AsyncGenerator<LoopedBatch> {
  let idSpan = 0;
  let spanMs = 0;
  for (let pass = 0;; pass++) {
    const reader = new FileReader(files, { batchRows });
    let maxId = -1;
    let minTime = Infinity;
    let maxTime = -Infinity;
    let rows = 0;
    for await (const batch of reader.batches()) {
      rows += batch.count;
      for (let i = 0; i < batch.count; i++) {
        if (batch.reason[i] !== null) continue;
        if (pass === 0) {
          if (batch.transactionId[i] > maxId) maxId = batch.transactionId[i];
          const t = batch.eventTimeMs[i];
          if (t < minTime) minTime = t;
          if (t > maxTime) maxTime = t;
        } else {
          batch.transactionId[i] += pass * idSpan;
          batch.eventTimeMs[i] += pass * spanMs;
          batch.timeSeconds[i] += pass * spanMs / 1000;
        }
      }
      yield { batch, pass };
    }
    if (rows === 0) throw new UserFacingError(`no transactions in ${files.join(", ")}`);
    if (pass === 0) {
      idSpan = maxId + 1;
      spanMs = maxTime >= minTime
        ? (Math.floor(maxTime / DAY_MS) - Math.floor(minTime / DAY_MS) + 1) * DAY_MS
        : DAY_MS;
    }
  }
}
