import assert from "node:assert/strict";
import { ORT_LIBRARY, ortLibrary, type Target } from "../deploy/targets.ts";

/**
 * The preload as a compiled executable runs it, in a fresh process (no ONNX Runtime loaded yet,
 * no LD_LIBRARY_PATH) for a stand-in executable path; `deno task test:binary` covers the real
 * executable.
 */
const ROOT = new URL("..", import.meta.url).pathname;
const MODULE = new URL("./onnxruntime_preload.ts", import.meta.url).href;

async function preloadFor(executable: string) {
  const script = `import { preloadOnnxRuntime } from "${MODULE}";
preloadOnnxRuntime(${JSON.stringify(executable)});
console.log("loaded");`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("the library beside the executable is loaded; without it, one line names it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-preload-" });
  try {
    const missing = await preloadFor(`${dir}/fraudstream`);
    assert.notEqual(missing.code, 0);
    assert.match(
      missing.stderr,
      new RegExp(`UserFacingError: ${dir}/${ORT_LIBRARY} is missing: the ONNX Runtime library`),
    );

    const host = `${Deno.build.arch}-unknown-linux-gnu` as Target;
    await Deno.copyFile(`${ROOT}${ortLibrary(host)}`, `${dir}/${ORT_LIBRARY}`);
    const beside = await preloadFor(`${dir}/fraudstream`);
    assert.equal(beside.code, 0, beside.stderr);
    assert.equal(beside.stdout, "loaded\n");

    await Deno.writeTextFile(`${dir}/${ORT_LIBRARY}`, "not a shared library");
    const broken = await preloadFor(`${dir}/fraudstream`);
    assert.match(broken.stderr, new RegExp(`UserFacingError: cannot load ${dir}/${ORT_LIBRARY}: `));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
