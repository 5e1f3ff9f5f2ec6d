/**
 * The data team's duplicate rule, shared by the agent and the training export so both skip the
 * same rows: a transaction is a duplicate when the same transaction id was seen recently for the
 * same customer. An id reused by another customer (the files have those) is a different
 * transaction and is scored. Keying by customer also makes the rule independent of how customers
 * are spread over partitions, so any agent and the offline export agree.
 *
 * Memory is bounded: two generations of Maps (transaction id -> customer id); when the young one
 * holds capacity/2 ids the old one is dropped, so between capacity/2 and capacity recent ids are
 * remembered.
 */
/** Recent ids remembered by default, by the agent and the training export alike. */
export const DEFAULT_DUPLICATE_WINDOW = 200_000;

export class DuplicateWindow {
  #young = new Map<number, number>();
  #old = new Map<number, number>();
  readonly #half: number;

  constructor(capacity: number) {
    this.#half = Math.max(1, Math.floor(capacity / 2));
  }

  /** True when (transactionId, customerId) was seen recently; otherwise remembers it. */
  seen(transactionId: number, customerId: number): boolean {
    const known = this.#young.get(transactionId) ?? this.#old.get(transactionId);
    if (known === customerId) return true;
    if (this.#young.size >= this.#half) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(transactionId, customerId);
    return false;
  }

  /**
   * The remembered (transaction id, customer id) pairs whose customer `select` accepts, oldest
   * generation first, as a flat [tx, customer, tx, customer, ...] array: a partition's share of
   * the window for a state snapshot.
   */
  export(select: (customerId: number) => boolean): Float64Array {
    const pairs: number[] = [];
    for (const generation of [this.#old, this.#young]) {
      for (const [tx, customer] of generation) {
        if (select(customer)) pairs.push(tx, customer);
      }
    }
    return new Float64Array(pairs);
  }

  /** Remembers the pairs of an export, in their order, as if they had just been seen. */
  import(pairs: Float64Array): void {
    for (let i = 0; i + 1 < pairs.length; i += 2) this.seen(pairs[i], pairs[i + 1]);
  }

  clear(): void {
    this.#young.clear();
    this.#old.clear();
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }
}
