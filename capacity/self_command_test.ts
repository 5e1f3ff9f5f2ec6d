import assert from "node:assert/strict";
import { selfCommand } from "./self_command.ts";

Deno.test("from a checkout deno runs main.ts; a compiled binary runs itself", () => {
  const fromSource = selfCommand("/usr/local/bin/deno");
  assert.deepEqual(fromSource.slice(0, 3), ["/usr/local/bin/deno", "run", "-A"]);
  assert.match(fromSource[3], /\/main\.ts$/);
  assert.deepEqual(selfCommand("/opt/fraudstream/fraudstream"), ["/opt/fraudstream/fraudstream"]);
});
