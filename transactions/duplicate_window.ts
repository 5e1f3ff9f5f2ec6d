/**
 * The data team's duplicate rule, shared by the agent and the training export so both skip the
 * same rows: a transaction is a duplicate when the same transaction id was seen recently for the
 * same customer. An id reused by another customer (the files have those) is a different
 * transaction and is scored. Keying by customer also makes the rule independent of how customers
 * are spread over partitions, so any agent and the offline export agree.
 *
 * Memory is bounded: two generations of Maps (transaction id -> its customers); when the young
 * one holds capacity/2 pairs the old one is dropped, so between capacity/2 and capacity recent
 * pairs are remembered.
 */
/** Recent ids remembered by default, by the agent and the training export alike. */
export const DEFAULT_DUPLICATE_WINDOW = 200_000;

/**
 * The customers a transaction id was seen for: one number, or (an id reused by other customers,
 * rare) all of them, so that a reuse in between never hides a customer's own duplicate.
 */
type Customers = number | number[];

function holds(entry: Customers | undefined, customerId: number): boolean {
  return entry === customerId || (typeof entry === "object" && entry.includes(customerId));
}

export class DuplicateWindow {
  #young = new Map<number, Customers>();
  #old = new Map<number, Customers>();
  #youngPairs = 0;
  #oldPairs = 0;
  readonly #half: number;

  constructor(capacity: number) {
    this.#half = Math.max(1, Math.floor(capacity / 2));
  }

  /** True when (transactionId, customerId) was seen recently; otherwise remembers it. */
  seen(transactionId: number, customerId: number): boolean {
    let known = this.#young.get(transactionId);
    if (holds(known, customerId) || holds(this.#old.get(transactionId), customerId)) return true;
    if (this.#youngPairs >= this.#half) {
      this.#old = this.#young;
      this.#oldPairs = this.#youngPairs;
      this.#young = new Map();
      this.#youngPairs = 0;
      known = undefined;
    }
    if (known === undefined) this.#young.set(transactionId, customerId);
    else if (typeof known === "number") this.#young.set(transactionId, [known, customerId]);
    else known.push(customerId);
    this.#youngPairs++;
    return false;
  }

  /**
   * The remembered (transaction id, customer id) pairs whose customer `select` accepts, oldest
   * generation first, as a flat [tx, customer, tx, customer, ...] array: a partition's share of
   * the window for a state snapshot.
   */
  export(select: (customerId: number) => boolean): Float64Array {
    const pairs: number[] = [];
    // forEach: a for-of over a Map makes an entry array per pair.
    const add = (customers: Customers, tx: number) => {
      if (typeof customers === "number") {
        if (select(customers)) pairs.push(tx, customers);
        return;
      }
      for (const customer of customers) if (select(customer)) pairs.push(tx, customer);
    };
    this.#old.forEach(add);
    this.#young.forEach(add);
    return new Float64Array(pairs);
  }

  /** Remembers the pairs of an export, in their order, as if they had just been seen. */
  import(pairs: Float64Array): void {
    for (let i = 0; i + 1 < pairs.length; i += 2) this.seen(pairs[i], pairs[i + 1]);
  }

  clear(): void {
    this.#young.clear();
    this.#old.clear();
    this.#youngPairs = 0;
    this.#oldPairs = 0;
  }

  /** Pairs remembered. */
  get size(): number {
    return this.#youngPairs + this.#oldPairs;
  }
}
