import assert from "node:assert/strict";
import { ROOT } from "./compile.ts";
import { packRelease, releaseName } from "./release.ts";
import { ORT_NATIVE_DIR, type Target } from "./targets.ts";

/**
 * Packs releases from a stand-in executable, so that the layout, modes and the right ONNX
 * Runtime build are checked in seconds; the real compiled executable goes through the same
 * packing in tests/binary/ (`deno task test:binary`).
 */

/** A file whose ELF header claims the given machine: enough for the target check. */
async function standInExecutable(dir: string, machine: number): Promise<string> {
  const bytes = new Uint8Array(64);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  bytes[16] = 2; // ET_EXEC
  bytes[18] = machine & 0xff;
  bytes[19] = machine >> 8;
  const path = `${dir}/fraudstream-${machine}`;
  await Deno.writeFile(path, bytes, { mode: 0o755 });
  return path;
}

async function run(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** A checkout with the real units, scripts and node_modules but a model of our own. */
async function checkoutWithModel(model: boolean): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "fraudstream-release-root-" });
  await Deno.symlink(`${ROOT}node_modules`, `${root}/node_modules`);
  await Deno.symlink(`${ROOT}deploy`, `${root}/deploy`);
  await Deno.mkdir(`${root}/model`);
  if (model) {
    await Deno.writeTextFile(`${root}/model/fraud-model.onnx`, "stand-in model");
    await Deno.writeTextFile(`${root}/model/model-card.md`, "# stand-in card\n");
  }
  return root;
}

const ORT = `${ROOT}${ORT_NATIVE_DIR}/linux`;

for (
  const [target, machine, ortArch] of [
    ["x86_64-unknown-linux-gnu", 62, "x64"],
    ["aarch64-unknown-linux-gnu", 183, "arm64"],
  ] as [Target, number, string][]
) {
  Deno.test(`release for ${target}: executable, its ONNX Runtime, model, units, env examples`, async () => {
    const root = await checkoutWithModel(true);
    const outDir = await Deno.makeTempDir({ prefix: "fraudstream-release-out-" });
    try {
      const executable = await standInExecutable(root, machine);
      const tarball = await packRelease({ version: "9.8.7", target, executable, root, outDir });
      const name = releaseName("9.8.7", target);
      assert.equal(tarball, `${outDir}/${name}.tar.gz`);
      assert.deepEqual(
        [...Deno.readDirSync(outDir)].map((e) => e.name),
        [`${name}.tar.gz`],
        "no staging leftovers beside the tarball",
      );

      const listing = await run("tar", ["-tzvf", tarball]);
      assert.equal(listing.code, 0, listing.stderr);
      const entries = new Map(
        listing.stdout.trim().split("\n").map((line) => {
          const f = line.split(/\s+/);
          return [f[5], { mode: f[0], owner: f[1] }];
        }),
      );
      assert.deepEqual([...entries.keys()].sort(), [
        `${name}/`,
        `${name}/README.md`,
        `${name}/SHA256SUMS`,
        `${name}/agent.env.example`,
        `${name}/fraudstream`,
        `${name}/install.sh`,
        `${name}/libonnxruntime.so.1`,
        `${name}/model/`,
        `${name}/model/fraud-model.onnx`,
        `${name}/model/model-card.md`,
        `${name}/producer.env.example`,
        `${name}/systemd/`,
        `${name}/systemd/fraudstream-agent@.service`,
        `${name}/systemd/fraudstream-producer.service`,
      ]);
      assert.equal(entries.get(`${name}/fraudstream`)!.mode, "-rwxr-xr-x");
      assert.equal(entries.get(`${name}/install.sh`)!.mode, "-rwxr-xr-x");
      assert.equal(entries.get(`${name}/libonnxruntime.so.1`)!.mode, "-rw-r--r--");
      assert.equal(entries.get(`${name}/model/`)!.mode, "drwxr-xr-x");
      assert.equal(entries.get(`${name}/fraudstream`)!.owner, "0/0");

      const unpacked = await Deno.makeTempDir({ prefix: "fraudstream-release-unpacked-" });
      assert.equal((await run("tar", ["-xzf", tarball, "-C", unpacked])).code, 0);
      const lib = `${unpacked}/${name}/libonnxruntime.so.1`;
      assert.deepEqual(
        await Deno.readFile(lib),
        await Deno.readFile(`${ORT}/${ortArch}/libonnxruntime.so.1`),
      );
      const elf = await run("readelf", ["-h", lib]);
      assert.match(elf.stdout, machine === 62 ? /X86-64/ : /AArch64/);
      assert.equal(
        await Deno.readTextFile(`${unpacked}/${name}/systemd/fraudstream-agent@.service`),
        await Deno.readTextFile(`${ROOT}deploy/systemd/fraudstream-agent@.service`),
      );
      const sums = await run("sh", ["-c", `cd '${unpacked}/${name}' && sha256sum -c SHA256SUMS`]);
      assert.equal(sums.code, 0, sums.stdout + sums.stderr);
      assert.equal(sums.stdout.trim().split("\n").length, 10, "every other file is listed");
      await Deno.remove(unpacked, { recursive: true });

      const again = await Deno.makeTempDir({ prefix: "fraudstream-release-again-" });
      const second = await packRelease({
        version: "9.8.7",
        target,
        executable,
        root,
        outDir: again,
      });
      assert.deepEqual(await Deno.readFile(second), await Deno.readFile(tarball), "reproducible");
      await Deno.remove(again, { recursive: true });
    } finally {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(outDir, { recursive: true });
    }
  });
}

Deno.test("release names every missing input in one line and writes nothing", async () => {
  const root = await checkoutWithModel(false);
  const outDir = await Deno.makeTempDir({ prefix: "fraudstream-release-out-" });
  try {
    await assert.rejects(
      packRelease({
        version: "1.0.0",
        target: "x86_64-unknown-linux-gnu",
        executable: `${root}/no-such-executable`,
        root,
        outDir,
      }),
      {
        message: `missing ${root}/no-such-executable, model/fraud-model.onnx, model/model-card.md`,
      },
    );
    assert.deepEqual([...Deno.readDirSync(outDir)], []);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("release refuses an executable built for the other target, or no ELF at all", async () => {
  const root = await checkoutWithModel(true);
  const outDir = await Deno.makeTempDir({ prefix: "fraudstream-release-out-" });
  try {
    const arm = await standInExecutable(root, 183);
    await assert.rejects(
      packRelease({
        version: "1",
        target: "x86_64-unknown-linux-gnu",
        executable: arm,
        root,
        outDir,
      }),
      { message: `${arm} is built for aarch64-unknown-linux-gnu, not x86_64-unknown-linux-gnu` },
    );
    const script = `${root}/script.sh`;
    await Deno.writeTextFile(script, "#!/bin/sh\necho hello there, not an ELF\n");
    await assert.rejects(
      packRelease({
        version: "1",
        target: "x86_64-unknown-linux-gnu",
        executable: script,
        root,
        outDir,
      }),
      { message: `${script} is not an ELF executable` },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("deno task release: --executable packs it; a bad target is one line, exit 2", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "fraudstream-release-cli-" });
  try {
    const script = `${ROOT}deploy/release.ts`;
    const packed = await run(Deno.execPath(), [
      "run",
      "-A",
      script,
      "--executable",
      "/bin/true",
      "--out-dir",
      outDir,
    ]);
    const version = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).version;
    assert.equal(packed.code, 0, packed.stderr);
    assert.equal(
      packed.stdout.trim(),
      `packed ${outDir}/fraudstream-${version}-${Deno.build.arch}-unknown-linux-gnu.tar.gz`,
    );

    const bad = await run(Deno.execPath(), ["run", "-A", script, "--target", "sparc"]);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^release: --target sparc: expected one of x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu\n$/,
    );
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});
