import assert from "node:assert/strict";
import { zipMember } from "./zip_member.ts";

/** A zip written by Python's zipfile (what wheels are), one stored and one deflated member. */
async function pythonZip(dir: string): Promise<Uint8Array<ArrayBuffer>> {
  const script = [
    "import sys, zipfile",
    "with zipfile.ZipFile(sys.argv[1], 'w') as z:",
    "    z.writestr(zipfile.ZipInfo('pkg/stored.txt'), b'stored bytes', zipfile.ZIP_STORED)",
    "    z.writestr('pkg-1.0.data/scripts/tool', b'x' * 100000 + b'end', zipfile.ZIP_DEFLATED)",
  ].join("\n");
  const out = await new Deno.Command("python3", { args: ["-c", script, `${dir}/a.zip`] })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return await Deno.readFile(`${dir}/a.zip`);
}

Deno.test("zipMember reads stored and deflated members and names a missing one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-zip-" });
  try {
    const zip = await pythonZip(dir);
    assert.equal(new TextDecoder().decode(await zipMember(zip, "pkg/stored.txt")), "stored bytes");
    const tool = await zipMember(zip, "pkg-1.0.data/scripts/tool");
    assert.equal(tool.length, 100003);
    assert.equal(new TextDecoder().decode(tool.subarray(-3)), "end");
    await assert.rejects(zipMember(zip, "pkg/absent"), {
      message: "the archive has no pkg/absent",
    });
    await assert.rejects(zipMember(new Uint8Array(100), "x"), /not a zip archive/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
