import assert from "node:assert/strict";
import { bootTimeSeconds, parseProcStat, readProcStat } from "./proc_stat.ts";

Deno.test("a /proc/<pid>/stat line gives CPU seconds and the start after boot", () => {
  // A command name with a space and a parenthesis: fields are counted after the last ')'.
  const line = "4242 (deno (x) y) S 1 4242 4242 0 -1 4194560 9 0 0 0 250 75 0 0 20 0 9 0 " +
    "123456 1000 200 18446744073709551615";
  assert.deepEqual(parseProcStat(line), { cpuSeconds: 3.25, startAfterBootSeconds: 1234.56 });
});

Deno.test(
  "this process started after boot and before now",
  { ignore: Deno.build.os !== "linux" },
  () => {
    const started = bootTimeSeconds() + readProcStat("self").startAfterBootSeconds;
    const now = Date.now() / 1000;
    assert.ok(started <= now && started > now - 600, `started ${now - started}s ago`);
  },
);
