import type { KafkaAdmin } from "../kafka/boundary.ts";
import type { LagSample } from "./sample.ts";

/** What the run is doing, stamped on each sample. */
export interface SampleContext {
  phase: string;
  agents: number;
  targetRate: number | null;
}

export interface GroupPosition {
  /** Wall-clock time of the reading (ms), midway between its requests. */
  atMs: number;
  end: number;
  committed: number;
  partitionLag: number[];
}

/**
 * Reads a consumer group's position on one topic from Kafka itself (committed offsets against
 * end offsets), so that it measures any fleet the same way: local children or remote VMs.
 */
export async function readGroupPosition(
  admin: KafkaAdmin,
  group: string,
  topic: string,
): Promise<GroupPosition> {
  const before = Date.now();
  const lag = await admin.groupLag(group, topic);
  const end = lag.partitions.reduce((sum, p) => sum + p.end, 0);
  return {
    atMs: (before + Date.now()) / 2,
    end,
    committed: end - lag.total,
    partitionLag: lag.partitions.map((p) => p.lag),
  };
}

/**
 * Samples the group's position every second into `samples`, with input rate and consumption
 * throughput from the deltas between consecutive readings. A failed reading is counted and
 * skipped: a gap in the series is better than a stalled run.
 */
export class LagSampler {
  readonly samples: LagSample[] = [];
  failures = 0;
  lastError = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #previous: GroupPosition | undefined;
  #running = false;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly admin: KafkaAdmin,
    private readonly group: string,
    private readonly topic: string,
    /** Time zero of the run (ms), so that samples of successive measurements line up. */
    private readonly t0Ms: number,
    private readonly context: () => SampleContext,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const first = Date.now();
    let k = 0;
    const tick = () => {
      if (!this.#running) return;
      this.#inFlight = this.sampleOnce().then(() => {
        if (!this.#running) return;
        // Scheduled on a fixed grid so that slow readings do not stretch the interval.
        k = Math.max(k + 1, Math.ceil((Date.now() - first) / this.intervalMs));
        this.#timer = setTimeout(tick, Math.max(0, first + k * this.intervalMs - Date.now()));
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#inFlight;
  }

  async sampleOnce(): Promise<LagSample | null> {
    // The phase when the reading starts: one taken before the phase began must not count for it.
    const ctx = this.context();
    let pos: GroupPosition;
    try {
      pos = await readGroupPosition(this.admin, this.group, this.topic);
    } catch (err) {
      this.failures++;
      this.lastError = err instanceof Error ? err.message : String(err);
      return null;
    }
    const prev = this.#previous;
    this.#previous = pos;
    const dt = prev ? (pos.atMs - prev.atMs) / 1000 : 0;
    const sample: LagSample = {
      t: round3((pos.atMs - this.t0Ms) / 1000),
      end: pos.end,
      committed: pos.committed,
      lag: pos.end - pos.committed,
      partitionLag: pos.partitionLag,
      inputRate: prev && dt > 0 ? round3((pos.end - prev.end) / dt) : 0,
      throughput: prev && dt > 0 ? round3((pos.committed - prev.committed) / dt) : 0,
      phase: ctx.phase,
      agents: ctx.agents,
      targetRate: ctx.targetRate,
    };
    this.samples.push(sample);
    return sample;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
