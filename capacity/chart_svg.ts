import { fmtRate } from "./fleet_size.ts";
import type { Measurement } from "./planner.ts";
import type { LagSample } from "./sample.ts";

const W = 1000;
const H = 460;
const M = { left: 70, right: 80, top: 56, bottom: 48 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;
const COLORS = {
  input: "#1f77b4",
  throughput: "#2ca02c",
  target: "#7f7f7f",
  lag: "#ff7f0e",
  knee: "#d62728",
  bounded: "#e8f5e9",
  growing: "#fdecea",
  drain: "#f2f2f2",
};

/**
 * A self-contained SVG (no scripts, no external fonts) of a capacity run: input rate,
 * throughput and target rate on the left axis, lag on the right, each step shaded green
 * (bounded) or red (lag growing), each fleet size's knee as a dashed line. The rate axis is
 * scaled to the steps: the backlog writes of the drain phases run far faster and are clipped.
 */
export function renderChart(
  samples: readonly LagSample[],
  measurements: readonly Measurement[],
): string {
  if (samples.length < 2) {
    return svg([text(W / 2, H / 2, "not enough samples for a chart", "middle")]);
  }
  const t0 = samples[0].t;
  const t1 = samples[samples.length - 1].t;
  const stepRates = measurements.flatMap((m) =>
    m.steps.flatMap((s) => [s.targetRate, s.inputRate, s.throughput])
  );
  const kneeRates = measurements.flatMap((m) => [m.knee.rate ?? 0, m.knee.upper ?? 0]);
  const rateTop = niceCeil(
    1.15 *
      Math.max(
        1,
        ...stepRates,
        ...kneeRates,
        ...(stepRates.length ? [] : samples.map((s) => s.throughput)),
      ),
  );
  const lagTop = niceCeil(1.1 * Math.max(1, ...samples.map((s) => s.lag)));
  const x = (t: number) => M.left + ((t - t0) / Math.max(1e-9, t1 - t0)) * PW;
  const yRate = (r: number) => M.top + PH - (Math.min(r, rateTop * 1.02) / rateTop) * PH;
  const yLag = (l: number) => M.top + PH - (l / lagTop) * PH;
  const parts: string[] = [];

  for (const band of phaseBands(samples, measurements)) {
    parts.push(
      `<rect x="${f(x(band.from))}" y="${M.top}" width="${
        f(Math.max(0.5, x(band.to) - x(band.from)))
      }" height="${PH}" fill="${band.color}"/>`,
    );
  }
  for (const m of measurements) {
    for (const step of m.steps.slice(1)) {
      parts.push(
        `<line x1="${f(x(step.fromT))}" x2="${f(x(step.fromT))}" y1="${M.top}" y2="${
          M.top + PH
        }" stroke="#fff" stroke-width="1.5"/>`,
      );
    }
  }
  for (const tick of ticks(rateTop)) {
    parts.push(
      `<line x1="${M.left}" x2="${M.left + PW}" y1="${f(yRate(tick))}" y2="${
        f(yRate(tick))
      }" stroke="#ddd" stroke-width="0.5"/>`,
      text(M.left - 6, yRate(tick) + 4, fmtRate(tick), "end"),
    );
  }
  for (const tick of ticks(lagTop)) {
    parts.push(text(M.left + PW + 6, yLag(tick) + 4, compact(tick), "start", COLORS.lag));
  }
  for (const tick of ticks(t1 - t0)) {
    parts.push(text(x(t0 + tick), M.top + PH + 18, `${Math.round(tick)}`, "middle"));
  }
  parts.push(
    text(M.left + PW / 2, H - 8, "seconds since the start of the run", "middle"),
    `<text x="16" y="${M.top + PH / 2}" transform="rotate(-90 16 ${
      M.top + PH / 2
    })" text-anchor="middle" font-size="12">messages / s</text>`,
    `<text x="${W - 14}" y="${M.top + PH / 2}" transform="rotate(90 ${W - 14} ${
      M.top + PH / 2
    })" text-anchor="middle" font-size="12" fill="${COLORS.lag}">lag (messages)</text>`,
  );

  for (const m of measurements) {
    parts.push(
      `<line x1="${f(x(m.fromT))}" x2="${f(x(m.fromT))}" y1="${M.top}" y2="${
        M.top + PH
      }" stroke="#555" stroke-width="1"/>`,
      text(x(m.fromT) + 4, M.top + 14, `${m.agents} agent${m.agents === 1 ? "" : "s"}`, "start"),
    );
  }

  parts.push(`<g clip-path="url(#plot)">`);
  parts.push(polyline(samples, (s) => s.targetRate, x, yRate, COLORS.target, "4 3", 1.2));
  parts.push(polyline(samples, (s) => s.inputRate, x, yRate, COLORS.input, "", 1.4));
  parts.push(polyline(samples, (s) => s.throughput, x, yRate, COLORS.throughput, "", 1.4));
  parts.push(polyline(samples, (s) => s.lag, x, yLag, COLORS.lag, "", 1.6));
  for (const m of measurements) {
    if (m.knee.rate === null || m.steps.length === 0) continue;
    const from = x(m.steps[0].fromT);
    const to = x(m.steps[m.steps.length - 1].toT);
    const y = yRate(m.knee.rate);
    parts.push(
      `<line x1="${f(from)}" x2="${f(to)}" y1="${f(y)}" y2="${
        f(y)
      }" stroke="${COLORS.knee}" stroke-width="1.6" stroke-dasharray="8 4"/>`,
      text(from + 4, y - 5, `knee ${fmtRate(m.knee.rate)} tx/s`, "start", COLORS.knee),
    );
  }
  parts.push(`</g>`);
  parts.push(
    `<rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}" fill="none" stroke="#333" stroke-width="1"/>`,
  );
  parts.push(legend());
  return svg(parts);
}

interface Band {
  from: number;
  to: number;
  color: string;
}

/** Consecutive samples of one phase and fleet size, coloured by what that phase showed. */
function phaseBands(samples: readonly LagSample[], measurements: readonly Measurement[]): Band[] {
  const bands: Band[] = [];
  let start = 0;
  for (let i = 1; i <= samples.length; i++) {
    const a = samples[start];
    const b = samples[i];
    if (b && b.phase === a.phase && b.agents === a.agents) continue;
    const step = measurements.find((m) => m.agents === a.agents)?.steps.find((s) =>
      s.phase === a.phase
    );
    const color = step ? (step.bounded ? COLORS.bounded : COLORS.growing) : COLORS.drain;
    const prevEnd = start > 0 ? samples[start - 1].t : a.t;
    bands.push({ from: prevEnd, to: samples[i - 1].t, color });
    start = i;
  }
  return bands;
}

function polyline(
  samples: readonly LagSample[],
  value: (s: LagSample) => number | null,
  x: (t: number) => number,
  y: (v: number) => number,
  color: string,
  dash: string,
  width: number,
): string {
  const segments: string[][] = [[]];
  for (const s of samples) {
    const v = value(s);
    if (v === null || !Number.isFinite(v)) {
      if (segments[segments.length - 1].length) segments.push([]);
      continue;
    }
    segments[segments.length - 1].push(`${f(x(s.t))},${f(y(v))}`);
  }
  return segments.filter((p) => p.length > 1).map((p) =>
    `<polyline points="${p.join(" ")}" fill="none" stroke="${color}" stroke-width="${width}"${
      dash ? ` stroke-dasharray="${dash}"` : ""
    }/>`
  ).join("");
}

function legend(): string {
  const items: [string, string, string][] = [
    ["input rate", COLORS.input, ""],
    ["throughput (commits)", COLORS.throughput, ""],
    ["target rate", COLORS.target, "4 3"],
    ["lag (right axis)", COLORS.lag, ""],
    ["knee", COLORS.knee, "8 4"],
  ];
  const out: string[] = [];
  let x = M.left;
  for (const [label, color, dash] of items) {
    out.push(
      `<line x1="${x}" x2="${x + 22}" y1="18" y2="18" stroke="${color}" stroke-width="2"${
        dash ? ` stroke-dasharray="${dash}"` : ""
      }/>`,
      text(x + 27, 22, label, "start"),
    );
    x += 40 + label.length * 6.5;
  }
  const shades: [string, string][] = [[COLORS.bounded, "step: lag bounded"], [
    COLORS.growing,
    "step: lag growing",
  ], [
    COLORS.drain,
    "backlog write / drain",
  ]];
  x = M.left;
  for (const [color, label] of shades) {
    out.push(
      `<rect x="${x}" y="30" width="22" height="10" fill="${color}" stroke="#bbb" stroke-width="0.5"/>`,
      text(x + 27, 39, label, "start"),
    );
    x += 40 + label.length * 6.5;
  }
  return out.join("");
}

function svg(parts: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`,
    `<defs><clipPath id="plot"><rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}"/></clipPath></defs>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}

function text(x: number, y: number, content: string, anchor: string, color = "#333"): string {
  return `<text x="${f(x)}" y="${f(y)}" text-anchor="${anchor}" font-size="11" fill="${color}">${
    escapeXml(content)
  }</text>`;
}

function escapeXml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** The next round number (1, 2, 2.5 or 5 x 10^k) at or above v. */
export function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Five or so round ticks from 0 to top. */
export function ticks(top: number): number[] {
  if (!(top > 0)) return [0];
  const step = niceCeil(top / 5);
  const out: number[] = [];
  for (let v = 0; v <= top + step * 1e-9; v += step) out.push(v);
  return out;
}

function compact(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return String(Math.round(v));
}

function f(v: number): string {
  return v.toFixed(1);
}
