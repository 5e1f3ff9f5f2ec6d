/**
 * A process's memory from /proc/PID/status, bytes: VmRSS (resident now) or VmHWM (the peak
 * resident set). 0 once the process has exited (no status file, or a zombie's without the line).
 */
export function processMemoryBytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  let status: string;
  try {
    status = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  }
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}
