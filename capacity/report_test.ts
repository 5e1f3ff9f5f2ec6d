import assert from "node:assert/strict";
import { renderChart } from "./chart_svg.ts";
import { fleetSize } from "./fleet_size.ts";
import { findKnee } from "./knee.ts";
import type { Measurement, PlanResult, StepRecord } from "./planner.ts";
import { buildReport, renderMarkdown } from "./report.ts";
import type { LagSample } from "./sample.ts";
import { topicNames } from "../kafka/topics.ts";

function stepRecord(index: number, rate: number, bounded: boolean, fromT: number): StepRecord {
  return {
    index,
    targetRate: rate,
    inputRate: rate,
    throughput: bounded ? rate : 450,
    lagSlope: bounded ? 0.5 : rate - 450,
    lagSlopeSe: 1,
    tolerance: 0.02 * rate,
    lagStart: 10,
    lagEnd: bounded ? 12 : 900,
    lagMax: bounded ? 20 : 900,
    samples: 7,
    bounded,
    phase: `step ${index}`,
    fromT,
    toT: fromT + 9,
    driverLimited: false,
    firstFit: null,
  };
}

function measurement(agents: number, rates: [number, boolean][], fromT: number): Measurement {
  const steps = rates.map(([r, b], i) => stepRecord(i + 1, r * agents, b, fromT + 20 + i * 10));
  return {
    agents,
    group: `g${agents}`,
    topics: topicNames(`p.n${agents}.`),
    partitions: 6,
    drainRounds: [{
      backlog: 5000,
      writeRate: 50_000,
      result: { rate: 460 * agents, peakLag: 5000, samples: 8, fromT, toT: fromT + 8 },
    }],
    drain: { rate: 460 * agents, peakLag: 5000, samples: 8, fromT, toT: fromT + 8 },
    base: 460 * agents,
    steps,
    knee: findKnee(steps),
    driverLimited: false,
    agentStats: [],
    fromT,
    toT: fromT + 20 + rates.length * 10,
  };
}

function samples(until: number): LagSample[] {
  return Array.from({ length: until }, (_, t) => ({
    t,
    end: t * 400,
    committed: t * 390,
    lag: t * 10,
    partitionLag: [],
    inputRate: t < 3 ? 50_000 : 400,
    throughput: 390,
    phase: t < 20 ? "drain" : `step ${Math.min(4, Math.floor((t - 20) / 10) + 1)}`,
    agents: 1,
    targetRate: t < 20 ? null : 400,
  }));
}

const params = {
  step_seconds: 10,
  settle_seconds: 3,
  drain_seconds: 8,
  step_fractions: [0.7, 0.9, 1.05, 1.2],
  utilisation: 0.7,
  max_agents: 2,
  labels: true,
};

function result(measurements: Measurement[]): PlanResult {
  return {
    startedAt: "2026-01-01T00:00:00.000Z",
    measurements,
    samples: samples(60),
    unreachable: [],
    partitions: 6,
    remote: false,
    topicPrefix: "p.",
  };
}

Deno.test("the report answers first: knee per agent, bracket, fleet sizes", () => {
  const one = measurement(1, [[320, true], [410, true], [480, false], [550, false]], 0);
  const two = measurement(2, [[320, true], [410, true], [480, false]], 60);
  const measured = [{ agents: 1, capacity: one.knee.rate! }, {
    agents: 2,
    capacity: two.knee.rate!,
  }];
  const sizes = [50, 400, 2000].map((t) => fleetSize(t, measured, 0.7, 6));
  const report = buildReport({
    result: result([one, two]),
    fleetSizes: sizes,
    parameters: params,
    command: ["fraudstream", "capacity"],
  });
  assert.equal(
    report.answer,
    "Lag starts to grow at 410 tx/s per agent (bounded at 410, growing at 480 tx/s). 50 tx/s needs 2 agents, 400 tx/s needs 3 agents and 2000 tx/s needs 8 agents (at 70% utilisation with one spare agent, partly extrapolated). The transactions topic needs at least 8 partitions for 2000 tx/s (it has 6).",
  );
  const md = renderMarkdown(report);
  assert.ok(md.startsWith(`# Capacity report\n\n**${report.answer}**\n`));
  assert.match(md, /!\[input rate, throughput and lag over time\]\(chart\.svg\)/);
  assert.match(md, /\| 2 \| 820 \| 960 \| 410 \| 450 \| 920 \|/);
  assert.match(
    md,
    /\| 2000 \| \*\*8\*\* \| 7 \+ 1 spare \| 2870 \| extrapolated from 2 agents \| needs 8 \(has 6\) \|/,
  );
  assert.match(md, /## 2 agents\n/);
  assert.match(
    md,
    /\| 3 \| 480 \| 480 \| 450 \| 30\.0 ± 1\.0 \| 9\.6 \| 10 → 900 \(900\) \| 1\.88 \| \*\*growing\*\* \|/,
  );
  assert.match(md, /lag slope - 2 x SE <= 2% of the measured input rate/);
});

Deno.test("answers for a knee not reached and for none bounded", () => {
  const high = measurement(1, [[320, true], [410, true]], 0);
  high.driverLimited = true;
  const r1 = buildReport({
    result: result([high]),
    fleetSizes: [fleetSize(400, [{ agents: 1, capacity: 410 }], 0.7, 6)],
    parameters: params,
    command: [],
  });
  assert.match(
    r1.answer,
    /^Lag stayed bounded up to 410 tx\/s per agent, the most the load driver could send on this machine: lag starts to grow somewhere above that \(with the machine to itself, an agent drained a backlog at 460 tx\/s\)\. 400 tx\/s needs 3 agents/,
  );
  const low = measurement(1, [[320, false], [410, false]], 0);
  const r2 = buildReport({
    result: result([low]),
    fleetSizes: [],
    parameters: params,
    command: [],
  });
  assert.equal(
    r2.answer,
    "Lag grew at every rate tried: capacity is below 320 tx/s per agent. No fleet size can be given without a bounded rate.",
  );
  assert.match(renderMarkdown(r2), /No fleet size: no step kept the lag bounded/);
});

Deno.test("the chart is one self-contained SVG with the knee and shaded steps", () => {
  const one = measurement(1, [[320, true], [410, true], [480, false], [550, false]], 0);
  const svg = renderChart(samples(60), [one]);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /knee 410 tx\/s/);
  assert.match(svg, /fill="#e8f5e9"/);
  assert.match(svg, /fill="#fdecea"/);
  assert.equal((svg.match(/<polyline/g) ?? []).length >= 4, true);
  assert.ok(!/<script|xlink:href|@import/.test(svg));
  assert.match(renderChart([], []), /not enough samples/);
});
