import assert from "node:assert/strict";
import { retryWithin } from "./retry_within.ts";

const transient = (err: unknown) => (err as Error).message === "refused";

Deno.test("retryWithin: transient errors are retried until the attempt succeeds", async () => {
  let tries = 0;
  const got = await retryWithin(5_000, transient, () => {
    tries++;
    return tries < 3 ? Promise.reject(new Error("refused")) : Promise.resolve("up");
  });
  assert.equal(got, "up");
  assert.equal(tries, 3);
});

Deno.test("retryWithin: other errors fail at once", async () => {
  let tries = 0;
  await assert.rejects(
    retryWithin(5_000, transient, () => {
      tries++;
      return Promise.reject(new Error("not authorised"));
    }),
    /not authorised/,
  );
  assert.equal(tries, 1);
});

Deno.test("retryWithin: the last transient error is reported once the budget is spent", async () => {
  let tries = 0;
  await assert.rejects(
    retryWithin(300, transient, () => {
      tries++;
      return Promise.reject(new Error("refused"));
    }),
    /refused/,
  );
  assert.ok(tries >= 2, `${tries} tries`);
});
