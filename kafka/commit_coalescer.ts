/** A partition's next offset to commit. */
export interface PartitionOffset {
  partition: number;
  nextOffset: bigint;
}

/**
 * One commit request at a time, each carrying the newest offset of every partition that advanced
 * since the last: commits keep up with any batch rate, they stay in order, and the next batch
 * never waits for a commit's round trip. A failed commit only means re-reading after a crash or
 * rebalance (at-least-once), so it is reported, not thrown.
 */
export class CommitCoalescer {
  readonly #commit: (offsets: PartitionOffset[]) => Promise<void>;
  readonly #failed: (err: unknown, offsets: PartitionOffset[]) => void;
  readonly #due = new Map<number, bigint>();
  #committing: Promise<void> | null = null;

  constructor(
    commit: (offsets: PartitionOffset[]) => Promise<void>,
    failed: (err: unknown, offsets: PartitionOffset[]) => void,
  ) {
    this.#commit = commit;
    this.#failed = failed;
  }

  schedule(partition: number, nextOffset: bigint): void {
    this.#due.set(partition, nextOffset);
    this.#committing ??= this.#flush();
  }

  /** Resolves when nothing is due or in flight. */
  async done(): Promise<void> {
    while (this.#committing) await this.#committing;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#due.size > 0) {
        const offsets = [...this.#due].map(([partition, nextOffset]) => ({
          partition,
          nextOffset,
        }));
        this.#due.clear();
        try {
          await this.#commit(offsets);
        } catch (err) {
          this.#failed(err, offsets);
        }
      }
    } finally {
      this.#committing = null;
    }
  }
}
