import assert from "node:assert/strict";
import { type CpuSample, cpuUse } from "./vm_cpu.ts";

const sample = (s: number, vmNs: number, periods: number, throttled: number): CpuSample => ({
  atMs: 1_000_000 + s * 1000,
  vms: { vm1: { usageNs: vmNs, periods, throttled } },
  driverSeconds: 0.5 * s,
  machineBusy: 1.9 * s,
  machineTotal: 2 * s,
});

Deno.test("CPU use over a span: cores from the counters' growth, throttled share of periods", () => {
  // 0.25 core for 10 s, throttled in 80 of its 100 periods; the sample outside is ignored.
  const samples = [
    sample(0, 0, 0, 0),
    sample(10, 2.5e9, 100, 80),
    sample(20, 9e9, 200, 80),
  ];
  const use = cpuUse(samples, 1_000_000, 1_010_000)!;
  assert.equal(use.vms.vm1.cores, 0.25);
  assert.equal(use.vms.vm1.throttled, 0.8);
  assert.equal(use.driverCores, 0.5);
  assert.ok(Math.abs(use.machineCores - 1.9) < 1e-9);
  assert.equal(use.machineSize, 2);
  assert.equal(cpuUse(samples, 1_000_000, 1_005_000), null, "one sample says nothing");
});
