import assert from "node:assert/strict";
import { FEATURE_NAMES, featureListJson } from "./feature_list.ts";

Deno.test("feature_list.json is the one generated from feature_list.ts", async () => {
  const onDisk = await Deno.readTextFile(new URL("./feature_list.json", import.meta.url));
  assert.equal(onDisk, featureListJson(), "run `deno task features:list` and commit the result");
});

Deno.test("feature names are unique snake_case", () => {
  assert.equal(new Set(FEATURE_NAMES).size, FEATURE_NAMES.length);
  for (const n of FEATURE_NAMES) assert.match(n, /^[a-z][a-z0-9_]*$/);
});
