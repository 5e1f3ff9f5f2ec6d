const EMPTY = -1;

/**
 * Scores waiting for their label, by transaction id, holding at most `limit`: the oldest score is
 * forgotten first. The agent records every row it scores here, so this is on the hot path; a Map
 * did the same job, but once full its evict-the-oldest step (`keys().next()` over the holes that
 * deletes leave at the front) cost about 1 µs per row, a sixth of the agent's time.
 *
 * An open-addressing table in typed arrays (linear probing, backward-shift deletion, growing by
 * doubling) plus a ring of ids in insertion order. An id scored again keeps the age of its first
 * score (the files reuse ids across customers; labels only carry the id).
 */
export class PendingScores {
  readonly #limit: number;
  #ids: Float64Array;
  #scores: Float32Array;
  #shift: number;
  #size = 0;
  #ring: Float64Array;
  #oldest = 0;
  #queued = 0;

  constructor(limit: number) {
    if (!(limit >= 1)) throw new RangeError(`PendingScores: limit ${limit} must be >= 1`);
    this.#limit = limit;
    this.#ids = new Float64Array(64).fill(EMPTY);
    this.#scores = new Float32Array(64);
    this.#shift = 32 - 6;
    this.#ring = new Float64Array(Math.min(64, limit));
  }

  get size(): number {
    return this.#size;
  }

  set(transactionId: number, score: number): void {
    // Row ids are non-negative integers; anything else could collide with the empty marker.
    if (!(transactionId >= 0)) return;
    let slot = this.#find(transactionId);
    if (this.#ids[slot] === transactionId) {
      this.#scores[slot] = score;
      return;
    }
    if (this.#queued === this.#limit) {
      const evicted = this.#ring[this.#oldest];
      this.#oldest = (this.#oldest + 1) % this.#ring.length;
      this.#queued--;
      const at = this.#find(evicted);
      if (this.#ids[at] === evicted) {
        this.#delete(at);
        // The deletion shifts entries back, so the free slot for this id may have moved.
        slot = this.#find(transactionId);
      }
    }
    if (2 * (this.#size + 1) > this.#ids.length) {
      this.#grow();
      slot = this.#find(transactionId);
    }
    this.#ids[slot] = transactionId;
    this.#scores[slot] = score;
    this.#size++;
    this.#enqueue(transactionId);
  }

  /** The score waiting for this id, removed; NaN when there is none. */
  take(transactionId: number): number {
    if (!(transactionId >= 0)) return NaN;
    const slot = this.#find(transactionId);
    if (this.#ids[slot] !== transactionId) return NaN;
    const score = this.#scores[slot];
    this.#delete(slot);
    return score;
  }

  #home(id: number): number {
    return Math.imul((id >>> 0) ^ ((id / 4294967296) >>> 0), 0x9e3779b1) >>> this.#shift;
  }

  /** The id's slot, or the empty slot where it would go. */
  #find(id: number): number {
    const ids = this.#ids;
    const mask = ids.length - 1;
    let slot = this.#home(id);
    while (ids[slot] !== EMPTY && ids[slot] !== id) slot = (slot + 1) & mask;
    return slot;
  }

  /** Backward-shift deletion: later entries of the probe run move up, so no tombstones. */
  #delete(slot: number): void {
    const ids = this.#ids;
    const mask = ids.length - 1;
    let hole = slot;
    let next = slot;
    for (;;) {
      next = (next + 1) & mask;
      const id = ids[next];
      if (id === EMPTY) break;
      const home = this.#home(id);
      const between = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (between) continue;
      ids[hole] = id;
      this.#scores[hole] = this.#scores[next];
      hole = next;
    }
    ids[hole] = EMPTY;
    this.#size--;
  }

  #grow(): void {
    const ids = this.#ids;
    const scores = this.#scores;
    this.#ids = new Float64Array(ids.length * 2).fill(EMPTY);
    this.#scores = new Float32Array(ids.length * 2);
    this.#shift--;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === EMPTY) continue;
      const slot = this.#find(ids[i]);
      this.#ids[slot] = ids[i];
      this.#scores[slot] = scores[i];
    }
  }

  #enqueue(id: number): void {
    if (this.#queued === this.#ring.length) {
      const ring = new Float64Array(Math.min(this.#ring.length * 2, this.#limit));
      for (let i = 0; i < this.#queued; i++) {
        ring[i] = this.#ring[(this.#oldest + i) % this.#ring.length];
      }
      this.#ring = ring;
      this.#oldest = 0;
    }
    this.#ring[(this.#oldest + this.#queued) % this.#ring.length] = id;
    this.#queued++;
  }
}
