import { readProcStat } from "../../metrics/proc_stat.ts";

/**
 * Where the machine's CPU went during a capacity run on emulated VMs: each VM's cgroups (vmlab.sh
 * makes one per VM in the cpu and cpuacct hierarchies), the load driver's process and the whole
 * machine. A knee "not reached" is only a fact about the agent if the agent VM was held at its
 * quota; when it was not, these say whether the broker, the driver or the machine ran out first.
 */

/** One VM's CPU counters: cpuacct.usage (ns, all its processes ever) and its CFS periods. */
export interface VmCpuCounters {
  usageNs: number;
  periods: number;
  throttled: number;
}

export interface CpuSample {
  atMs: number;
  vms: Record<string, VmCpuCounters>;
  driverSeconds: number;
  /** The machine's busy and total CPU seconds, summed over cores (/proc/stat). */
  machineBusy: number;
  machineTotal: number;
}

/** Average use over a time span: cores (1 = one core busy the whole span) and throttled share. */
export interface CpuUse {
  vms: Record<string, { cores: number; throttled: number }>;
  driverCores: number;
  machineCores: number;
  /** Cores the machine has. */
  machineSize: number;
}

const CGROUPS = "/sys/fs/cgroup";
const TICKS_PER_SECOND = 100;

function readNumber(path: string): number {
  return Number(Deno.readTextFileSync(path).trim());
}

export function vmCpuCounters(prefix: string, vm: string): VmCpuCounters {
  const stat = Object.fromEntries(
    Deno.readTextFileSync(`${CGROUPS}/cpu/${prefix}-${vm}/cpu.stat`).trim().split("\n")
      .map((line) => line.split(" ")).map(([k, v]) => [k, Number(v)]),
  );
  return {
    usageNs: readNumber(`${CGROUPS}/cpuacct/${prefix}-${vm}/cpuacct.usage`),
    periods: stat.nr_periods ?? 0,
    throttled: stat.nr_throttled ?? 0,
  };
}

function machineCpu(): { busy: number; total: number } {
  const cpu = Deno.readTextFileSync("/proc/stat").split("\n")[0].split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - cpu[3] - cpu[4]) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/** Samples every second until stopped; the samples then cover the whole run. */
export function sampleCpu(prefix: string, vms: string[], driverPid: number) {
  const samples: CpuSample[] = [];
  const take = () => {
    try {
      const machine = machineCpu();
      samples.push({
        atMs: Date.now(),
        vms: Object.fromEntries(vms.map((vm) => [vm, vmCpuCounters(prefix, vm)])),
        driverSeconds: readProcStat(driverPid).cpuSeconds,
        machineBusy: machine.busy,
        machineTotal: machine.total,
      });
    } catch {
      // The driver has exited, or the lab is going down: the samples so far are the run.
    }
  };
  take();
  const timer = setInterval(take, 1000);
  return {
    stop(): CpuSample[] {
      clearInterval(timer);
      return samples;
    },
  };
}

/** Average use between two times, from the samples nearest inside them; null without two. */
export function cpuUse(samples: CpuSample[], fromMs: number, toMs: number): CpuUse | null {
  const inside = samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
  if (inside.length < 2) return null;
  const a = inside[0];
  const b = inside[inside.length - 1];
  const seconds = (b.atMs - a.atMs) / 1000;
  const vms: CpuUse["vms"] = {};
  for (const vm of Object.keys(b.vms)) {
    const periods = b.vms[vm].periods - a.vms[vm].periods;
    vms[vm] = {
      cores: (b.vms[vm].usageNs - a.vms[vm].usageNs) / 1e9 / seconds,
      throttled: periods > 0 ? (b.vms[vm].throttled - a.vms[vm].throttled) / periods : 0,
    };
  }
  return {
    vms,
    driverCores: (b.driverSeconds - a.driverSeconds) / seconds,
    machineCores: (b.machineBusy - a.machineBusy) / seconds,
    machineSize: Math.round((b.machineTotal - a.machineTotal) / seconds),
  };
}
