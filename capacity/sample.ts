/** One reading of the consumer group's position, taken every second during a capacity run. */
export interface LagSample {
  /** Seconds since the run started. */
  t: number;
  /** Sum over partitions of the end offsets: every message ever written to the topic. */
  end: number;
  /** Sum over partitions of the group's committed offsets (the low watermark where none yet). */
  committed: number;
  /** end - committed: the backlog of unprocessed messages. */
  lag: number;
  partitionLag: number[];
  /** Messages/s written to the topic since the previous sample. */
  inputRate: number;
  /** Messages/s committed by the group since the previous sample. */
  throughput: number;
  /** What the run was doing: "preload", "drain", "step 3", ... */
  phase: string;
  agents: number;
  /** The rate the load driver aimed at, null while it was idle or unlimited. */
  targetRate: number | null;
}
