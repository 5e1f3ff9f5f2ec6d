import { hostname } from "node:os";
import { renderChart } from "./chart_svg.ts";
import { DRAIN_FLOOR } from "./drain.ts";
import { describeFleetSize, type FleetSize, fmtRate } from "./fleet_size.ts";
import { SE_FACTOR, SLOPE_TOLERANCE } from "./knee.ts";
import type { Measurement, PlanResult } from "./planner.ts";
import type { LagSample } from "./sample.ts";

export interface PerAgentCapacity {
  /** Highest bounded rate per agent, tx/s; null when no step was bounded. */
  knee: number | null;
  /** Lowest unbounded rate above it, per agent; null when none. */
  upper: number | null;
  status: Measurement["knee"]["status"];
  driverLimited: boolean;
  /** Drain rate per agent, tx/s. */
  drain: number | null;
  /** Which measurement it comes from. */
  basis: string;
}

export interface CapacityReport {
  tool: "fraudstream capacity";
  started_at: string;
  finished_at: string;
  command: string[];
  machine: { hostname: string; cpus: number; os: string; deno: string };
  parameters: Record<string, unknown>;
  answer: string;
  method: string[];
  per_agent: PerAgentCapacity | null;
  fleet_sizes: FleetSize[];
  measurements: Measurement[];
  unreachable_agents: { url: string; error: string }[];
  samples: LagSample[];
}

export interface ReportInput {
  result: PlanResult;
  fleetSizes: FleetSize[];
  parameters: Record<string, unknown> & {
    step_seconds: number;
    settle_seconds: number;
    drain_seconds: number;
    step_fractions: number[];
    utilisation: number;
  };
  command: string[];
}

export function buildReport(input: ReportInput): CapacityReport {
  const { result, fleetSizes, parameters } = input;
  const perAgent = perAgentCapacity(result.measurements);
  return {
    tool: "fraudstream capacity",
    started_at: result.startedAt,
    finished_at: new Date().toISOString(),
    command: input.command,
    machine: {
      hostname: hostname(),
      cpus: navigator.hardwareConcurrency,
      os: `${Deno.build.os} ${Deno.build.arch}`,
      deno: Deno.version.deno,
    },
    parameters,
    answer: answer(perAgent, fleetSizes, parameters.utilisation),
    method: method(input),
    per_agent: perAgent,
    fleet_sizes: fleetSizes,
    measurements: result.measurements,
    unreachable_agents: result.unreachable,
    samples: result.samples,
  };
}

/** From the 1-agent measurement; a remote fleet measured at size N gives its knee / N. */
function perAgentCapacity(measurements: Measurement[]): PerAgentCapacity | null {
  const m = measurements.find((x) => x.agents === 1) ?? measurements[0];
  if (!m) return null;
  const per = (x: number | null) => x === null ? null : x / m.agents;
  return {
    knee: per(m.knee.rate),
    upper: per(m.knee.upper),
    status: m.knee.status,
    driverLimited: m.driverLimited,
    drain: per(m.drain?.rate ?? null),
    basis: m.agents === 1
      ? "the 1-agent measurement"
      : `the ${m.agents}-agent fleet divided by ${m.agents}`,
  };
}

function answer(
  perAgent: PerAgentCapacity | null,
  sizes: FleetSize[],
  utilisation: number,
): string {
  if (!perAgent) return "No measurement was completed.";
  let head: string;
  if (perAgent.status === "found") {
    head = `Lag starts to grow at ${fmtRate(perAgent.knee!)} tx/s per agent ` +
      `(bounded at ${fmtRate(perAgent.knee!)}, growing at ${fmtRate(perAgent.upper!)} tx/s).`;
  } else if (perAgent.status === "not_reached") {
    const drained = perAgent.drain === null
      ? ""
      : ` (with the machine to itself, an agent drained a backlog at ${
        fmtRate(perAgent.drain)
      } tx/s)`;
    head = `Lag stayed bounded up to ${fmtRate(perAgent.knee!)} tx/s per agent, ${
      perAgent.driverLimited
        ? "the most the load driver could send on this machine"
        : "the highest rate tried"
    }: lag starts to grow somewhere above that${perAgent.driverLimited ? drained : ""}.`;
  } else {
    head = `Lag grew at every rate tried: capacity is below ${
      fmtRate(perAgent.upper!)
    } tx/s per agent.`;
  }
  if (sizes.length === 0) return `${head} No fleet size can be given without a bounded rate.`;
  const parts = sizes.map((f) =>
    `${fmtRate(f.target)} tx/s needs ${f.agents} agent${f.agents === 1 ? "" : "s"}`
  );
  const extrapolated = sizes.some((f) => f.extrapolated) ? ", partly extrapolated" : "";
  const grow = sizes.filter((f) => f.partitionsMustGrow).at(-1);
  const partitions = grow
    ? ` The transactions topic needs at least ${grow.agents} partitions for ${
      fmtRate(grow.target)
    } tx/s (it has ${grow.partitions}).`
    : "";
  return `${head} ${joinAnd(parts)} (at ${
    Math.round(utilisation * 100)
  }% utilisation with one spare agent${extrapolated}).${partitions}`;
}

function method(input: ReportInput): string[] {
  const p = input.parameters;
  const remote = input.result.remote;
  const cpus = navigator.hardwareConcurrency;
  return [
    `Load: the day files' lines are written to the transactions topic keyed by customer id, by a load driver inside the planner (the producer's rate pacer), with each transaction's label published once ${
      p.labels ? "its label delay has passed in event time" : "— labels were off for this run"
    }; the files are replayed as often as needed, later passes shifted to new ids and later days.`,
    `Measurement: every second the planner reads the consumer group's committed offsets and the topic's end offsets from Kafka (admin API): lag = end - committed, input rate and throughput from their changes.`,
    remote
      ? `(a) Drain: a backlog is written as fast as possible while the running agents consume; the drain rate is the least-squares slope of the committed offsets from the peak lag until the lag falls below ${
        DRAIN_FLOOR * 100
      }% of it. The backlog is enlarged until the fit spans at least ${p.drain_seconds / 2} s.`
      : `(a) Drain: with the agents stopped, a backlog is written to fresh topics; the agents are started and the drain rate is the least-squares slope of the committed offsets from their first commit until the lag falls below ${
        DRAIN_FLOOR * 100
      }% of its peak. The backlog is enlarged (agents stopped again) until the fit spans at least ${
        p.drain_seconds / 2
      } s.`,
    `(b) Step ramp: the input rate is held at ${
      p.step_fractions.join(", ")
    } x the drain rate for ${p.step_seconds} s each. The first ${p.settle_seconds} s of a step are left out; lag, end and committed offsets are fitted by least squares over the rest. A step is bounded when lag slope - ${SE_FACTOR} x SE <= ${
      SLOPE_TOLERANCE * 100
    }% of the measured input rate (the tolerance absorbs the messages in flight). A step below the drain rate whose lag grew is held for another ${p.step_seconds} s and judged on that extension alone: a queue that keeps up at a higher rate holds more messages in flight, so its lag first rises to a new level and then stays there. A step that is bounded only because its fit is loose (lag slope above the tolerance but within ${SE_FACTOR} x SE of it) is held for another ${p.step_seconds} s too and judged on the whole step: an agent throttled to its CPU quota commits in bursts, and one step's fit can be too wide to tell a growing lag from a flat one. When the lowest steps already grow, the ramp goes down by halves (at most 3 times) until one is bounded. The ramp stops after two unbounded steps in a row; if every step is bounded it goes on in x1.2 steps (at most 3), unless the driver could not reach the target.`,
    `The knee is the highest measured input rate of a bounded step; its bracket reaches up to the lowest unbounded rate above it. It is compared with the saturated throughput (consumption while lag grew) and with the drain rate.`,
    remote
      ? `(c) Scaling: the given agents are measured as one fleet at the size they have.`
      : p.max_agents === 1
      ? `(c) Scaling: only the 1-agent fleet was measured (--max-agents 1); larger fleets are extrapolated from it.`
      : `(c) Scaling: the same is repeated with 1..${p.max_agents} agents (stopping early when the load driver cannot overload a fleet), each fleet on fresh topics and a fresh consumer group. All of them run on this machine (${cpus} CPU cores shared with the broker and the load driver), so the CPU, not Kafka, limits how capacity grows with N here; on separate VMs each agent keeps its own cores.`,
    `(d) Fleet size: the smallest N whose capacity x ${p.utilisation} covers the target, using the measured capacity of N agents where N was measured and otherwise the capacity per agent of the largest measured fleet at or below N (marked extrapolated), plus one spare agent so the target is still covered with one agent down. A consumer group uses at most one agent per partition: a larger fleet needs more partitions.`,
  ];
}

export function renderMarkdown(r: CapacityReport): string {
  const out: string[] = [];
  out.push(`# Capacity report`, "");
  out.push(`**${r.answer}**`, "");
  for (const f of r.fleet_sizes) out.push(`- ${describeFleetSize(f)}`);
  if (r.fleet_sizes.length) out.push("");
  out.push(
    `Run ${r.started_at} to ${r.finished_at} on ${r.machine.hostname} (${r.machine.cpus} CPU cores, ${r.machine.os}, Deno ${r.machine.deno}).`,
    "",
    "![input rate, throughput and lag over time](chart.svg)",
    "",
  );
  if (r.unreachable_agents.length) {
    out.push(
      `Agents that did not answer and were left out: ${
        r.unreachable_agents.map((u) => `${u.url} (${u.error})`).join(", ")
      }.`,
      "",
    );
  }
  out.push("## Capacity by fleet size", "");
  out.push(
    "| agents | knee tx/s | lag grows at tx/s | per agent tx/s | saturated throughput tx/s | drain rate tx/s | note |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  );
  for (const m of r.measurements) {
    const k = m.knee;
    out.push(
      `| ${m.agents} | ${num(k.rate)} | ${num(k.upper)} | ${
        num(k.rate === null ? null : k.rate / m.agents)
      } | ${num(k.saturatedThroughput)} | ${num(m.drain?.rate ?? null)} | ${kneeNote(m)} |`,
    );
  }
  out.push("");
  out.push("## Fleet size", "");
  if (r.fleet_sizes.length === 0) {
    out.push("No fleet size: no step kept the lag bounded.", "");
  } else {
    out.push(
      "| target tx/s | agents | for the load | capacity assumed tx/s | basis | partitions |",
      "| ---: | ---: | ---: | ---: | --- | --- |",
    );
    for (const f of r.fleet_sizes) {
      out.push(
        `| ${fmtRate(f.target)} | **${f.agents}** | ${f.forLoad} + 1 spare | ${
          fmtRate(f.capacity)
        } | ${
          f.extrapolated
            ? `extrapolated from ${f.basedOn} agent${f.basedOn === 1 ? "" : "s"}`
            : "measured"
        } | ${
          f.partitionsMustGrow
            ? `needs ${f.agents} (has ${f.partitions})`
            : `${f.partitions} suffice`
        } |`,
      );
    }
    out.push("");
  }
  out.push("## Method", "");
  for (const line of r.method) out.push(`- ${line}`);
  out.push("");
  for (const m of r.measurements) {
    out.push(`## ${m.agents} agent${m.agents === 1 ? "" : "s"}`, "");
    out.push(
      `Group \`${m.group}\`, topic \`${m.topics.transactions}\` (${m.partitions} partitions).`,
      "",
    );
    for (const d of m.drainRounds) {
      out.push(
        `- drain of ${d.backlog} messages (written at ${fmtRate(d.writeRate)} msg/s): ${
          d.result
            ? `${fmtRate(d.result.rate)} msg/s from t=${d.result.fromT.toFixed(1)} to ${
              d.result.toT.toFixed(1)
            } s (peak lag ${d.result.peakLag})`
            : "cleared too fast to fit"
        }`,
      );
    }
    out.push(
      `- steps are multiples of ${fmtRate(m.base)} msg/s${
        m.drain ? " (the drain rate)" : " (the driver's write rate: no drain rate)"
      }`,
      "",
    );
    out.push(
      "| step | target tx/s | input tx/s | throughput tx/s | lag slope ± SE (msg/s) | bound | lag start → end (max) | lag in s of input | result |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
    );
    for (const s of m.steps) {
      out.push(
        `| ${s.index} | ${fmtRate(s.targetRate)} | ${fmtRate(s.inputRate)} | ${
          fmtRate(s.throughput)
        } | ${s.lagSlope.toFixed(1)} ± ${s.lagSlopeSe.toFixed(1)} | ${
          s.tolerance.toFixed(1)
        } | ${s.lagStart} → ${s.lagEnd} (${s.lagMax}) | ${
          s.inputRate > 0 ? (s.lagMax / s.inputRate).toFixed(2) : "-"
        } | ${s.bounded ? "bounded" : "**growing**"}${s.driverLimited ? ", driver-limited" : ""}${
          s.firstFit
            ? ` (held twice as long: the first ${s.firstFit.samples} samples grew at ${
              s.firstFit.lagSlope.toFixed(1)
            } ± ${s.firstFit.lagSlopeSe.toFixed(1)}/s; the row fits ${
              s.firstFit.judged === "extension" ? "the extension" : "the whole step"
            })`
            : ""
        } |`,
      );
    }
    out.push("", `Knee: ${kneeText(m)}.`, "");
  }
  out.push("## Parameters", "", "```json", JSON.stringify(r.parameters, null, 2), "```", "");
  out.push(`Command: \`${r.command.join(" ")}\``, "");
  out.push(
    `Every sample is in report.json (${r.samples.length} samples); each agent's log is under logs/.`,
    "",
  );
  return out.join("\n");
}

function kneeText(m: Measurement): string {
  const k = m.knee;
  const inconsistent = k.inconsistent.length
    ? `; step ${k.inconsistent.join(", ")} grew below the knee (a transient: see the chart)`
    : "";
  if (k.status === "found") {
    return `${fmtRate(k.rate!)} tx/s, between ${fmtRate(k.rate!)} (bounded) and ${
      fmtRate(k.upper!)
    } tx/s (growing); saturated throughput ${num(k.saturatedThroughput)} tx/s, drain rate ${
      num(m.drain?.rate ?? null)
    } tx/s${inconsistent}`;
  }
  if (k.status === "not_reached") {
    return `at least ${fmtRate(k.rate!)} tx/s: no step made the lag grow${
      m.driverLimited ? " (the load driver could not send faster on this machine)" : ""
    }${inconsistent}`;
  }
  return `below ${num(k.upper)} tx/s: the lag grew at every step`;
}

function kneeNote(m: Measurement): string {
  if (m.knee.status === "found") return "";
  if (m.knee.status === "not_reached") {
    return m.driverLimited ? "at least (driver-limited)" : "at least";
  }
  return "below the lowest step";
}

function num(x: number | null): string {
  return x === null || !Number.isFinite(x) ? "-" : fmtRate(x);
}

function joinAnd(parts: string[]): string {
  return parts.length <= 1
    ? parts.join("")
    : `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}

export interface WrittenReport {
  dir: string;
  json: string;
  markdown: string;
  chart: string;
}

export async function writeReport(dir: string, report: CapacityReport): Promise<WrittenReport> {
  const written = {
    dir,
    json: `${dir}/report.json`,
    markdown: `${dir}/report.md`,
    chart: `${dir}/chart.svg`,
  };
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(written.json, JSON.stringify(report, null, 1) + "\n");
  await Deno.writeTextFile(written.markdown, renderMarkdown(report));
  await Deno.writeTextFile(written.chart, renderChart(report.samples, report.measurements));
  return written;
}
