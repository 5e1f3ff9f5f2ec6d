/**
 * Runs `attempt` until it succeeds, an error is not `transient`, or `budgetMs` has passed since
 * the first try; waits between tries grow from 200 ms to 2 s. Client libraries give up on a
 * refused connection after their own short budget, shorter than a broker restart or a KRaft leader
 * failover: this is the longer budget the project's start-up and send paths ride those out with.
 */
export async function retryWithin<T>(
  budgetMs: number,
  transient: (err: unknown) => boolean,
  attempt: () => Promise<T>,
): Promise<T> {
  const deadline = performance.now() + budgetMs;
  let waitMs = 200;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      const left = deadline - performance.now();
      if (!transient(err) || left <= 0) throw err;
      await new Promise((r) => setTimeout(r, Math.min(waitMs, left)));
      waitMs = Math.min(waitMs * 2, 2_000);
    }
  }
}
