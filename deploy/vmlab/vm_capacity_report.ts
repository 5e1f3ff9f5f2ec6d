import { niceCeil, ticks } from "../../capacity/chart_svg.ts";
import { type FleetSize, fleetSize } from "../../capacity/fleet_size.ts";

/** One capacity run on emulated VMs: `vms` VMs of `vcpu` cores, one agent each. */
export interface VmRun {
  vms: number;
  vcpu: number;
  /** Highest bounded input rate of the whole fleet, tx/s; null when no step was bounded. */
  knee: number | null;
  /**
   * Lowest growing rate above the knee, tx/s: the knee lies in [knee, upper). A step that grew
   * below a bounded one (a transient) is in the row's own report, not here.
   */
  upper: number | null;
  /** "found": a growing step above bounds it; "not_reached": the knee is only a lower bound. */
  status: string;
  drain: number | null;
  driverLimited: boolean;
  /**
   * CPU during the step that limits the knee (the lowest growing one above it, else the highest
   * sent), in cores: each agent VM's use (mean) and the share of its quota periods that were
   * throttled, the broker VM likewise, the load driver, the machine.
   */
  limitCpu: {
    inputRate: number;
    grew: boolean;
    agentVmCores: number;
    agentVmThrottled: number;
    brokerVmCores: number;
    brokerVmThrottled: number;
    driverCores: number;
    machineCores: number;
    machineSize: number;
  } | null;
  seconds: number;
  /** The run's own report, relative to the output directory. */
  report: string;
}

export interface VmCapacityInput {
  runs: VmRun[];
  scalingVcpu: number;
  memory: string;
  brokerVcpu: number;
  stepSeconds: number;
  release: string;
  command: string[];
}

const TARGETS = [50, 400];
const UTILISATION = 0.7;
const PARTITIONS = 6;

/** Fleet sizes per VM size: from the scaling series where measured, else the one-VM knee. */
export function sizing(
  runs: readonly VmRun[],
): { vcpu: number; oneVm: VmRun; sizes: FleetSize[] }[] {
  const vcpus = [...new Set(runs.map((r) => r.vcpu))].sort((a, b) => a - b);
  return vcpus.flatMap((vcpu) => {
    const measured = runs.filter((r) => r.vcpu === vcpu && r.knee !== null && r.knee > 0)
      .map((r) => ({ agents: r.vms, capacity: r.knee! }));
    const oneVm = runs.find((r) => r.vcpu === vcpu && r.vms === 1 && r.knee !== null);
    if (!oneVm) return [];
    return [{
      vcpu,
      oneVm,
      sizes: TARGETS.map((t) => fleetSize(t, measured, UTILISATION, PARTITIONS)),
    }];
  });
}

/** The smallest VM size whose one agent covers the target at the utilisation, without a spare. */
export function smallestAlone(runs: readonly VmRun[], target: number): VmRun | null {
  return runs.filter((r) => r.vms === 1 && r.knee !== null && r.knee * UTILISATION >= target)
    .sort((a, b) => a.vcpu - b.vcpu)[0] ?? null;
}

function rate(v: number | null): string {
  return v === null ? "-" : Math.round(v).toLocaleString("en-US");
}

/** Throttled in at least this share of its quota periods: the VM was held at its vCPUs. */
const HELD = 0.5;
/** Busy cores at least this share of the machine's: nothing was left for anyone. */
const FULL = 0.95;
/**
 * Using at least this share of its vCPUs: the VM had none to spare, even when it was throttled in
 * few periods (an agent of 1 vCPU is mostly one JavaScript thread, which seldom overdraws a
 * whole core's quota).
 */
const SPENT = 0.9;

/**
 * What set the limit: the agent VMs held at or using up their quota, else the broker VM held at
 * its, else a machine with every core busy, else the load driver (one JavaScript thread); null
 * unmeasured.
 */
export function limitedBy(r: VmRun): "agent" | "broker" | "machine" | "driver" | null {
  const c = r.limitCpu;
  if (!c) return null;
  if (c.agentVmThrottled >= HELD || c.agentVmCores >= SPENT * r.vcpu) return "agent";
  if (c.brokerVmThrottled >= HELD) return "broker";
  if (c.machineCores >= FULL * c.machineSize) return "machine";
  return "driver";
}

function cpuCell(r: VmRun): string {
  const c = r.limitCpu;
  if (!c) return "-";
  const f = (v: number) => v.toFixed(2);
  const pct = (v: number) => `${Math.round(100 * v)}%`;
  return `${limitedBy(r)}: at ${rate(c.inputRate)} tx/s ${f(c.agentVmCores)} ` +
    `(${pct(c.agentVmThrottled)}) / ${f(c.brokerVmCores)} (${pct(c.brokerVmThrottled)}) / ` +
    `${f(c.driverCores)} / ${f(c.machineCores)} of ${c.machineSize}`;
}

/**
 * The knee as measured: a lower bound ("≥") when no growing step bounded it from above, or when
 * the step that did was limited by something other than the agent VMs' CPU.
 */
function knee(r: VmRun): string {
  if (r.knee === null) return "-";
  const own = r.status === "found" && (r.limitCpu === null || limitedBy(r) === "agent");
  return `${own ? "" : "≥ "}${rate(r.knee)}`;
}

export async function writeVmCapacityReport(
  dir: string,
  input: VmCapacityInput,
): Promise<{ answer: string; markdown: string }> {
  const knees = input.runs.filter((r) => r.vms === 1).sort((a, b) => a.vcpu - b.vcpu);
  const scaling = input.runs.filter((r) => r.vcpu === input.scalingVcpu)
    .sort((a, b) => a.vms - b.vms);
  const sized = sizing(input.runs);
  const alone = smallestAlone(input.runs, 400);
  const answer = [
    "Knee per agent: " +
    knees.map((r) => `${r.vcpu} vCPU ${knee(r)} tx/s`).join(", ") + ".",
    alone
      ? `The smallest VM measured that takes the 400 tx/s holiday peak alone at ${
        UTILISATION * 100
      }%: ${alone.vcpu} vCPU (knee ${knee(alone)} tx/s).`
      : "No VM size measured takes the 400 tx/s holiday peak alone.",
  ].join(" ");
  const md = [
    "# Capacity on emulated VMs",
    "",
    answer,
    "",
    `Command: \`${input.command.join(" ")}\`. One agent per VM (install.sh, systemd), ` +
    `${input.memory} per VM, Kafka on a broker VM of ${input.brokerVcpu} vCPU, load driver on ` +
    `the host, ${input.stepSeconds} s steps, release: ${input.release}. Knee = highest input ` +
    "rate whose lag stayed bounded (fraudstream capacity's method).",
    "",
    "## Knee per agent by VM size",
    "",
    "| vCPU | knee tx/s | lag grew at tx/s | drain tx/s | status | limit: at the limiting step, cores (throttled) of agent VM / broker VM / driver / machine | run |",
    "| ---: | ---: | ---: | ---: | --- | --- | --- |",
    ...knees.map((r) =>
      `| ${r.vcpu} | ${knee(r)} | ${rate(r.upper)} | ${rate(r.drain)} | ${r.status}${
        r.driverLimited ? " (driver-limited)" : ""
      } | ${cpuCell(r)} | [report](${r.report}) |`
    ),
    "",
    "Limit: CPU during the lowest step above the knee whose lag grew (else the highest sent). " +
    "Agent VMs throttled in most quota periods, or using 90% of their vCPUs, were held at them: " +
    "the knee is theirs. " +
    "Otherwise they had CPU to spare and the broker VM (throttled), the machine (every core " +
    "busy) or the load driver set the rate, and the agents' knee is only at least the one shown.",
    "",
    "![knee per vCPU](knee_vs_vcpu.svg)",
    "",
    `## Scaling: 1..${scaling.at(-1)?.vms ?? 1} VMs of ${input.scalingVcpu} vCPU`,
    "",
    "| VMs | knee tx/s | per VM | vs 1 VM | status | run |",
    "| ---: | ---: | ---: | ---: | --- | --- |",
    ...scaling.map((r) => {
      const base = scaling[0];
      // A ratio of lower bounds says nothing: only knees found on both sides are compared.
      const ratio = r.status === "found" && base?.status === "found" && r.knee && base.knee
        ? (r.knee / base.knee).toFixed(2)
        : "-";
      const perVm = r.knee === null ? null : { ...r, knee: r.knee / r.vms };
      return `| ${r.vms} | ${knee(r)} | ${
        perVm ? knee(perVm) : "-"
      } | ${ratio} | ${r.status} | [report](${r.report}) |`;
    }),
    "",
    "![scaling](scaling.svg)",
    "",
    `## Fleet size per VM size (${UTILISATION * 100}% utilisation + one spare VM)`,
    "",
    "| vCPU | knee per VM tx/s | VMs for 50 tx/s | VMs for 400 tx/s |",
    "| ---: | ---: | ---: | ---: |",
    ...sized.map((s) =>
      `| ${s.vcpu} | ${knee(s.oneVm)} | ${
        s.sizes.map((f) => `${f.agents}${f.extrapolated ? " (scaled)" : ""}`).join(" | ")
      } |`
    ),
    "",
  ].join("\n");
  await Deno.writeTextFile(`${dir}/report.md`, md);
  await Deno.writeTextFile(
    `${dir}/report.json`,
    JSON.stringify({ ...input, answer, sizing: sized }, null, 2) + "\n",
  );
  await Deno.writeTextFile(
    `${dir}/knee_vs_vcpu.svg`,
    lineChart(
      "Knee per agent by VM size",
      "vCPU",
      knees.filter((r) => r.knee !== null).map((r) => [r.vcpu, r]),
    ),
  );
  await Deno.writeTextFile(
    `${dir}/scaling.svg`,
    lineChart(
      `Fleet knee by number of ${input.scalingVcpu}-vCPU VMs`,
      "VMs",
      scaling.filter((r) => r.knee !== null).map((r) => [r.vms, r]),
    ),
  );
  return { answer, markdown: `${dir}/report.md` };
}

/**
 * A small self-contained SVG: each run's knee against x, joined by a line, tx/s from zero. A
 * knee that is only a lower bound is a hollow circle labelled "≥".
 */
function lineChart(title: string, xLabel: string, runs: [number, VmRun][]): string {
  const W = 640, H = 360, L = 80, R = 24, T = 44, B = 48;
  const points = runs.map(([x, r]): [number, number] => [x, r.knee ?? 0]);
  const xTop = Math.max(1, ...points.map(([x]) => x));
  const yTop = niceCeil(Math.max(1, ...points.map(([, y]) => y)));
  const px = (x: number) => L + (x / xTop) * (W - L - R);
  const py = (y: number) => H - B - (y / yTop) * (H - T - B);
  const parts = [
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${title}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`,
    `<text x="${(L + W - R) / 2}" y="${
      H - 10
    }" text-anchor="middle" font-size="12">${xLabel}</text>`,
    `<text x="16" y="${T - 12}" font-size="12">knee tx/s</text>`,
    ...ticks(yTop).map((t) =>
      `<text x="${L - 6}" y="${py(t) + 4}" text-anchor="end" font-size="11">${
        Math.round(t).toLocaleString("en-US")
      }</text><line x1="${L}" y1="${py(t)}" x2="${W - R}" y2="${py(t)}" stroke="#eee"/>`
    ),
    `<polyline fill="none" stroke="#d62728" stroke-width="2" points="${
      points.map(([x, y]) => `${px(x)},${py(y)}`).join(" ")
    }"/>`,
    ...runs.map(([x, r]) => {
      const y = r.knee ?? 0;
      const fill = r.status === "found" ? "#d62728" : "white";
      return `<circle cx="${px(x)}" cy="${py(y)}" r="4" fill="${fill}" stroke="#d62728"/>` +
        `<text x="${px(x)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${x}</text>` +
        `<text x="${px(x)}" y="${py(y) - 8}" text-anchor="middle" font-size="11">${knee(r)}</text>`;
    }),
    `<text x="${W - R}" y="${T - 12}" text-anchor="end" font-size="11">` +
    "filled: knee found; hollow: lag still bounded at the highest rate sent (≥)</text>",
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif"><rect width="${W}" height="${H}" fill="white"/>${
    parts.join("")
  }</svg>\n`;
}
