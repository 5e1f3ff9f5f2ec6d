import assert from "node:assert/strict";
import { selfCommand } from "./self_command.ts";
import { V8_FLAGS } from "../cli/v8_flags.ts";

Deno.test("from a checkout deno runs main.ts; a compiled binary runs itself, whatever its name", () => {
  const fromSource = selfCommand("/usr/local/bin/deno", false);
  assert.deepEqual(fromSource.slice(0, 4), ["/usr/local/bin/deno", "run", "-A", V8_FLAGS]);
  assert.match(fromSource[4], /\/main\.ts$/);
  assert.deepEqual(selfCommand("/opt/fraudstream/fraudstream", true), [
    "/opt/fraudstream/fraudstream",
  ]);
  assert.deepEqual(selfCommand("/opt/bin/deno", true), ["/opt/bin/deno"]);
  assert.equal(selfCommand()[0], Deno.execPath());
  assert.equal(selfCommand().length, 5, "this test runs from source");
});
