import assert from "node:assert/strict";
import { missingTools, TOOLS } from "./prerequisites.ts";

Deno.test("missingTools: only executable files on PATH count as installed", async () => {
  const bin = await Deno.makeTempDir({ prefix: "fraudstream-path-" });
  const empty = await Deno.makeTempDir({ prefix: "fraudstream-path-" });
  try {
    await Deno.writeTextFile(`${bin}/java`, "#!/bin/sh\n", { mode: 0o755 });
    await Deno.writeTextFile(`${bin}/mvn`, "not executable\n", { mode: 0o644 });
    await Deno.mkdir(`${bin}/strace`);
    const all = Object.keys(TOOLS);
    assert.deepEqual(await missingTools(empty), all);
    assert.deepEqual(await missingTools(`${empty}:${bin}`), all.filter((t) => t !== "java"));
  } finally {
    await Deno.remove(bin, { recursive: true });
    await Deno.remove(empty, { recursive: true });
  }
});
