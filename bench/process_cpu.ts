/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. On a machine
 * shared with other work, a process's wall-clock rate moves with everyone else's load, while the
 * CPU it spends per message moves far less: the bench reports both.
 */
const CLOCK_TICKS = Number(
  new TextDecoder().decode(
    (await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output()).stdout,
  ).trim(),
) || 100;

export function processCpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the command name, which is in parentheses and may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after "pid (comm) state".
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
