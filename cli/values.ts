import { UsageError } from "./usage_error.ts";

/** Parsers for flag values; each throws a UsageError naming the flag. */

export function positiveInt(flag: string, raw: string): number {
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`--${flag} ${raw}: expected a positive integer`);
  }
  return n;
}

export function nonNegativeNumber(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`--${flag} ${raw}: expected a non-negative number`);
  }
  return n;
}

export function positiveNumber(flag: string, raw: string): number {
  const n = nonNegativeNumber(flag, raw);
  if (n === 0) throw new UsageError(`--${flag} ${raw}: expected a number above zero`);
  return n;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** "7d", "30s", "250ms", "1.5h" -> milliseconds. A bare number means seconds. */
export function durationMs(flag: string, raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(raw);
  if (!m) throw new UsageError(`--${flag} ${raw}: expected a duration such as 30s, 5m, 7d`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? "s"]);
}

/** "127.0.0.1:8080" or ":0" or "8080" -> host and port (port 0 picks a free one). */
export function hostPort(flag: string, raw: string): { hostname: string; port: number } {
  const m = /^\s*(?:(\[[^\]]+\]|[^:\s]*):)?(\d{1,5})\s*$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--${flag} ${raw}: expected HOST:PORT`);
  const hostname = (m[1] ?? "").replace(/^\[|\]$/g, "") || "127.0.0.1";
  return { hostname, port };
}
