import assert from "node:assert/strict";
import { ROOT } from "./compile.ts";
import { packRelease } from "./release.ts";
import type { Target } from "./targets.ts";

/**
 * install.sh against this machine with --local --root DIR standing in for a VM's /, and its ssh
 * path through stand-in ssh/scp commands that run on this machine (no sshd here).
 */

const SCRIPT = `${ROOT}deploy/install.sh`;
const TARGET = `${Deno.build.arch}-unknown-linux-gnu` as Target;
const HOSTNAME = (await new Deno.Command("hostname", { args: ["-s"] }).output()).stdout;
const SHORT_HOST = new TextDecoder().decode(HOSTNAME).trim();

async function install(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command("bash", {
    args: [SCRIPT, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Every file and symlink under dir, relative, with its content or link target and mode. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string) {
    for await (const e of Deno.readDir(`${dir}/${rel}`)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      const info = await Deno.lstat(`${dir}/${path}`);
      if (e.isSymlink) out[path] = `-> ${await Deno.readLink(`${dir}/${path}`)}`;
      else if (e.isDirectory) await walk(path);
      else {
        const bytes = await Deno.readFile(`${dir}/${path}`);
        const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        out[path] = `${(info.mode! & 0o777).toString(8)} ${info.mtime!.getTime()} ${
          Array.from(hash.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("")
        }`;
      }
    }
  }
  await walk("");
  return out;
}

let tarballPromise: Promise<{ tarball: string; dir: string }> | undefined;
function release() {
  tarballPromise ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "fraudstream-install-release-" });
    const tarball = await packRelease({
      version: "0.0.1-test",
      target: TARGET,
      executable: "/bin/true",
      root: ROOT,
      outDir: dir,
    });
    return { tarball, dir };
  })();
  return tarballPromise;
}

async function withRoot(fn: (root: string, tarball: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "fraudstream-vm-" });
  try {
    await fn(root, (await release()).tarball);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("install.sh lays out the release, units and one env file per agent, then changes nothing", async () => {
  await withRoot(async (root, tarball) => {
    const args = ["vm1", "3", "--local", "--root", root, "--tarball", tarball];
    const first = await install([
      ...args,
      "--brokers",
      "k1:9092,k2:9092",
      "--base-port",
      "9100",
      "--env",
      "FRAUDSTREAM_LOG_LEVEL=debug",
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, "");
    assert.match(
      first.stdout,
      /^vm1: fraudstream 0\.0\.1-test \(\S+\) at \/opt\/fraudstream\/0\.0\.1-test, agents 1\.\.3 on ports 9101,9102,9103$/m,
    );

    const opt = `${root}/opt/fraudstream`;
    assert.equal(await Deno.readLink(`${opt}/current`), "0.0.1-test");
    assert.deepEqual(
      await Deno.readFile(`${opt}/0.0.1-test/fraudstream`),
      await Deno.readFile("/bin/true"),
    );
    assert.equal((await Deno.stat(`${opt}/0.0.1-test/fraudstream`)).mode! & 0o777, 0o755);
    assert.ok((await Deno.stat(`${opt}/0.0.1-test/libonnxruntime.so.1`)).isFile);
    assert.ok((await Deno.stat(`${opt}/0.0.1-test/model/fraud-model.onnx`)).isFile);
    assert.deepEqual(
      [...Deno.readDirSync(opt)].map((e) => e.name).sort(),
      ["0.0.1-test", "current"],
      "no staging leftovers",
    );
    for (const unit of ["fraudstream-agent@.service", "fraudstream-producer.service"]) {
      assert.equal(
        await Deno.readTextFile(`${root}/etc/systemd/system/${unit}`),
        await Deno.readTextFile(`${ROOT}deploy/systemd/${unit}`),
      );
    }
    for (const i of [1, 2, 3]) {
      const env = `${root}/etc/fraudstream/agent-${i}.env`;
      assert.equal((await Deno.stat(env)).mode! & 0o777, 0o600, "env files are root-only");
      const vars = (await Deno.readTextFile(env)).split("\n").filter((l) =>
        l && !l.startsWith("#")
      );
      assert.deepEqual(vars, [
        "FRAUDSTREAM_BROKERS=k1:9092,k2:9092",
        `FRAUDSTREAM_INSTANCE_ID=${SHORT_HOST}-agent-${i}`,
        `FRAUDSTREAM_HTTP=0.0.0.0:${9100 + i}`,
        "FRAUDSTREAM_LOG_LEVEL=debug",
      ]);
      assert.equal(
        await Deno.readLink(
          `${root}/etc/systemd/system/multi-user.target.wants/fraudstream-agent@${i}.service`,
        ),
        "/etc/systemd/system/fraudstream-agent@.service",
      );
    }

    const before = await snapshot(root);
    const again = await install([
      ...args,
      "--brokers",
      "k1:9092,k2:9092",
      "--base-port",
      "9100",
      "--env",
      "FRAUDSTREAM_LOG_LEVEL=debug",
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(
      again.stdout,
      "vm1: unchanged: fraudstream 0.0.1-test, agents 1..3 on ports 9101,9102,9103\n",
    );
    assert.deepEqual(await snapshot(root), before, "a rerun touches no file");

    const fewer = await install([
      "vm1",
      "2",
      "--local",
      "--root",
      root,
      "--tarball",
      tarball,
      "--brokers",
      "k3:9092",
      "--base-port",
      "9100",
    ]);
    assert.equal(fewer.code, 0, fewer.stderr);
    assert.match(
      fewer.stdout,
      /updated \(not started: --root\) agents 1 2\nvm1: removed agents 3\n$/,
    );
    assert.deepEqual(
      [...Deno.readDirSync(`${root}/etc/fraudstream`)].map((e) => e.name).sort(),
      ["agent-1.env", "agent-2.env"],
    );
    assert.match(
      await Deno.readTextFile(`${root}/etc/fraudstream/agent-2.env`),
      /^FRAUDSTREAM_BROKERS=k3:9092$/m,
    );
    await assert.rejects(
      Deno.lstat(`${root}/etc/systemd/system/multi-user.target.wants/fraudstream-agent@3.service`),
    );

    const removed = await install(["vm1", "--uninstall", "--local", "--root", root]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, "vm1: uninstalled fraudstream\n");
    const left = Object.keys(await snapshot(root));
    assert.deepEqual(left, [], `left behind: ${left.join(", ")}`);
    const twice = await install(["vm1", "--uninstall", "--local", "--root", root]);
    assert.equal(twice.stdout, "vm1: nothing to uninstall\n");
  });
});

Deno.test("install.sh updates a release in place and moves `current` to it", async () => {
  await withRoot(async (root, tarball) => {
    const args = ["vm1", "1", "--local", "--root", root, "--brokers", "k1:9092"];
    assert.equal((await install([...args, "--tarball", tarball])).code, 0);
    const dir = await Deno.makeTempDir({ prefix: "fraudstream-install-v2-" });
    try {
      const fake = `${dir}/fraudstream`;
      await Deno.copyFile("/bin/false", fake);
      const v2 = await packRelease({
        version: "0.0.2-test",
        target: TARGET,
        executable: fake,
        root: ROOT,
        outDir: dir,
      });
      const out = await install([...args, "--tarball", v2]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(
        out.stdout,
        /fraudstream 0\.0\.2-test .* agents 1\.\.1 on ports 8081\nvm1: updated \(not started: --root\) agents 1\n$/,
      );
      assert.equal(await Deno.readLink(`${root}/opt/fraudstream/current`), "0.0.2-test");
      assert.deepEqual(
        await Deno.readFile(`${root}/opt/fraudstream/current/fraudstream`),
        await Deno.readFile("/bin/false"),
      );
      assert.ok(
        (await Deno.stat(`${root}/opt/fraudstream/0.0.1-test/fraudstream`)).isFile,
        "the old release stays for a rollback",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("install.sh refuses bad input in one line and leaves the target untouched", async () => {
  await withRoot(async (root, tarball) => {
    const local = ["--local", "--root", root, "--brokers", "k1:9092"];
    const cases: [string[], number, string][] = [
      [
        ["vm1", "x", ...local, "--tarball", tarball],
        2,
        "install: N must be a positive integer (agents to run on vm1), got 'x'",
      ],
      [
        ["vm1", "0", ...local, "--tarball", tarball],
        2,
        "install: N must be a positive integer (agents to run on vm1), got '0'",
      ],
      [
        ["vm1", "", ...local, "--tarball", tarball],
        2,
        "install: N must be a positive integer (agents to run on vm1), got ''",
      ],
      [
        ["vm1", "2", "--local", "--root", root, "--tarball", tarball],
        2,
        "install: --brokers is required: the agents' FRAUDSTREAM_BROKERS",
      ],
      [
        ["vm1", "2", ...local, "--tarball", tarball, "--brokers", "nohost"],
        2,
        "install: --brokers nohost: expected HOST:PORT[,HOST:PORT...]",
      ],
      [
        ["vm1", "2", ...local, "--tarball", tarball, "--base-port", "65534"],
        2,
        "install: --base-port 65534 with 2 agents needs ports up to 65536, above 65535",
      ],
      [
        ["vm1", "2", ...local, "--tarball", tarball, "--env", "FRAUDSTREAM_HTTP=1"],
        2,
        "install: --env FRAUDSTREAM_HTTP: install.sh sets it (use --brokers, --base-port, --http-host)",
      ],
      [
        ["vm1", "2", ...local, "--tarball", tarball, "--bogus"],
        2,
        "install: unknown option --bogus (see install.sh --help)",
      ],
      [
        ["vm1", "2", ...local, "--tarball", `${root}/none.tar.gz`],
        1,
        `install: no release tarball at ${root}/none.tar.gz (deno task release builds one)`,
      ],
      [
        ["no-such-host.invalid", "2", "--brokers", "k1:9092", "--tarball", tarball],
        1,
        "install: cannot reach no-such-host.invalid over ssh (ssh: Could not resolve hostname no-such-host.invalid: Name or service not known)",
      ],
    ];
    for (const [args, code, message] of cases) {
      const out = await install(args);
      assert.deepEqual(
        [out.code, out.stderr.trim(), out.stdout],
        [code, message, ""],
        args.join(" "),
      );
    }

    const partial = `${root}/../fraudstream-partial-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.mkdir(`${partial}/fraudstream-0.0.9-${TARGET}/model`, { recursive: true });
    await Deno.writeTextFile(`${partial}/fraudstream-0.0.9-${TARGET}/fraudstream`, "");
    await Deno.writeTextFile(`${partial}/fraudstream-0.0.9-${TARGET}/model/fraud-model.onnx`, "");
    const tar = await new Deno.Command("tar", {
      args: ["-czf", `${partial}/p.tar.gz`, "-C", partial, `fraudstream-0.0.9-${TARGET}`],
    }).output();
    assert.ok(tar.success);
    const lacking = await install(["vm1", "2", ...local, "--tarball", `${partial}/p.tar.gz`]);
    await Deno.remove(partial, { recursive: true });
    assert.equal(lacking.code, 1);
    assert.equal(
      lacking.stderr.trim(),
      `install: ${partial}/p.tar.gz lacks libonnxruntime.so.1 model/model-card.md systemd/fraudstream-agent@.service systemd/fraudstream-producer.service agent.env.example SHA256SUMS`,
    );
    assert.deepEqual([...Deno.readDirSync(root)], [], "nothing was installed");

    // A release whose executable changed after packing (a damaged copy) is refused.
    const damaged = `${root}/../fraudstream-damaged-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.mkdir(damaged);
    const top = `fraudstream-0.0.1-test-${TARGET}`;
    assert.ok(
      (await new Deno.Command("tar", { args: ["-xzf", tarball, "-C", damaged] }).output())
        .success,
    );
    await Deno.writeTextFile(`${damaged}/${top}/fraudstream`, "#!/bin/sh\n");
    assert.ok(
      (await new Deno.Command("tar", { args: ["-czf", `${damaged}/d.tar.gz`, "-C", damaged, top] })
        .output()).success,
    );
    const refused = await install(["vm1", "2", ...local, "--tarball", `${damaged}/d.tar.gz`]);
    await Deno.remove(damaged, { recursive: true });
    assert.deepEqual([refused.code, refused.stderr.trim()], [
      1,
      `install: ${damaged}/d.tar.gz: fraudstream does not match its SHA256SUMS (damaged in transfer?)`,
    ]);
    assert.deepEqual([...Deno.readDirSync(root)], [], "nothing was installed");
  });
});

Deno.test("install.sh refuses ports another env file names or another process listens on", async () => {
  await withRoot(async (root, tarball) => {
    await Deno.mkdir(`${root}/etc/fraudstream`, { recursive: true });
    await Deno.writeTextFile(
      `${root}/etc/fraudstream/producer.env`,
      "FRAUDSTREAM_HTTP=0.0.0.0:9202\n",
    );
    const args = [
      "vm1",
      "3",
      "--local",
      "--root",
      root,
      "--tarball",
      tarball,
      "--brokers",
      "k1:9092",
    ];
    const taken = await install([...args, "--base-port", "9200"]);
    assert.equal(taken.code, 1);
    assert.equal(
      taken.stderr,
      "install: port 9202 for agent 2 is already FRAUDSTREAM_HTTP in /etc/fraudstream/producer.env (pick another --base-port)\n",
    );

    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const busy = await install([...args, "--base-port", String(port - 1)]);
    assert.equal(busy.code, 1);
    assert.equal(
      busy.stderr,
      `install: port ${port} for agent 1 is already in use on vm1 by another process (pick another --base-port)\n`,
    );
    assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["etc"]);
    assert.deepEqual([...Deno.readDirSync(`${root}/etc/fraudstream`)].map((e) => e.name), [
      "producer.env",
    ]);

    const out = await install([...args, "--base-port", "9300"]);
    assert.equal(out.code, 0, out.stderr);
    const removed = await install(["vm1", "--uninstall", "--local", "--root", root]);
    assert.equal(
      removed.stdout,
      `vm1: kept ${root}/etc/fraudstream: it holds files install.sh did not write (producer.env)\nvm1: uninstalled fraudstream\n`,
    );
  });
});

Deno.test("install.sh over ssh copies the tarball and itself, runs there, and cleans up", async () => {
  await withRoot(async (root, tarball) => {
    // Stand-in ssh/scp: this machine plays the VM; the log shows what crossed the "network".
    const bin = await Deno.makeTempDir({ prefix: "fraudstream-fake-ssh-" });
    try {
      await Deno.writeTextFile(
        `${bin}/ssh`,
        `#!/bin/bash
while [[ $1 == -* ]]; do shift 2; done
echo "ssh $1" >> ${bin}/log
shift
exec bash -c "$*"
`,
        { mode: 0o755 },
      );
      await Deno.writeTextFile(
        `${bin}/scp`,
        `#!/bin/bash
args=(); while [[ $# -gt 0 ]]; do case $1 in -q) shift;; -*) shift 2;; *) args+=("$1"); shift;; esac; done
dest=\${args[-1]}; echo "scp \${args[*]}" >> ${bin}/log
cp "\${args[@]:0:\${#args[@]}-1}" "\${dest#*:}"
`,
        { mode: 0o755 },
      );
      const env = { PATH: `${bin}:${Deno.env.get("PATH")}` };
      const out = await install(
        [
          "vm9",
          "2",
          "--ssh-user",
          "ops",
          "--ssh-key",
          "/k",
          "--root",
          root,
          "--tarball",
          tarball,
          "--brokers",
          "k1:9092",
          "--env",
          "FRAUDSTREAM_LOG_LEVEL=warn with spaces",
        ],
        env,
      );
      assert.equal(out.code, 0, out.stderr);
      assert.match(
        out.stdout,
        /^vm9: fraudstream 0\.0\.1-test .* agents 1\.\.2 on ports 8081,8082$/m,
      );
      assert.match(
        await Deno.readTextFile(`${root}/etc/fraudstream/agent-1.env`),
        /^FRAUDSTREAM_LOG_LEVEL=warn with spaces$/m,
      );
      const log = await Deno.readTextFile(`${bin}/log`);
      assert.match(log, /^ssh ops@vm9$/m);
      const remoteDir = /^scp .* ops@vm9:(\/tmp\/fraudstream-install\.\w+)\/$/m.exec(log)?.[1];
      assert.ok(remoteDir, log);
      await assert.rejects(Deno.stat(remoteDir), "the copied files are removed after the run");
    } finally {
      await Deno.remove(bin, { recursive: true });
    }
  });
});

globalThis.addEventListener("unload", () => {
  if (tarballPromise) tarballPromise.then(({ dir }) => Deno.removeSync(dir, { recursive: true }));
});
