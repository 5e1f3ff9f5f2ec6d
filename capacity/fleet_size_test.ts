import assert from "node:assert/strict";
import { describeFleetSize, fleetSize } from "./fleet_size.ts";

Deno.test("one measured agent: capacity per agent scales, plus one spare", () => {
  const f = fleetSize(800, [{ agents: 1, capacity: 475 }], 0.7, 6);
  // 0.7 * 475 = 332.5 per agent: 3 cover 800 (997.5), 2 do not (665).
  assert.equal(f.forLoad, 3);
  assert.equal(f.agents, 4);
  assert.equal(f.extrapolated, true);
  assert.equal(f.basedOn, 1);
  assert.equal(f.partitionsMustGrow, false);
  assert.equal(f.capacity, 1425);
});

Deno.test("a measured size is used as measured, even when scaling is poor", () => {
  const measured = [{ agents: 1, capacity: 1000 }, { agents: 2, capacity: 1200 }];
  const f = fleetSize(800, measured, 0.7, 6);
  // 1 agent: 700 < 800; 2 agents measured: 840 >= 800.
  assert.equal(f.forLoad, 2);
  assert.equal(f.extrapolated, false);
  assert.equal(f.capacity, 1200);
  // Beyond the measured sizes the 2-agent capacity per agent (600) is scaled: 3 -> 1800 * 0.7.
  const big = fleetSize(1200, measured, 0.7, 6);
  assert.equal(big.forLoad, 3);
  assert.equal(big.capacity, 1800);
  assert.equal(big.basedOn, 2);
  assert.equal(big.extrapolated, true);
});

Deno.test("below the smallest measured size scales that one down", () => {
  const f = fleetSize(50, [{ agents: 3, capacity: 900 }], 0.7, 6);
  assert.equal(f.forLoad, 1);
  assert.equal(f.capacity, 300);
  assert.equal(f.basedOn, 3);
  assert.equal(f.extrapolated, true);
});

Deno.test("a small target still gets a spare", () => {
  const f = fleetSize(50, [{ agents: 1, capacity: 475 }], 0.7, 6);
  assert.equal(f.forLoad, 1);
  assert.equal(f.agents, 2);
  assert.equal(f.extrapolated, false);
});

Deno.test("more agents than partitions says the partitions must grow", () => {
  const f = fleetSize(4000, [{ agents: 1, capacity: 500 }], 0.7, 6);
  assert.equal(f.forLoad, 12);
  assert.equal(f.agents, 13);
  assert.equal(f.partitionsMustGrow, true);
  assert.match(describeFleetSize(f), /the transactions topic needs at least 13/);
});

Deno.test("exactly at the boundary counts as covered", () => {
  const f = fleetSize(350, [{ agents: 1, capacity: 500 }], 0.7, 6);
  assert.equal(f.forLoad, 1);
});

Deno.test("bad inputs are refused", () => {
  assert.throws(() => fleetSize(0, [{ agents: 1, capacity: 1 }], 0.7, 6), RangeError);
  assert.throws(() => fleetSize(10, [{ agents: 1, capacity: 1 }], 1.5, 6), RangeError);
  assert.throws(() => fleetSize(10, [], 0.7, 6), RangeError);
  assert.throws(() => fleetSize(10, [{ agents: 1, capacity: 0 }], 0.7, 6), RangeError);
});

Deno.test("the description names the measurement basis", () => {
  const line = describeFleetSize(fleetSize(400, [{ agents: 1, capacity: 475 }], 0.7, 6));
  assert.match(
    line,
    /^400 tx\/s needs 3 agents \(2 for the load at 70% utilisation \+ 1 spare; 2 agents handle 950 tx\/s, extrapolated from the 1-agent measurement\)$/,
  );
});
