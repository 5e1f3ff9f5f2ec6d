import { parseArgs } from "node:util";
import { UsageError, UserFacingError } from "../../cli/usage_error.ts";
import { ROOT } from "../compile.ts";
import { type Lab, startLab, waitAgentsReady } from "./lab.ts";
import { releaseForVms } from "./release_for_vms.ts";
import { type VmRun, writeVmCapacityReport } from "./vm_capacity_report.ts";
import { type CpuSample, cpuUse, sampleCpu } from "./vm_cpu.ts";

/**
 * `deno task capacity:vms` (as root): `fraudstream capacity --agents` against agents confined to
 * emulated VMs of a given vCPU quota, the load driver on the host and Kafka on a broker VM with
 * the rest of the machine. One agent per VM, installed with install.sh over ssh like production.
 *
 * Knee per agent: one VM of each --vcpus size. Scaling: 2 .. --max-vms VMs of --scaling-vcpu
 * (its one-VM run is shared with the knee series). Each run gets a fresh lab, so no run inherits
 * another's topics, group or JIT-warm agents. The combined report goes to --out.
 */

const INSTALL = `${ROOT}deploy/install.sh`;
const PARTITIONS = 6;

interface Options {
  vcpus: number[];
  scalingVcpu: number;
  maxVms: number;
  memory: string;
  brokerVcpu: number;
  stepSeconds: number;
  out: string;
}

function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        vcpus: { type: "string", default: "0.1,0.25,0.5,1" },
        "scaling-vcpu": { type: "string", default: "0.25" },
        "max-vms": { type: "string", default: "3" },
        memory: { type: "string", default: "1G" },
        "broker-vcpu": { type: "string", default: "2" },
        "step-seconds": { type: "string", default: "20" },
        out: { type: "string", default: "capacity-vms-report" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.split("\n")[0] : String(err));
  }
  if (values.help) {
    console.log([
      "usage: deno task capacity:vms [--vcpus 0.1,0.25,0.5,1] [--scaling-vcpu 0.25] [--max-vms 3]",
      "                              [--memory 1G] [--broker-vcpu 2] [--step-seconds 20] [--out DIR]",
    ].join("\n"));
    Deno.exit(0);
  }
  const cores = (flag: string, raw: string) => {
    const n = Number(raw);
    if (!(n >= 0.01)) throw new UsageError(`--${flag} ${raw}: expected cores, e.g. 0.25`);
    return n;
  };
  const vcpus = values.vcpus.split(",").map((v) => cores("vcpus", v.trim()));
  const maxVms = Number(values["max-vms"]);
  if (!Number.isInteger(maxVms) || maxVms < 1 || maxVms > PARTITIONS) {
    throw new UsageError(`--max-vms ${values["max-vms"]}: expected 1..${PARTITIONS}`);
  }
  const stepSeconds = Number(values["step-seconds"]);
  if (!(stepSeconds >= 10)) {
    throw new UsageError(`--step-seconds ${values["step-seconds"]}: expected at least 10`);
  }
  return {
    vcpus,
    scalingVcpu: cores("scaling-vcpu", values["scaling-vcpu"]),
    maxVms,
    memory: values.memory,
    brokerVcpu: cores("broker-vcpu", values["broker-vcpu"]),
    stepSeconds,
    out: values.out.replace(/\/$/, ""),
  };
}

function progress(line: string) {
  console.error(`capacity:vms: ${line}`);
}

async function run(cmd: string, args: string[], what: string): Promise<string> {
  const res = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!res.success) {
    const err = new TextDecoder().decode(res.stderr).trim().split("\n").at(-1);
    throw new UserFacingError(`${what} failed: ${err}`);
  }
  return new TextDecoder().decode(res.stdout);
}

/**
 * `fraudstream capacity --agents` from the host, its progress lines passed through; returns the
 * CPU samples of the VMs, the driver and the machine taken while it ran.
 */
async function capacity(
  lab: Lab,
  urls: string[],
  dir: string,
  o: Options,
): Promise<CpuSample[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}main.ts`,
      "capacity",
      "--brokers",
      lab.brokers,
      "--agents",
      urls.join(","),
      "--step-seconds",
      String(o.stepSeconds),
      "--out",
      dir,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const cpu = sampleCpu(lab.prefix, [...lab.vms, "broker"], child.pid);
  const lines: string[] = [];
  for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
    for (const line of chunk.split("\n").filter((l) => l.trim())) {
      lines.push(line);
      console.error(`  ${line}`);
    }
  }
  const status = await child.status;
  const samples = cpu.stop();
  // Exit 1 with a report means no bounded step was found; the report still says why.
  const written = await Deno.stat(`${dir}/report.json`).then(() => true, () => false);
  if (!written) {
    throw new UserFacingError(
      `capacity exited ${status.code} without a report: ${lines.at(-1) ?? "no output"}`,
    );
  }
  return samples;
}

/**
 * CPU use during the step that limits the knee: the lowest step above it whose lag grew, else
 * (no knee found) the step sent at the highest rate. Whether the agent VMs were held at their
 * quota there says whether the knee is the agent's or the broker's, driver's or machine's.
 */
function limitCpu(
  samples: CpuSample[],
  startedAt: string,
  steps: { inputRate: number; bounded: boolean; fromT: number; toT: number }[],
  knee: number | null,
  vms: string[],
): VmRun["limitCpu"] {
  const above = steps.filter((s) => !s.bounded && s.inputRate > (knee ?? -1))
    .sort((a, b) => a.inputRate - b.inputRate);
  const step = above[0] ?? [...steps].sort((a, b) => b.inputRate - a.inputRate)[0];
  if (!step) return null;
  const t0 = Date.parse(startedAt);
  const use = cpuUse(samples, t0 + step.fromT * 1000, t0 + step.toT * 1000);
  if (!use) return null;
  const mean = (f: (v: { cores: number; throttled: number }) => number) =>
    vms.reduce((sum, vm) => sum + f(use.vms[vm]), 0) / vms.length;
  return {
    inputRate: step.inputRate,
    grew: !step.bounded,
    agentVmCores: mean((v) => v.cores),
    agentVmThrottled: mean((v) => v.throttled),
    brokerVmCores: use.vms.broker.cores,
    brokerVmThrottled: use.vms.broker.throttled,
    driverCores: use.driverCores,
    machineCores: use.machineCores,
    machineSize: use.machineSize,
  };
}

async function measure(
  vms: number,
  vcpu: number,
  release: string,
  o: Options,
): Promise<VmRun> {
  const label = `${vms} VM${vms === 1 ? "" : "s"} of ${vcpu} vCPU`;
  const dir = `${o.out}/runs/vms${vms}-vcpu${vcpu}`;
  progress(`${label}: starting the lab`);
  const lab = current = await startLab({
    vms,
    vcpu,
    memory: o.memory,
    broker: true,
    brokerVcpu: o.brokerVcpu,
  });
  try {
    await run(Deno.execPath(), [
      "run",
      "-A",
      `${ROOT}main.ts`,
      "topics",
      "--brokers",
      lab.brokers,
      "--partitions",
      String(PARTITIONS),
    ], "creating the topics");
    await Promise.all(lab.vms.map((vm) =>
      run("bash", [
        INSTALL,
        vm,
        "1",
        "--tarball",
        release,
        "--brokers",
        lab.brokers,
        "--ssh-config",
        lab.sshConfig,
      ], `install.sh on ${vm}`)
    ));
    const urls = lab.vms.map((vm) => `http://${lab.ips[vm]}:8081`);
    await waitAgentsReady(urls);
    progress(`${label}: agents ready, measuring`);
    const started = performance.now();
    const samples = await capacity(lab, urls, dir, o);
    const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
    const m = report.measurements[0];
    const result: VmRun = {
      vms,
      vcpu,
      knee: m?.knee.rate ?? null,
      upper: m?.knee.upper ?? null,
      status: m?.knee.status ?? "none",
      drain: m?.drain?.rate ?? null,
      driverLimited: m?.driverLimited ?? false,
      limitCpu: limitCpu(
        samples,
        report.started_at,
        m?.steps ?? [],
        m?.knee.rate ?? null,
        lab.vms,
      ),
      seconds: Math.round((performance.now() - started) / 1000),
      report: `runs/vms${vms}-vcpu${vcpu}/report.md`,
    };
    progress(`${label}: knee ${result.knee?.toFixed(0) ?? "none"} tx/s (${result.status})`);
    return result;
  } finally {
    current = undefined;
    await lab.down();
  }
}

/** The lab being measured, taken down when the run is interrupted. */
let current: Lab | undefined;

async function main(argv: string[]): Promise<void> {
  const o = parseOptions(argv);
  const interrupted = async () => {
    await current?.down().catch((e) => progress(`down failed: ${e.message}`));
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupted);
  Deno.addSignalListener("SIGTERM", interrupted);
  await Deno.mkdir(`${o.out}/runs`, { recursive: true });
  const release = await releaseForVms(o.out);
  progress(`release ${release} (compiled executable)`);
  const runs: VmRun[] = [];
  const plan: [number, number][] = o.vcpus.map((c) => [1, c]);
  if (!o.vcpus.includes(o.scalingVcpu)) plan.push([1, o.scalingVcpu]);
  for (let n = 2; n <= o.maxVms; n++) plan.push([n, o.scalingVcpu]);
  for (const [vms, vcpu] of plan) runs.push(await measure(vms, vcpu, release, o));
  await Deno.remove(release);
  const written = await writeVmCapacityReport(o.out, {
    runs,
    scalingVcpu: o.scalingVcpu,
    memory: o.memory,
    brokerVcpu: o.brokerVcpu,
    stepSeconds: o.stepSeconds,
    release: "compiled executable",
    command: ["deno", "task", "capacity:vms", ...argv],
  });
  console.log(written.answer);
  console.log(`report: ${written.markdown}`);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (err) {
    console.error(
      `capacity:vms: ${(err instanceof Error ? err.message : String(err)).split("\n")[0]}`,
    );
    Deno.exit(err instanceof UsageError ? 2 : 1);
  }
}
