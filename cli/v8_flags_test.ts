import assert from "node:assert/strict";
import { OLD_SPACE_MIB, V8_FLAGS } from "./v8_flags.ts";

Deno.test("`deno task fraudstream` runs with the same V8 flags as the executable", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(config.tasks.fraudstream, `deno run -A ${V8_FLAGS} main.ts`);
});

Deno.test("a process started with the flags has the old-space limit", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      V8_FLAGS,
      'import v8 from "node:v8"; console.log(v8.getHeapStatistics().heap_size_limit)',
    ],
    stdout: "piped",
  }).output();
  const limitMib = Number(new TextDecoder().decode(out.stdout)) / 2 ** 20;
  // The limit covers old space plus the young generation's few tens of MiB.
  assert.ok(limitMib >= OLD_SPACE_MIB && limitMib < OLD_SPACE_MIB + 128, `${limitMib} MiB`);
});
