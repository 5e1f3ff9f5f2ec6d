/** A fleet size whose capacity (its knee, msg/s) was measured. */
export interface MeasuredCapacity {
  agents: number;
  capacity: number;
}

export interface FleetSize {
  target: number;
  utilisation: number;
  /** Agents whose capacity x utilisation covers the target. */
  forLoad: number;
  /** forLoad + 1: the fleet still covers the target with one agent down. */
  agents: number;
  /** Capacity assumed for forLoad agents, msg/s. */
  capacity: number;
  /** True when forLoad agents were not measured: capacity scaled from the nearest measured size. */
  extrapolated: boolean;
  /** The measured fleet size the capacity was scaled from. */
  basedOn: number;
  partitions: number;
  /** A group uses at most one agent per partition: more agents need more partitions. */
  partitionsMustGrow: boolean;
}

/**
 * The smallest fleet whose capacity x utilisation covers the target, plus one spare. Measured
 * sizes use their own capacity; any other size scales the capacity per agent of the largest
 * measured size at or below it (the smallest measured size when none is), which keeps the
 * contention seen at that size and assumes nothing better beyond it.
 */
export function fleetSize(
  target: number,
  measured: readonly MeasuredCapacity[],
  utilisation: number,
  partitions: number,
): FleetSize {
  if (!(target > 0)) throw new RangeError(`target ${target} must be above zero`);
  if (!(utilisation > 0 && utilisation <= 1)) {
    throw new RangeError(`utilisation ${utilisation} must be in (0, 1]`);
  }
  const usable = [...measured].filter((m) => m.capacity > 0 && m.agents > 0)
    .sort((a, b) => a.agents - b.agents);
  if (usable.length === 0) throw new RangeError("no measured capacity to size a fleet from");
  for (let n = 1;; n++) {
    const exact = usable.find((m) => m.agents === n);
    const base = exact ?? usable.filter((m) => m.agents <= n).at(-1) ?? usable[0];
    const capacity = exact ? exact.capacity : base.capacity * n / base.agents;
    if (capacity * utilisation >= target) {
      return {
        target,
        utilisation,
        forLoad: n,
        agents: n + 1,
        capacity,
        extrapolated: exact === undefined,
        basedOn: base.agents,
        partitions,
        partitionsMustGrow: n + 1 > partitions,
      };
    }
  }
}

/** One line: "400 tx/s needs 3 agents (2 for the load at 70% + 1 spare)". */
export function describeFleetSize(f: FleetSize): string {
  const pct = Math.round(f.utilisation * 100);
  const basis = f.extrapolated
    ? `, extrapolated from the ${f.basedOn}-agent measurement`
    : `, measured`;
  const grow = f.partitionsMustGrow
    ? `; more than the ${f.partitions} partitions: the transactions topic needs at least ${f.agents}`
    : "";
  return `${fmtRate(f.target)} tx/s needs ${f.agents} agent${f.agents === 1 ? "" : "s"} ` +
    `(${f.forLoad} for the load at ${pct}% utilisation + 1 spare; ` +
    `${f.forLoad === 1 ? "1 agent handles" : `${f.forLoad} agents handle`} ${
      fmtRate(f.capacity)
    } tx/s${basis})${grow}`;
}

export function fmtRate(r: number): string {
  if (Number.isInteger(r) || r >= 100) return String(Math.round(r));
  return r >= 10 ? r.toFixed(1) : r.toFixed(2);
}
