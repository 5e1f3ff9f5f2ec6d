import process from "node:process";

/**
 * kafkajs 2.2.4 schedules its request-queue check with `throttledUntil - Date.now()`, a negative
 * delay when it is not throttled, and Node's timers print a TimeoutNegativeWarning for it on
 * every client. The delay is clamped to 1 ms, so the warning is noise: drop that one warning
 * type and pass every other warning through.
 */
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const type = typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: string })?.type;
  const name = warning instanceof Error ? warning.name : type;
  if (name === "TimeoutNegativeWarning") return;
  (emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
