import { PendingScores } from "./pending_scores.ts";

/** Precision, recall and ROC AUC over the latest labelled scores; null until defined. */
export interface OnlineQualitySummary {
  labelled: number;
  frauds: number;
  precision: number | null;
  recall: number | null;
  roc_auc: number | null;
}

/**
 * Online model quality once labels arrive: the agent remembers the scores it gave recently
 * (bounded), and when the label of one of those transactions comes back on the labels topic,
 * the (score, label) pair joins a ring of the latest pairs from which precision, recall and
 * ROC AUC are computed on demand.
 */
export class OnlineQuality {
  readonly #pending: PendingScores;
  readonly #scores: Float32Array;
  readonly #labels: Uint8Array;
  #next = 0;
  #filled = 0;
  readonly threshold: number;

  constructor(threshold: number, window = 20_000, pendingLimit = 1_000_000) {
    this.threshold = threshold;
    this.#scores = new Float32Array(window);
    this.#labels = new Uint8Array(window);
    this.#pending = new PendingScores(pendingLimit);
  }

  scored(transactionId: number, score: number): void {
    this.#pending.set(transactionId, score);
  }

  labelled(transactionId: number, fraud: number): void {
    const score = this.#pending.take(transactionId);
    if (Number.isNaN(score)) return;
    this.#scores[this.#next] = score;
    this.#labels[this.#next] = fraud ? 1 : 0;
    this.#next = (this.#next + 1) % this.#scores.length;
    if (this.#filled < this.#scores.length) this.#filled++;
  }

  summary(): OnlineQualitySummary {
    const n = this.#filled;
    let tp = 0, fp = 0, fn = 0, pos = 0;
    for (let i = 0; i < n; i++) {
      const flagged = this.#scores[i] >= this.threshold;
      if (this.#labels[i]) {
        pos++;
        if (flagged) tp++;
        else fn++;
      } else if (flagged) fp++;
    }
    return {
      labelled: n,
      frauds: pos,
      precision: tp + fp > 0 ? round(tp / (tp + fp)) : null,
      recall: tp + fn > 0 ? round(tp / (tp + fn)) : null,
      roc_auc: pos > 0 && pos < n ? round(this.#auc(n, pos)) : null,
    };
  }

  /** Mann-Whitney U over the ring, ties counted half. */
  #auc(n: number, pos: number): number {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
      this.#scores[a] - this.#scores[b]
    );
    let rankSum = 0;
    for (let i = 0; i < n;) {
      let j = i;
      while (j + 1 < n && this.#scores[order[j + 1]] === this.#scores[order[i]]) j++;
      const rank = (i + j) / 2 + 1;
      for (let k = i; k <= j; k++) if (this.#labels[order[k]]) rankSum += rank;
      i = j + 1;
    }
    const neg = n - pos;
    return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
  }
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
