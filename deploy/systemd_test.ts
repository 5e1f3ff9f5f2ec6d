import assert from "node:assert/strict";
import { ROOT } from "./compile.ts";

/**
 * The units as systemd itself reads them: `systemd-analyze verify` in a stand-in root that has
 * the ExecStart path, the exposure score of `systemd-analyze security --offline`, and the
 * syscalls the runtime really makes checked against the units' filter.
 */

const UNITS = ["fraudstream-agent@.service", "fraudstream-producer.service"];

async function run(cmd: string, args: string[], env?: Record<string, string>) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("systemd-analyze verify accepts both units without a warning", async () => {
  const root = await Deno.makeTempDir({ prefix: "fraudstream-units-" });
  try {
    // verify resolves the ExecStart binary and the targets the units hang off inside --root.
    await Deno.mkdir(`${root}/usr/lib/systemd`, { recursive: true });
    assert.equal(
      (await run("cp", ["-a", "/usr/lib/systemd/system", `${root}/usr/lib/systemd/`])).code,
      0,
    );
    await Deno.mkdir(`${root}/etc/systemd/system`, { recursive: true });
    for (const unit of UNITS) {
      await Deno.copyFile(`${ROOT}deploy/systemd/${unit}`, `${root}/etc/systemd/system/${unit}`);
    }
    await Deno.mkdir(`${root}/opt/fraudstream/0.0.0`, { recursive: true });
    await Deno.writeTextFile(`${root}/opt/fraudstream/0.0.0/fraudstream`, "#!/bin/sh\n", {
      mode: 0o755,
    });
    await Deno.symlink("0.0.0", `${root}/opt/fraudstream/current`);

    const out = await run("systemd-analyze", [
      "verify",
      `--root=${root}`,
      "fraudstream-agent@1.service",
      "fraudstream-agent@2.service",
      "fraudstream-producer.service",
    ]);
    assert.equal(out.code, 0, out.stderr);
    // verify only warns (exit 0) about unknown keys or bad values: any output is a finding.
    assert.equal(out.stderr + out.stdout, "");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("systemd-analyze security rates both units OK (exposure below 2)", async () => {
  for (const unit of UNITS) {
    const out = await run("systemd-analyze", [
      "security",
      "--offline=true",
      `${ROOT}deploy/systemd/${unit}`,
    ]);
    assert.equal(out.code, 0, out.stderr);
    const m = /Overall exposure level for (\S+): (\d+\.\d) (\w+)/.exec(out.stdout);
    assert.ok(m, out.stdout);
    console.log(`${m[1]}: exposure ${m[2]} ${m[3]}`);
    assert.ok(Number(m[2]) < 2, `${unit}: exposure ${m[2]}`);
  }
});

/** Expands a systemd syscall group (and the groups it names) into syscall names. */
async function syscallGroup(group: string): Promise<Set<string>> {
  const out = await run("systemd-analyze", ["syscall-filter", group]);
  const names = new Set<string>();
  for (const line of out.stdout.split("\n").slice(1)) {
    const item = line.trim();
    if (item === "" || item.startsWith("#")) continue;
    for (const n of item.startsWith("@") ? await syscallGroup(item) : [item]) names.add(n);
  }
  return names;
}

/** The SystemCallFilter= lines of a unit applied in order: the set of syscalls it allows. */
async function allowedByUnit(unitText: string): Promise<Set<string>> {
  const allowed = new Set<string>();
  for (const m of unitText.matchAll(/^SystemCallFilter=(~?)(.*)$/gm)) {
    for (const item of m[2].trim().split(/\s+/)) {
      const names = item.startsWith("@") ? await syscallGroup(item) : [item];
      for (const n of names) m[1] ? allowed.delete(n) : allowed.add(n);
    }
  }
  return allowed;
}

const WORKLOAD = `
import * as ort from "onnxruntime-node";
const model = await Deno.readFile(Deno.args[0]);
const session = await ort.InferenceSession.create(model);
const input = session.inputNames[0];
const rows = 64;
const width = Number(Deno.args[1]);
const out = await session.run({ [input]: new ort.Tensor("float32", new Float32Array(rows * width), [rows, width]) });
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => Response.json(Object.keys(out)));
console.log(await (await fetch("http://127.0.0.1:" + server.addr.port + "/stats")).text());
await server.shutdown();
`;

/**
 * A stand-in tree for the workload that an unprivileged user can read wherever this checkout and
 * this deno live: under npx, Deno.execPath() is in root's home (mode 700), and so may the
 * checkout be. Copies of the deno executable, the model, the config, the lockfile and
 * node_modules keep the workload the same program the checkout would run.
 */
async function stageWorkload(work: string): Promise<{ deno: string; app: string }> {
  const deno = `${work}/deno`;
  await Deno.copyFile(Deno.execPath(), deno);
  await Deno.chmod(deno, 0o755);
  const app = `${work}/app`;
  await Deno.mkdir(app);
  for (const file of ["deno.json", "deno.lock", "model/fraud-model.onnx"]) {
    await Deno.copyFile(`${ROOT}${file}`, `${app}/${file.split("/").pop()}`);
  }
  const copy = await run("cp", ["-a", `${ROOT}node_modules`, `${app}/node_modules`]);
  assert.equal(copy.code, 0, copy.stderr);
  await Deno.writeTextFile(`${app}/workload.ts`, WORKLOAD);
  return { deno, app };
}

Deno.test("the runtime's syscalls (V8, ONNX Runtime scoring, HTTP) pass the units' SystemCallFilter", async () => {
  // Runs unprivileged like the service's dynamic user, on the shipped model, under strace.
  const work = await Deno.makeTempDir({ prefix: "fraudstream-syscalls-" });
  try {
    // The unprivileged run writes its trace, HOME and DENO_DIR here.
    await Deno.chmod(work, 0o777);
    const { deno, app } = await stageWorkload(work);
    const card = JSON.parse(await Deno.readTextFile(`${ROOT}model/model-card.json`));
    const width = Number(card.onnx.input.shape[1]);
    const out = await new Deno.Command("setpriv", {
      args: [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "strace",
        "-f",
        "-qq",
        "-o",
        `${work}/trace`,
        deno,
        "run",
        "-A",
        "--cached-only",
        `${app}/workload.ts`,
        `${app}/fraud-model.onnx`,
        String(width),
      ],
      cwd: app,
      env: { HOME: work, DENO_DIR: `${work}/deno-dir` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const used = new Set<string>();
    for (const line of (await Deno.readTextFile(`${work}/trace`)).split("\n")) {
      const m = /^\d+\s+([a-z0-9_]+)\(/.exec(line);
      if (m) used.add(m[1]);
    }
    assert.ok(used.has("mmap") && used.has("futex"), "the trace covers the workload");
    for (const unit of UNITS) {
      const allowed = await allowedByUnit(
        await Deno.readTextFile(`${ROOT}deploy/systemd/${unit}`),
      );
      const denied = [...used].filter((s) => !allowed.has(s)).sort();
      assert.deepEqual(denied, [], `${unit} would deny ${denied.join(", ")}`);
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
