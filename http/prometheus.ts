/** Builds a Prometheus text-format body; one instance per scrape. */
export class PrometheusText {
  #lines: string[] = [];
  #declared = new Set<string>();

  /** Adds one sample; HELP and TYPE are written the first time a name is seen. */
  sample(
    name: string,
    type: "counter" | "gauge" | "summary",
    help: string,
    value: number,
    labels?: Record<string, string | number>,
  ): this {
    if (!this.#declared.has(name)) {
      this.#declared.add(name);
      this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    }
    const labelText = labels && Object.keys(labels).length
      ? `{${Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`).join(",")}}`
      : "";
    this.#lines.push(`${name}${labelText} ${formatValue(value)}`);
    return this;
  }

  /** A summary from precomputed quantiles (seconds), plus its _count. */
  summary(name: string, help: string, quantiles: Record<string, number>, count: number): this {
    for (const [q, v] of Object.entries(quantiles)) {
      this.sample(name, "summary", help, v, { quantile: q });
    }
    this.#lines.push(`${name}_count ${count}`);
    return this;
  }

  toString(): string {
    return this.#lines.join("\n") + "\n";
  }
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
