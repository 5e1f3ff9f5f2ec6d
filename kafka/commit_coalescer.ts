/** A partition's next offset to commit. */
export interface PartitionOffset {
  partition: number;
  nextOffset: bigint;
}

/** How a failed commit is tried again: its still-owned offsets, after a pause, a few times. */
export interface CommitRetry {
  /** Whether this member still owns the partition: a revoked one's offset is not retried. */
  owns(partition: number): boolean;
  /** Pause before a failed commit's offsets go out again. */
  delayMs: number;
  /** Consecutive failed commits after which the offsets waiting are given up. */
  attempts: number;
  /** Every this long the newest offsets of the partitions owned are committed again; 0: never. */
  refreshMs: number;
  /** A commit not answered within this long counts as failed (it may still land later). */
  timeoutMs: number;
}

const DEFAULT_RETRY: CommitRetry = {
  owns: () => true,
  delayMs: 500,
  attempts: 10,
  refreshMs: 5_000,
  timeoutMs: 15_000,
};

/**
 * One commit request at a time, each carrying the newest offset of every partition that advanced
 * since the last: commits keep up with any batch rate, they stay in order, and the next batch
 * never waits for a commit's round trip. A failed commit is reported, not thrown, and its offsets
 * of partitions still owned go out again with the next request (unless a newer one is due): a
 * commit refused by a rebalance in progress is otherwise lost until that partition's next batch,
 * and after a stream's last batch there is none, so the group never reaches the end. After
 * `attempts` failures in a row the offsets are given up (the member is likely out of the group;
 * whoever owns the partitions next reads them again: at-least-once), so a stop never waits on a
 * coordinator that does not answer.
 *
 * Every `refreshMs` the newest offsets of the partitions still owned are committed again, changed
 * or not, as the Java consumer's auto-commit does: a commit of another member that lost the
 * partition can land after this member's own (@platformatic/kafka rejoins the group inside a
 * refused commit and then sends it again, 15 s and more later), and set the partition back; the
 * owner's next commit puts it right, and after the stream's last batch only this one comes.
 *
 * A commit not answered within `timeoutMs` is failed like a refused one. @platformatic/kafka's
 * commit can hang while the library rejoins inside it; one hung commit used to hold every later
 * commit and refresh of the member back, so a partition it had scored to the end stayed committed
 * near its start.
 */
export class CommitCoalescer {
  readonly #commit: (offsets: PartitionOffset[]) => Promise<void>;
  readonly #failed: (err: unknown, offsets: PartitionOffset[]) => void;
  readonly #retry: CommitRetry;
  readonly #due = new Map<number, bigint>();
  /** The newest offset scheduled per partition: what the refresh commits again. */
  readonly #newest = new Map<number, bigint>();
  #committing: Promise<void> | null = null;
  #refresh: ReturnType<typeof setInterval> | undefined;

  constructor(
    commit: (offsets: PartitionOffset[]) => Promise<void>,
    failed: (err: unknown, offsets: PartitionOffset[]) => void,
    retry: Partial<CommitRetry> = {},
  ) {
    this.#commit = commit;
    this.#failed = failed;
    this.#retry = { ...DEFAULT_RETRY, ...retry };
  }

  schedule(partition: number, nextOffset: bigint): void {
    this.#due.set(partition, nextOffset);
    this.#newest.set(partition, nextOffset);
    this.#committing ??= this.#flush();
    if (this.#refresh === undefined && this.#retry.refreshMs > 0) {
      this.#refresh = setInterval(() => this.#recommit(), this.#retry.refreshMs);
    }
  }

  /** Resolves when nothing is due or in flight. */
  async done(): Promise<void> {
    while (this.#committing) await this.#committing;
  }

  /** Stops the refresh; what is due or in flight still goes out (await done()). */
  close(): void {
    clearInterval(this.#refresh);
    this.#refresh = undefined;
  }

  #recommit(): void {
    for (const [partition, nextOffset] of this.#newest) {
      if (!this.#retry.owns(partition)) this.#newest.delete(partition);
      else if (!this.#due.has(partition)) this.#due.set(partition, nextOffset);
    }
    if (this.#due.size > 0) this.#committing ??= this.#flush();
  }

  async #flush(): Promise<void> {
    const { owns, delayMs, attempts } = this.#retry;
    let failures = 0;
    try {
      while (this.#due.size > 0) {
        const offsets = [...this.#due].map(([partition, nextOffset]) => ({
          partition,
          nextOffset,
        }));
        this.#due.clear();
        try {
          await answered(this.#commit(offsets), this.#retry.timeoutMs);
          failures = 0;
        } catch (err) {
          this.#failed(err, offsets);
          if (++failures >= attempts) continue;
          for (const o of offsets) {
            if (!this.#due.has(o.partition) && owns(o.partition)) {
              this.#due.set(o.partition, o.nextOffset);
            }
          }
          if (this.#due.size > 0) await new Promise((r) => setTimeout(r, delayMs));
        }
      }
    } finally {
      this.#committing = null;
    }
  }
}

/** The commit's outcome, or a rejection once it has gone unanswered for `ms`. */
function answered(commit: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`commit not answered within ${ms} ms`)), ms);
  });
  // A commit given up on may still fail later, when nobody waits for it.
  commit.catch(() => {});
  return Promise.race([commit, late]).finally(() => clearTimeout(timer));
}
