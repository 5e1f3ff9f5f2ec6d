/**
 * Counts events per wall-clock second in a ring of 61 slots, so rates over the last 1, 10 and 60
 * complete seconds cost no allocation to record or to read.
 */
/** Events per second over the last 1, 10 and 60 complete seconds. */
export interface Rates {
  "1s": number;
  "10s": number;
  "60s": number;
}

export class RateMeter {
  #slots = new Float64Array(61);
  #slotSecond = new Float64Array(61).fill(-1);
  #total = 0;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get total(): number {
    return this.#total;
  }

  add(n: number): void {
    this.#total += n;
    const sec = Math.floor(this.#now() / 1000);
    const i = sec % 61;
    if (this.#slotSecond[i] !== sec) {
      this.#slotSecond[i] = sec;
      this.#slots[i] = 0;
    }
    this.#slots[i] += n;
  }

  /** Events per second over the last `seconds` complete seconds (the current one excluded). */
  rate(seconds: number): number {
    const now = Math.floor(this.#now() / 1000);
    let sum = 0;
    for (let s = now - seconds; s < now; s++) {
      const i = ((s % 61) + 61) % 61;
      if (this.#slotSecond[i] === s) sum += this.#slots[i];
    }
    return sum / seconds;
  }

  rates(): Rates {
    return { "1s": this.rate(1), "10s": this.rate(10), "60s": this.rate(60) };
  }
}
