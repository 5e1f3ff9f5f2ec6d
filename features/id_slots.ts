/**
 * Maps entity ids (customer or terminal) to dense slot numbers, so per-entity state lives in
 * flat typed arrays indexed by slot. Ids in [0, directLimit) go through a growable Int32Array
 * (one lookup, no hashing: the generator's and the bank's ids are small dense integers); any
 * other id (negative, fractional, huge) falls back to a Map so odd data cannot blow up memory.
 * Freed slots are reused, so an agent that drops revoked customers stays bounded.
 */
export class IdSlots {
  /** slot + 1 per direct id; 0 = no slot. */
  #direct = new Int32Array(1024);
  readonly #directLimit: number;
  readonly #sparse = new Map<number, number>();
  #free: number[] = [];
  /** Slots ever handed out; a slot below this is either live or on the free list. */
  #highWater = 0;
  #live = 0;

  constructor(directLimit = 1 << 24) {
    this.#directLimit = directLimit;
  }

  /** Set by getOrAdd; a field rather than a tuple so the hot path allocates nothing. */
  lastAddWasNew = false;

  #isDirect(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.#directLimit;
  }

  /** The slot of id, or -1. */
  get(id: number): number {
    if (this.#isDirect(id)) return id < this.#direct.length ? this.#direct[id] - 1 : -1;
    return this.#sparse.get(id) ?? -1;
  }

  /** The slot of id, allocating one when new; lastAddWasNew tells the caller to reset it. */
  getOrAdd(id: number): number {
    const slot = this.get(id);
    if (slot >= 0) {
      this.lastAddWasNew = false;
      return slot;
    }
    const fresh = this.#free.length > 0 ? this.#free.pop()! : this.#highWater++;
    if (this.#isDirect(id)) {
      if (id >= this.#direct.length) {
        let size = this.#direct.length;
        while (size <= id) size *= 2;
        const grown = new Int32Array(Math.min(size, this.#directLimit));
        grown.set(this.#direct);
        this.#direct = grown;
      }
      this.#direct[id] = fresh + 1;
    } else {
      this.#sparse.set(id, fresh);
    }
    this.#live++;
    this.lastAddWasNew = true;
    return fresh;
  }

  /** Releases id's slot for reuse; returns the slot or -1. */
  delete(id: number): number {
    const slot = this.get(id);
    if (slot < 0) return -1;
    if (this.#isDirect(id)) this.#direct[id] = 0;
    else this.#sparse.delete(id);
    this.#free.push(slot);
    this.#live--;
    return slot;
  }

  /**
   * Calls fn for every live id and its slot: direct ids in ascending order, then the others in
   * insertion order, so exports are deterministic. fn may delete the id it is given. Walks the
   * whole direct table: meant for rebalances and snapshots, not for the per-transaction path.
   */
  forEach(fn: (id: number, slot: number) => void): void {
    const direct = this.#direct;
    for (let id = 0; id < direct.length; id++) {
      if (direct[id] !== 0) fn(id, direct[id] - 1);
    }
    for (const [id, slot] of this.#sparse) fn(id, slot);
  }

  get size(): number {
    return this.#live;
  }

  /** Bytes of the id index itself (the direct table and a rough Map estimate). */
  indexBytes(): number {
    return this.#direct.byteLength + this.#sparse.size * 40 + this.#free.length * 8;
  }
}
