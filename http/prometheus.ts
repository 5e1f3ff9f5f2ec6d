import { LATENCY_BUCKETS_S, type LatencyBuckets } from "../metrics/latency_buckets.ts";

type Labels = Record<string, string | number>;

/**
 * Builds a body in the Prometheus text exposition format (version 0.0.4); one instance per
 * scrape. HELP and TYPE are written once per metric name, before its first sample.
 */
export class PrometheusText {
  #lines: string[] = [];
  #declared = new Set<string>();

  /** Adds one counter or gauge sample. */
  sample(
    name: string,
    type: "counter" | "gauge",
    help: string,
    value: number,
    labels?: Labels,
  ): this {
    this.#declare(name, type, help);
    this.#sample(name, labels, value);
    return this;
  }

  /** A histogram over LATENCY_BUCKETS_S: cumulative `_bucket` lines, `_sum` (seconds), `_count`. */
  latencyHistogram(name: string, help: string, buckets: LatencyBuckets, labels?: Labels): this {
    this.#declare(name, "histogram", help);
    const cumulative = buckets.cumulative();
    for (let i = 0; i < cumulative.length; i++) {
      const le = i < LATENCY_BUCKETS_S.length ? String(LATENCY_BUCKETS_S[i]) : "+Inf";
      this.#sample(`${name}_bucket`, { ...labels, le }, cumulative[i]);
    }
    this.#sample(`${name}_sum`, labels, buckets.sumSeconds);
    this.#sample(`${name}_count`, labels, buckets.count);
    return this;
  }

  toString(): string {
    return this.#lines.join("\n") + "\n";
  }

  #declare(name: string, type: string, help: string): void {
    if (this.#declared.has(name)) return;
    this.#declared.add(name);
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }

  #sample(name: string, labels: Labels | undefined, value: number): void {
    const labelText = labels && Object.keys(labels).length
      ? `{${Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`).join(",")}}`
      : "";
    this.#lines.push(`${name}${labelText} ${formatValue(value)}`);
  }
}

function escapeHelp(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
