/**
 * How fast the producer may send: pure logic over an injected clock, so that tests drive it with
 * a fake one. The producer asks allow() how many of its next messages may go now, sends them,
 * and sleeps waitMs() when the answer is 0.
 */
export interface Pacer {
  /**
   * How many of the next `max` messages may be sent now (0..max). eventTimes[offset + k] is the
   * event time of the k-th of them, NaN for a line without one (it goes with its neighbours);
   * only event-time replay looks at them.
   */
  allow(max: number, eventTimes: Float64Array, offset: number): number;
  /** After allow gave 0: how long to sleep before asking again (ms, at most MAX_WAIT_MS). */
  waitMs(nextEventTime: number): number;
  /** The rate aimed at now (messages/s); NaN when unlimited or replaying event time. */
  targetRate(): number;
  /** A ramp that has run its last step: the producer stops. */
  finished(): boolean;
}

/**
 * Tokens are released in groups worth at least this much time: one send per group keeps sends
 * batched (at most ~100 per second whatever the rate) instead of one tiny send per token.
 */
export const SEND_INTERVAL_MS = 10;
/**
 * A stall (GC, a slow acknowledgement) leaves tokens owed; the bucket keeps up to this much time's
 * worth, so the pacer catches up and the rate over a second or more stays the asked one. A longer
 * stall is lost rather than replayed as a flood.
 */
export const CATCH_UP_MS = 1000;
const MAX_WAIT_MS = 250;

export type PaceSpec =
  | { kind: "unlimited" }
  | { kind: "constant"; rate: number }
  | { kind: "ramp"; rates: number[]; stepMs: number }
  | { kind: "replay"; speed: number };

export function createPacer(spec: PaceSpec, now: () => number = () => performance.now()): Pacer {
  switch (spec.kind) {
    case "unlimited":
      return new Unlimited();
    case "constant":
      return new TokenBucket(() => spec.rate, now);
    case "ramp":
      return new TokenBucket((elapsed) => spec.rates[Math.floor(elapsed / spec.stepMs)], now);
    case "replay":
      return new EventTimeReplay(spec.speed, now);
  }
}

class Unlimited implements Pacer {
  allow(max: number): number {
    return max;
  }
  waitMs(): number {
    return 0;
  }
  targetRate(): number {
    return NaN;
  }
  finished(): boolean {
    return false;
  }
}

/**
 * Token bucket whose rate is a function of the time since the first allow() (the clock starts
 * when sending starts, not while connecting); rateAt returns undefined once a ramp is over.
 */
class TokenBucket implements Pacer {
  private start = NaN;
  private last = NaN;
  private tokens = 0;

  constructor(
    private readonly rateAt: (elapsedMs: number) => number | undefined,
    private readonly now: () => number,
  ) {}

  allow(max: number): number {
    const t = this.now();
    if (Number.isNaN(this.start)) {
      this.start = t;
      this.last = t;
      // The first group may go at once, as every later one does when its time has come.
      this.tokens = group(this.rateAt(0) ?? 0);
    }
    const rate = this.rateAt(t - this.start);
    if (rate === undefined) return 0;
    this.tokens = Math.min(
      Math.max(group(rate), rate * CATCH_UP_MS / 1000),
      this.tokens + (t - this.last) * rate / 1000,
    );
    this.last = t;
    if (this.tokens < Math.min(max, group(rate))) return 0;
    const n = Math.min(max, Math.floor(this.tokens));
    this.tokens -= n;
    return n;
  }

  waitMs(): number {
    const rate = this.targetRate();
    if (!(rate > 0)) return MAX_WAIT_MS;
    const missing = group(rate) - this.tokens;
    return Math.min(MAX_WAIT_MS, Math.max(1, Math.ceil(missing * 1000 / rate)));
  }

  targetRate(): number {
    const elapsed = Number.isNaN(this.start) ? 0 : this.now() - this.start;
    return this.rateAt(elapsed) ?? 0;
  }

  finished(): boolean {
    return !Number.isNaN(this.start) && this.rateAt(this.now() - this.start) === undefined;
  }
}

/** Tokens of one send: SEND_INTERVAL_MS worth, and at least one message. */
function group(rate: number): number {
  return Math.max(1, rate * SEND_INTERVAL_MS / 1000);
}

/**
 * Event-time replay: the first message's event time is pinned to the wall clock, after which a
 * message may go once (its event time - the first one's) / speed has elapsed. Gaps in the data
 * (nights) are replayed as gaps; --replay-speed 86400 plays a day per second.
 */
class EventTimeReplay implements Pacer {
  private wallStart = NaN;
  private eventStart = NaN;

  constructor(private readonly speed: number, private readonly now: () => number) {}

  allow(max: number, eventTimes: Float64Array, offset: number): number {
    const limit = this.eventLimit(eventTimes, offset, max);
    let n = 0;
    while (n < max) {
      const e = eventTimes[offset + n];
      if (e > limit) break;
      n++;
    }
    return n;
  }

  waitMs(nextEventTime: number): number {
    if (Number.isNaN(this.wallStart)) return 0;
    const ahead = (nextEventTime - this.eventStart) / this.speed - (this.now() - this.wallStart);
    return Math.min(MAX_WAIT_MS, Math.max(1, Math.ceil(ahead)));
  }

  targetRate(): number {
    return NaN;
  }

  finished(): boolean {
    return false;
  }

  /** The latest event time that may be sent now; pins the clocks on the first timed message. */
  private eventLimit(eventTimes: Float64Array, offset: number, max: number): number {
    if (Number.isNaN(this.wallStart)) {
      for (let k = 0; k < max; k++) {
        const e = eventTimes[offset + k];
        if (!Number.isNaN(e)) {
          this.wallStart = this.now();
          this.eventStart = e;
          break;
        }
      }
      if (Number.isNaN(this.wallStart)) return Infinity;
    }
    return this.eventStart + (this.now() - this.wallStart) * this.speed;
  }
}
