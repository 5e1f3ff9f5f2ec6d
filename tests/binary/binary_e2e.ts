import assert from "node:assert/strict";
import { gitCommit } from "../../cli/build_info.ts";
import { TOOLCHAIN_DENO_VERSION } from "../../deploy/toolchain.ts";
import { FEATURE_LIST_VERSION } from "../../features/feature_list.ts";
import modelCard from "../../model/model-card.json" with { type: "json" };
import { parseAgentStats } from "../../agent/stats_document.ts";

/**
 * The product through the release alone: the unpacked tarball's executable, run from an empty
 * directory with a PATH that has no deno, no node_modules and no sources, against a real broker.
 * `deno task test:binary` (tests/binary/main.ts) builds, packs and unpacks the release and starts
 * the broker, then runs this file; run directly it fails, because there is nothing to test.
 */

const RELEASE = Deno.env.get("FRAUDSTREAM_RELEASE_DIR");
const BROKERS = Deno.env.get("FRAUDSTREAM_TEST_BROKERS");
if (!RELEASE || !BROKERS) {
  throw new Error("run through `deno task test:binary`: it builds the release and a broker");
}
const EXE = `${RELEASE}/fraudstream`;
const ROOT = new URL("../../", import.meta.url).pathname;

const work = await Deno.makeTempDir({ prefix: "fraudstream-binary-e2e-" });
const tmp = `${work}/tmp`;
const home = `${work}/home`;
const cwd = `${work}/cwd`;
for (const dir of [tmp, home, cwd]) await Deno.mkdir(dir);
/** The whole environment of every run: no LD_LIBRARY_PATH, no deno on the PATH. */
const ENV = { PATH: "/usr/bin:/bin", HOME: home, TMPDIR: tmp, FRAUDSTREAM_BROKERS: BROKERS };

async function fraudstream(args: string[], exe = EXE) {
  const started = performance.now();
  const out = await new Deno.Command(exe, {
    args,
    cwd,
    clearEnv: true,
    env: ENV,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    seconds: (performance.now() - started) / 1000,
  };
}

interface Agent {
  url: string;
  child: Deno.ChildProcess;
  stats(): Promise<{ consumed: number; assigned_partitions: number[]; instance: string }>;
}

async function startAgent(
  prefix: string,
  group: string,
  instance: string,
  extra: string[] = [],
): Promise<Agent> {
  const child = new Deno.Command(EXE, {
    args: [
      "agent",
      "--topic-prefix",
      prefix,
      "--group",
      group,
      "--instance-id",
      instance,
      "--http",
      "127.0.0.1:0",
      ...extra,
    ],
    cwd,
    clearEnv: true,
    env: ENV,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    (async () => {
      let rest = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        const parts = rest.split("\n");
        rest = parts.pop()!;
        for (const line of parts) {
          lines.push(line);
          if (line.includes('"event":"start"')) resolve(JSON.parse(line).http);
        }
      }
      reject(new Error(`agent ${instance} ended before starting: ${lines.join("\n")}`));
    })();
  });
  return {
    url,
    child,
    stats: () => fetch(`${url}/stats`).then((r) => r.json()).then(parseAgentStats),
  };
}

async function waitFor(what: string, done: () => Promise<boolean>, seconds = 120) {
  const deadline = Date.now() + seconds * 1000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

Deno.test({
  name: "the release's executable alone: CLI, two agents, fleet, SIGTERM, capacity",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    await t.step("no deno on its PATH, no sources or node_modules beside it", async () => {
      const which = await new Deno.Command("sh", {
        args: ["-c", "command -v deno"],
        clearEnv: true,
        env: ENV,
        stdout: "piped",
      }).output();
      assert.ok(!which.success && which.stdout.length === 0, "deno is on the test's PATH");
      const files = [...Deno.readDirSync(RELEASE)].map((e) => e.name).sort();
      assert.ok(!files.includes("node_modules") && !files.includes("main.ts"), files.join(" "));
      assert.deepEqual([...Deno.readDirSync(cwd)], []);
    });

    await t.step(
      "--version: pinned runtime, this commit, the built-in model, feature list",
      async () => {
        const out = await fraudstream(["--version"]);
        assert.equal(out.code, 0, out.stderr);
        const commit = await gitCommit(ROOT);
        assert.match(out.stdout, new RegExp(`^commit: +${commit}$`, "m"));
        assert.match(
          out.stdout,
          new RegExp(
            `^runtime: +deno ${TOOLCHAIN_DENO_VERSION} \\(${Deno.build.target}, compiled`,
            "m",
          ),
        );
        assert.match(
          out.stdout,
          new RegExp(`^model: +${modelCard.name} ${modelCard.version} `, "m"),
        );
        assert.match(out.stdout, new RegExp(`^feature list: +${FEATURE_LIST_VERSION} `, "m"));
      },
    );

    await t.step("a bad flag: one line, exit 2", async () => {
      const out = await fraudstream(["agent", "--no-such-flag"]);
      assert.equal(out.code, 2);
      assert.match(out.stderr, /^fraudstream: [^\n]*no-such-flag[^\n]*\n$/);
    });

    await t.step(
      "without libonnxruntime.so.1 beside it: one line naming the file, exit 1",
      async () => {
        const alone = `${work}/alone`;
        await Deno.mkdir(alone);
        await Deno.copyFile(EXE, `${alone}/fraudstream`);
        await Deno.chmod(`${alone}/fraudstream`, 0o755);
        const out = await fraudstream(["agent"], `${alone}/fraudstream`);
        assert.equal(out.code, 1);
        assert.equal(
          out.stderr,
          `fraudstream: ${alone}/libonnxruntime.so.1 is missing: the ONNX Runtime library must sit beside the executable\n`,
        );
      },
    );

    const prefix = `binary.${crypto.randomUUID().slice(0, 8)}.`;
    const group = `binary-e2e-${crypto.randomUUID().slice(0, 8)}`;
    const partitions = 4;
    await t.step("topics, then generate", async () => {
      const topics = await fraudstream([
        "topics",
        "--topic-prefix",
        prefix,
        "--partitions",
        String(partitions),
      ]);
      assert.equal(topics.code, 0, topics.stderr);
      assert.match(topics.stdout, new RegExp(`${prefix.replaceAll(".", "\\.")}transactions`));
      const gen = await fraudstream([
        "generate",
        "--out",
        "data",
        "--customers",
        "1000",
        "--terminals",
        "2000",
        "--days",
        "3",
      ]);
      assert.equal(gen.code, 0, gen.stderr);
      assert.equal([...Deno.readDirSync(`${cwd}/data`)].length, 3);
    });

    const agents: Agent[] = [];
    // The second runs its model in a Worker: the executable must carry that module too.
    await t.step(
      "two agents (one --model-worker) share the partitions and become ready",
      async () => {
        agents.push(await startAgent(prefix, group, "binary-a"));
        agents.push(await startAgent(prefix, group, "binary-b", ["--model-worker"]));
        await waitFor("both agents ready with partitions", async () => {
          const ready = await Promise.all(agents.map((a) => fetch(`${a.url}/readyz`)));
          await Promise.all(ready.map((r) => r.body?.cancel()));
          const stats = await Promise.all(agents.map((a) => a.stats()));
          return ready.every((r) => r.ok) &&
            stats.every((s) => s.assigned_partitions.length > 0) &&
            stats.reduce((n, s) => n + s.assigned_partitions.length, 0) === partitions;
        });
      },
    );

    await t.step("produce at a rate; the agents consume every message", async () => {
      const rate = 1500;
      const out = await fraudstream([
        "produce",
        "--topic-prefix",
        prefix,
        "--http",
        "off",
        "--rate",
        String(rate),
        "data",
      ]);
      assert.equal(out.code, 0, out.stderr);
      const done = JSON.parse(out.stderr.split("\n").find((l) => l.includes('"event":"done"'))!);
      const sent: number = done.sent;
      assert.ok(sent > 3000, `sent ${sent}`);
      // Paced, not a burst: the whole run cannot be faster than the rate allows.
      assert.ok(out.seconds >= 0.9 * sent / rate, `${sent} messages in ${out.seconds}s`);
      await waitFor(`the agents to consume ${sent}`, async () => {
        const stats = await Promise.all(agents.map((a) => a.stats()));
        return stats.reduce((n, s) => n + s.consumed, 0) === sent;
      });
      for (const stats of await Promise.all(agents.map((a) => a.stats()))) {
        assert.ok(stats.consumed > 0, `${stats.instance} scored nothing`);
      }
    });

    await t.step("/healthz, /readyz, /stats, /metrics answer", async () => {
      for (const agent of agents) {
        for (const path of ["/healthz", "/readyz"]) {
          const res = await fetch(`${agent.url}${path}`);
          await res.body?.cancel();
          assert.equal(res.status, 200, path);
        }
        const stats = await agent.stats();
        assert.ok(stats.consumed > 0, `${stats.instance} consumed ${stats.consumed}`);
        const metrics = await (await fetch(`${agent.url}/metrics`)).text();
        assert.match(metrics, /^fraudstream_agent_scored_total\{[^}]*\} [1-9]\d*$/m);
      }
    });

    await t.step("fleet: one table of both agents", async () => {
      const out = await fraudstream([
        "fleet",
        "--agents",
        agents.map((a) => a.url).join(","),
        "--group",
        group,
        "--topic-prefix",
        prefix,
      ]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /binary-a/);
      assert.match(out.stdout, /binary-b/);
    });

    await t.step("SIGTERM: the agent exits 0 and its partitions move to the other", async () => {
      agents[0].child.kill("SIGTERM");
      assert.equal((await agents[0].child.status).code, 0);
      await waitFor("agent b to own every partition", async () => {
        return (await agents[1].stats()).assigned_partitions.length === partitions;
      });
      agents[1].child.kill("SIGTERM");
      assert.equal((await agents[1].child.status).code, 0);
    });

    await t.step("capacity spawns its agents from this same executable", async () => {
      const out = await fraudstream([
        "capacity",
        "--max-agents",
        "1",
        "--partitions",
        "2",
        "--steps",
        "0.7,1.2",
        "--step-seconds",
        "6",
        "--settle-seconds",
        "2",
        "--drain-seconds",
        "4",
        "--target",
        "50",
        "--agent-args",
        "--max-batch 50 --test-batch-cost-ms 100 --concurrency 1",
        "--out",
        "report",
        "data",
      ]);
      assert.equal(out.code, 0, out.stderr);
      const report = JSON.parse(await Deno.readTextFile(`${cwd}/report/report.json`));
      assert.equal(report.measurements.length, 1);
      assert.ok(report.measurements[0].drain.rate > 0, JSON.stringify(report.measurements[0]));
      const logs = [...Deno.readDirSync(`${cwd}/report/logs`)].map((e) => e.name);
      assert.equal(logs.length, 1, logs.join(" "));
      const log = await Deno.readTextFile(`${cwd}/report/logs/${logs[0]}`);
      assert.match(log, /"event":"start"/);
    });

    await t.step(
      "it wrote only the addon and V8's code cache into $TMPDIR, nothing in $HOME",
      () => {
        const written = [...Deno.readDirSync(tmp)].map((e) => e.name).sort();
        assert.equal(written.length, 2, written.join(" "));
        assert.equal(written[0], "deno-compile-fraudstream.cache");
        assert.match(written[1], /^fraudstream\d+\.node$/);
        assert.deepEqual([...Deno.readDirSync(home)], []);
      },
    );

    for (const agent of agents) {
      try {
        agent.child.kill("SIGKILL");
      } catch { /* already stopped */ }
    }
    await Deno.remove(work, { recursive: true });
  },
});
