import { UserFacingError } from "../../cli/usage_error.ts";

/**
 * The lab of deploy/vmlab/vmlab.sh from TypeScript: the VM test, the capacity runs on VMs and the
 * demo bring a lab up, talk to its VMs over ssh and always take it down again.
 */

const SCRIPT = new URL("./vmlab.sh", import.meta.url).pathname;

export interface LabOptions {
  vms: number;
  /** CPU quota of each agent VM, in cores. */
  vcpu: number;
  /** Memory limit of each agent VM, e.g. "1G". */
  memory: string;
  broker: boolean;
  /** CPU quota of the broker VM, in cores (vmlab's default: 1). */
  brokerVcpu?: number;
  /** The lab's name (vmlab.sh --prefix; default $VMLAB_PREFIX, else fsvm): labs with different
   * prefixes and subnets run side by side, and each `down` removes only its own. */
  prefix?: string;
  /** The lab's /24 as A.B.C (vmlab's default: 10.77.0). */
  subnet?: string;
}

export interface Lab {
  /** The lab's name: its netns, links and cgroups are PREFIX-NAME. */
  prefix: string;
  /** Agent VM names (vm1 ...) and their addresses, in order. */
  vms: string[];
  ips: Record<string, string>;
  /** Kafka's bootstrap address on the broker VM ("" without one). */
  brokers: string;
  /** ssh client configuration naming every VM (ssh -F). */
  sshConfig: string;
  /** Runs a shell command on a VM as root; rejects with its output when it fails. */
  ssh(vm: string, command: string): Promise<string>;
  /** Powers a VM off hard: every process of it killed at once. */
  kill(vm: string): Promise<void>;
  /** Stops every VM and removes everything the lab made. */
  down(): Promise<void>;
}

async function vmlab(
  args: string[],
  signal?: AbortSignal,
): Promise<{ ok: boolean; out: string; err: string }> {
  const res = await new Deno.Command("bash", {
    args: [SCRIPT, ...args],
    signal,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    ok: res.success,
    out: new TextDecoder().decode(res.stdout),
    err: new TextDecoder().decode(res.stderr).trim(),
  };
}

/**
 * Brings a lab up; a failed start has already been taken down by vmlab.sh itself. Aborting the
 * signal sends vmlab.sh SIGTERM, which takes down what it had started before it exits.
 */
export async function startLab(o: LabOptions, signal?: AbortSignal): Promise<Lab> {
  const prefix = o.prefix ?? (Deno.env.get("VMLAB_PREFIX") || "fsvm");
  const lab = ["--prefix", prefix];
  const up = await vmlab([
    ...lab,
    "up",
    "--vms",
    String(o.vms),
    "--vcpu",
    String(o.vcpu),
    "--memory",
    o.memory,
    ...(o.broker ? ["--broker"] : []),
    ...(o.brokerVcpu ? ["--broker-vcpu", String(o.brokerVcpu)] : []),
    ...(o.subnet ? ["--subnet", o.subnet] : []),
  ], signal);
  if (!up.ok) {
    throw new UserFacingError(up.err.split("\n").find((l) => l.startsWith("vmlab:")) ?? up.err);
  }
  const state = `/run/fraudstream-vmlab-${prefix}`;
  const env = parseLabEnv(await Deno.readTextFile(`${state}/lab.env`));
  const vms = env.VMLAB_VMS ? env.VMLAB_VMS.split(" ") : [];
  const ipList = env.VMLAB_VM_IPS ? env.VMLAB_VM_IPS.split(" ") : [];
  const sshConfig = env.VMLAB_SSH_CONFIG;
  return {
    prefix,
    vms,
    ips: Object.fromEntries(vms.map((vm, i) => [vm, ipList[i]])),
    brokers: env.VMLAB_BROKERS ?? "",
    sshConfig,
    ssh: async (vm, command) => {
      const res = await new Deno.Command("ssh", {
        args: ["-F", sshConfig, vm, command],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(res.stdout);
      if (!res.success) {
        throw new Error(
          `ssh ${vm} '${command}' exited ${res.code}: ${out}${
            new TextDecoder().decode(res.stderr)
          }`,
        );
      }
      return out;
    },
    kill: async (vm) => {
      const res = await vmlab([...lab, "kill", vm]);
      if (!res.ok) throw new Error(res.err);
    },
    down: async () => {
      const res = await vmlab([...lab, "down"]);
      if (!res.ok) throw new Error(res.err);
    },
  };
}

/** lab.env holds NAME=VALUE lines written with bash's printf %q (only "\ " escapes occur). */
export function parseLabEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (!m) continue;
    env[m[1]] = m[2] === "''" ? "" : m[2].replace(/\\(.)/g, "$1");
  }
  return env;
}

/** Waits until every agent's /readyz answers 200 (URLs with or without http://). */
export async function waitAgentsReady(urls: string[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const raw of urls) {
    const url = raw.startsWith("http") ? raw : `http://${raw}`;
    for (;;) {
      const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })
        .then(async (r) => (await r.body?.cancel(), r.ok), () => false);
      if (ok) break;
      if (Date.now() > deadline) {
        throw new UserFacingError(`agent ${url} not ready after ${timeoutMs / 1000} s`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
