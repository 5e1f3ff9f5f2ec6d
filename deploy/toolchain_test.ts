import assert from "node:assert/strict";
import { ensureBinary, type PinnedBinary, sha256Hex } from "./toolchain.ts";

const GOOD = new TextEncoder().encode("the pinned runtime");

async function pinOf(bytes: Uint8Array): Promise<PinnedBinary> {
  return {
    sha256: await sha256Hex(bytes),
    official: { zip: "x.zip", member: "x" },
    pypi: { requirement: "x==1", platform: "any", member: "x", compiledProgram: false },
  };
}

Deno.test("a fetched binary is kept only with the pinned sha256, and fetched once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-toolchain-" });
  try {
    const pin = await pinOf(GOOD);
    const path = `${dir}/denort`;
    const tampered = new TextEncoder().encode("something else");
    const refusal = `denort has sha256 ${await sha256Hex(tampered)}, pinned ${pin.sha256}`;
    await assert.rejects(ensureBinary(path, pin, () => Promise.resolve(tampered)), {
      message: refusal,
    });
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written");

    let fetches = 0;
    const fetcher = () => {
      fetches++;
      return Promise.resolve(GOOD);
    };
    await ensureBinary(path, pin, fetcher);
    await ensureBinary(path, pin, fetcher);
    assert.equal(fetches, 1, "a verified copy is reused");
    assert.deepEqual(await Deno.readFile(path), GOOD);
    assert.equal((await Deno.stat(path)).mode! & 0o111, 0o111, "executable");

    await Deno.writeTextFile(path, "corrupted in the cache");
    await ensureBinary(path, pin, fetcher);
    assert.equal(fetches, 2, "a cached copy that no longer matches is fetched again");
    assert.deepEqual(await Deno.readFile(path), GOOD);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
