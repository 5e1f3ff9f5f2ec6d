import type { AgentRow, FleetTotals } from "./agent_poll.ts";
import type { GroupLag } from "../kafka/boundary.ts";

/** What one refresh of `fraudstream fleet` shows, as printed with --json. */
export interface FleetSnapshot {
  at: string;
  agents: AgentRow[];
  total: FleetTotals;
  /** Present when brokers were given: the group's lag from Kafka, or why it is unknown. */
  kafka?: GroupLag | { group: string; topic: string; error: string };
}

const COLUMNS: { head: string; cell: (r: AgentRow) => string; right?: boolean }[] = [
  { head: "AGENT", cell: (r) => r.url },
  { head: "INSTANCE", cell: (r) => r.instance ?? "-" },
  { head: "STATE", cell: (r) => (r.up ? "up" : "DOWN") },
  { head: "PARTS", cell: (r) => int(r.partitions), right: true },
  { head: "SCORED/S 10s", cell: (r) => rate(r.scored_per_s_10s), right: true },
  { head: "LAG", cell: (r) => int(r.lag), right: true },
  { head: "E2E P99 ms", cell: (r) => ms(r.e2e_p99_ms), right: true },
  { head: "DLQ", cell: (r) => int(r.dlq), right: true },
  { head: "ERRORS", cell: (r) => int(r.errors), right: true },
];

export function renderTable(s: FleetSnapshot): string {
  const t = s.total;
  const rows = s.agents.map((r) => COLUMNS.map((c) => c.cell(r)));
  const total = [
    `TOTAL (${t.up} of ${t.agents} up)`,
    "",
    "",
    "",
    rate(t.scored_per_s_10s),
    int(t.lag),
    t.e2e_p99_ms_max === null ? "-" : `max ${ms(t.e2e_p99_ms_max)}`,
    int(t.dlq),
    int(t.errors),
  ];
  const all = [COLUMNS.map((c) => c.head), ...rows, total];
  const widths = COLUMNS.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const line = (row: string[]) =>
    row.map((cell, i) => COLUMNS[i].right ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))
      .join("  ").trimEnd();
  const out = [line(all[0]), ...rows.map(line), line(total)];
  for (const r of s.agents) if (!r.up) out.push(`down: ${r.url}: ${r.error}`);
  if (s.kafka) {
    const k = s.kafka;
    out.push(
      "error" in k
        ? `kafka: group ${k.group} on ${k.topic}: lag unknown (${k.error})`
        : `kafka: group ${k.group} on ${k.topic}: lag ${k.total} over ${k.partitions.length} partitions${
          uncommitted(k)
        }`,
    );
  }
  return out.join("\n");
}

function uncommitted(k: GroupLag): string {
  const n = k.partitions.filter((p) => p.committed === null).length;
  return n ? ` (${n} without a committed offset)` : "";
}

function int(v: number | null): string {
  return v === null ? "-" : String(Math.round(v));
}

function rate(v: number | null): string {
  return v === null ? "-" : v.toFixed(1);
}

function ms(v: number | null): string {
  return v === null ? "-" : v.toFixed(1);
}
