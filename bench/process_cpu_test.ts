import assert from "node:assert/strict";
import { processCpuSeconds } from "./process_cpu.ts";

Deno.test("processCpuSeconds counts this process's busy time, not its idle time", async () => {
  // Spinning must show up as CPU time however loaded the machine is; a reader that did not
  // count it would spin into the deadline.
  const before = processCpuSeconds(Deno.pid);
  const deadline = performance.now() + 20_000;
  while (processCpuSeconds(Deno.pid) - before < 0.2) {
    assert.ok(performance.now() < deadline, "20 s of spinning did not show 0.2 s of CPU");
  }
  const busy = processCpuSeconds(Deno.pid);
  await new Promise((r) => setTimeout(r, 500));
  const idle = processCpuSeconds(Deno.pid) - busy;
  assert.ok(idle < 0.1, `idle ${idle}s`);
});
