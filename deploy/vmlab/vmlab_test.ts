import assert from "node:assert/strict";
import { parseLabEnv } from "./lab.ts";
import { limitedBy, sizing, smallestAlone, type VmRun } from "./vm_capacity_report.ts";

/**
 * vmlab's refusals and the pure parts of the VM tools. Nothing here starts a VM (that is
 * `deno task test:vms`, as root), so these run in the ordinary suite on any machine.
 */

const SCRIPT = new URL("./vmlab.sh", import.meta.url).pathname;

async function vmlab(args: string[], asNobody = false) {
  const [cmd, ...prefix] = asNobody
    ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash"]
    : ["bash"];
  const out = await new Deno.Command(cmd, {
    args: [...prefix, SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr).trim() };
}

Deno.test("vmlab.sh refuses bad input in one line, before touching anything", async () => {
  const cases: [string[], string][] = [
    [["frob"], "vmlab: unknown command frob (see vmlab.sh --help)"],
    [["up", "--vcpu", "x"], "vmlab: --vcpu x: expected cores, at least 0.01, e.g. 0.25"],
    [["up", "--vcpu", "0.001"], "vmlab: --vcpu 0.001: expected cores, at least 0.01, e.g. 0.25"],
    [["up", "--memory", "lots"], "vmlab: --memory lots: expected a size like 512M or 2G"],
    [["up", "--vms", "0"], "vmlab: nothing to start: --vms 0 without --broker"],
    [["up", "--subnet", "10.77"], "vmlab: --subnet 10.77: expected A.B.C (a /24)"],
    [["up", "--bogus"], "vmlab: unknown option --bogus (see vmlab.sh --help)"],
    [["run", "--vms", "1"], "vmlab: run needs -- COMMAND (see vmlab.sh --help)"],
    [["kill"], "vmlab: kill needs one VM name (see vmlab.sh --help)"],
    [["--prefix"], "vmlab: --prefix needs a value (see vmlab.sh --help)"],
    [
      ["--prefix", "Fs-1", "down"],
      "vmlab: --prefix Fs-1: expected 2..8 lower-case letters or digits, starting with a letter",
    ],
  ];
  for (const [args, message] of cases) {
    const out = await vmlab(args);
    assert.deepEqual([out.code, out.stderr], [2, message], args.join(" "));
  }
});

Deno.test("vmlab.sh refuses to run without root", async () => {
  // As root (CI), the script runs as nobody; otherwise it already runs without root.
  for (const command of [["up"], ["kill", "vm1"], ["down"]]) {
    const out = await vmlab(command, Deno.uid() === 0);
    assert.equal(out.code, 1, command.join(" "));
    assert.match(out.stderr, /^vmlab: needs root/);
  }
});

async function ip(args: string[]) {
  const out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  return { ok: out.success, stdout: new TextDecoder().decode(out.stdout) };
}

Deno.test({
  name: "vmlab.sh down removes only what starts with its own prefix",
  ignore: Deno.uid() !== 0, // namespaces and links need root
}, async () => {
  // Two labs' leftovers by name, as a crashed up leaves them; `down` of one keeps the other's.
  for (const ns of ["fstmine-vm1", "fstother-vm1"]) {
    await ip(["netns", "del", ns]);
    assert.ok((await ip(["netns", "add", ns])).ok, `ip netns add ${ns}`);
  }
  try {
    const down = await new Deno.Command("bash", {
      args: [SCRIPT, "down"],
      env: { VMLAB_PREFIX: "fstmine" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(down.code, 0, new TextDecoder().decode(down.stderr));
    const left = (await ip(["netns", "list"])).stdout;
    assert.doesNotMatch(left, /^fstmine-vm1\b/m);
    assert.match(left, /^fstother-vm1\b/m);
  } finally {
    await ip(["netns", "del", "fstmine-vm1"]);
    await ip(["netns", "del", "fstother-vm1"]);
  }
});

Deno.test("lab.env is read back as vmlab.sh's printf %q wrote it", () => {
  assert.deepEqual(
    parseLabEnv(
      "# comment\nVMLAB_VMS=vm1\\ vm2\nVMLAB_BROKERS=10.77.0.2:9092\nVMLAB_EMPTY=''\n",
    ),
    { VMLAB_VMS: "vm1 vm2", VMLAB_BROKERS: "10.77.0.2:9092", VMLAB_EMPTY: "" },
  );
});

function run(vms: number, vcpu: number, knee: number | null, status = "found"): VmRun {
  return {
    vms,
    vcpu,
    knee,
    upper: null,
    status,
    drain: null,
    driverLimited: false,
    limitCpu: null,
    seconds: 1,
    report: "r.md",
  };
}

Deno.test("fleet size per VM size: 70% of the knee plus one spare; the smallest VM alone", () => {
  const runs = [run(1, 0.1, 300), run(2, 0.1, 560), run(1, 0.5, 1000), run(1, 1, null)];
  const sized = sizing(runs);
  assert.deepEqual(sized.map((s) => s.vcpu), [0.1, 0.5], "a size without a knee sizes nothing");
  // 0.1 vCPU: 50 tx/s fits one VM (210 >= 50) + spare; 400 needs 3 VMs (scaled from 2: 840 x
  // 0.7 = 588) + spare, since the measured 2 VMs give 560 x 0.7 = 392 < 400.
  assert.deepEqual(sized[0].sizes.map((f) => f.agents), [2, 4]);
  assert.deepEqual(sized[1].sizes.map((f) => f.agents), [2, 2]);
  assert.equal(smallestAlone(runs, 400)?.vcpu, 0.5);
  assert.equal(smallestAlone(runs, 800), null);
});

Deno.test("a knee is the agents' only where their VMs were held at their quota", () => {
  const cpu = (agentThrottled: number, brokerThrottled: number, machine: number, agent = 0.5) => ({
    ...run(1, 1, 17_000),
    limitCpu: {
      inputRate: 34_000,
      grew: true,
      agentVmCores: agent,
      agentVmThrottled: agentThrottled,
      brokerVmCores: 0.2,
      brokerVmThrottled: brokerThrottled,
      driverCores: 0.5,
      machineCores: machine,
      machineSize: 2,
    },
  });
  assert.equal(limitedBy(cpu(0.9, 0, 1.98)), "agent");
  assert.equal(limitedBy(cpu(0, 0.7, 1.5)), "broker");
  assert.equal(limitedBy(cpu(0, 0, 1.98)), "machine");
  assert.equal(limitedBy(cpu(0, 0, 1.2)), "driver");
  // A 1-vCPU agent using 0.96 of it, throttled in few periods: its own CPU, not the driver.
  assert.equal(limitedBy(cpu(0.39, 0, 1.78, 0.96)), "agent");
  assert.equal(limitedBy(run(1, 1, 17_000)), null);
});
