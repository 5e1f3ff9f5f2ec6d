/**
 * The V8 flags every fraudstream process runs with: `deno compile` bakes them into the executable
 * (deploy/compile.ts), and a run from a checkout passes them to `deno run` (the `fraudstream` task
 * in deno.json, capacity/self_command.ts, the tests' agents).
 *
 * The old-space limit: without one V8 sizes the heap from the machine's memory (4 GiB here) and,
 * in a process held at a small CPU quota, lets it grow to about four times what is live before it
 * collects (GC looks slow in wall time). An agent at 2% of a core under a backlog reached 1.15 GiB
 * of RSS that way, over the systemd unit's MemoryMax=1G, with under 150 MiB of it live; capped at
 * 384 MiB it peaked at 548 MiB (docs/decisions.md has the runs). The agent's large state lives outside this limit, in typed arrays
 * (feature state, pending scores); what lives inside is fetched records, the duplicate window and
 * customer ids too sparse for the direct table (features/id_slots.ts).
 */
export const OLD_SPACE_MIB = 384;

/**
 * The old space's first limit. V8 starts it at a few MiB and raises it after each full collection,
 * so while an agent builds its state (labels, feature tables, the duplicate window) it ran 12-15
 * mark-compacts in its first seconds on a 289,040-message topic; starting at 96 MiB it runs 5-6,
 * and its peak RSS did not rise (docs/measurements.md has the runs).
 */
export const INITIAL_OLD_SPACE_MIB = 96;

export const V8_FLAGS =
  `--v8-flags=--max-old-space-size=${OLD_SPACE_MIB},--initial-old-space-size=${INITIAL_OLD_SPACE_MIB}`;
