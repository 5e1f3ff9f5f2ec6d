import { UsageError } from "../cli/usage_error.ts";

/** "2018-04-01" -> epoch milliseconds of that midnight UTC (the files' clock has no zone). */
export function utcDateFlag(flag: string, raw: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw.trim());
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || new Date(ms).toISOString().slice(0, 10) !== raw.trim()) {
    throw new UsageError(`--${flag} ${raw}: expected a date as YYYY-MM-DD`);
  }
  return ms;
}
