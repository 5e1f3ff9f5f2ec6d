/**
 * Runs `fn` with a path that certainly does not exist: a name inside a fresh, empty temp dir,
 * removed afterwards. A fixed path such as /nonexistent can exist (it is the home of user
 * `nobody`, which some tools create), and then a "missing file" test tests something else.
 */
export async function withAbsentPath<T>(fn: (absent: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-absent-" });
  try {
    return await fn(`${dir}/absent`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
