/**
 * What Linux's /proc/<pid>/stat says of a process's CPU time and start. Its times are in clock
 * ticks of USER_HZ, which the kernel fixes at 100 for every architecture it runs on today
 * (sysconf(_SC_CLK_TCK)); reading it needs no subprocess.
 */
const USER_HZ = 100;

export interface ProcStat {
  /** User plus system CPU time used so far, seconds. */
  cpuSeconds: number;
  /** Start of the process after boot, seconds. */
  startAfterBootSeconds: number;
}

export function parseProcStat(stat: string): ProcStat {
  // Fields after the command name, which is in parentheses and may itself hold spaces: "state"
  // is field 3 of the line and index 0 here; utime, stime and starttime are fields 14, 15, 22.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / USER_HZ,
    startAfterBootSeconds: Number(fields[19]) / USER_HZ,
  };
}

export function readProcStat(pid: number | "self"): ProcStat {
  return parseProcStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
}

/** Boot time (epoch seconds), the `btime` line of /proc/stat. */
export function bootTimeSeconds(): number {
  const line = Deno.readTextFileSync("/proc/stat").split("\n").find((l) => l.startsWith("btime "));
  return Number(line?.slice(6));
}
