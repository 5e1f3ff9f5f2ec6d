import { readProcStat } from "../metrics/proc_stat.ts";

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. On a machine
 * shared with other work, a process's wall-clock rate moves with everyone else's load, while the
 * CPU it spends per message moves far less: the bench reports both.
 */
export function processCpuSeconds(pid: number): number {
  return readProcStat(pid).cpuSeconds;
}
