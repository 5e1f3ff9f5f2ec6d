import assert from "node:assert/strict";
import { ROOT } from "./compile.ts";
import { appModules } from "./deno_run_release.ts";
import { packRelease, releaseName, type Target } from "./release.ts";

/**
 * A --deno-run release is what the VM test installs when no compiled executable exists: its
 * launcher must run main.ts from the unpacked tree alone, with no network, no cache and no
 * writable home, as the hardened unit gives it.
 */

const TARGET = Deno.build.target as Target;

Deno.test("a --deno-run release runs fraudstream from its own tree, offline", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-deno-run-" });
  try {
    const modules = await appModules(ROOT);
    assert.ok(modules.includes("main.ts") && modules.includes("agent/agent_command.ts"));
    assert.ok(!modules.some((m) => m.endsWith("_test.ts") || m.startsWith("tests/")));
    const tarball = await packRelease({
      version: "0.0.1-deno-run",
      target: TARGET,
      executable: Deno.execPath(),
      root: ROOT,
      outDir: dir,
      denoRunModules: modules,
    });
    const unpacked = `${dir}/unpacked`;
    await Deno.mkdir(unpacked);
    const tar = await new Deno.Command("tar", { args: ["-xzf", tarball, "-C", unpacked] }).output();
    assert.ok(tar.success);
    const top = `${unpacked}/${releaseName("0.0.1-deno-run", TARGET)}`;
    const ort = `${top}/app/node_modules/.deno/onnxruntime-node@1.30.0/node_modules/` +
      "onnxruntime-node/bin/napi-v6";
    assert.deepEqual([...Deno.readDirSync(ort)].map((e) => e.name), ["linux"]);
    assert.equal([...Deno.readDirSync(`${ort}/linux`)].length, 1, "one CPU's build only");
    assert.equal((await Deno.stat(`${top}/deno`)).mode! & 0o777, 0o755);

    // An empty temp dir for deno's cache and no HOME, as under DynamicUser with PrivateTmp.
    const tmp = await Deno.makeTempDir({ dir, prefix: "tmp-" });
    // `agent --help` loads the agent's modules, kafkajs and onnxruntime-node from app/.
    const out = await new Deno.Command(`${top}/fraudstream`, {
      args: ["agent", "--help"],
      clearEnv: true,
      env: { TMPDIR: tmp, PATH: "/usr/bin:/bin" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /^fraudstream agent: /);
    assert.match(stdout, /--brokers HOST:PORT/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
