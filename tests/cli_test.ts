import assert from "node:assert/strict";
import { gitCommit } from "../cli/build_info.ts";
import { FEATURE_LIST_VERSION } from "../features/feature_list.ts";
import modelCard from "../model/model-card.json" with { type: "json" };
import { runCli } from "./support/kafka.ts";

const COMMANDS = ["topics", "ping"];

Deno.test("every command answers --help", async () => {
  for (const name of COMMANDS) {
    const out = await runCli([name, "--help"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`^fraudstream ${name}: `));
    assert.match(
      out.stdout,
      /--brokers HOST:PORT,\.\.\.\s+bootstrap brokers\s+\[FRAUDSTREAM_BROKERS\]/,
    );
  }
});

Deno.test("--version from a checkout: its commit, this Deno, the model and the feature list", async () => {
  const out = await runCli(["--version"]);
  assert.equal(out.code, 0, out.stderr);
  const commit = await gitCommit(new URL("..", import.meta.url).pathname);
  assert.match(commit, /^[0-9a-f]{12}(-dirty)?$/);
  assert.equal(
    out.stdout,
    [
      `fraudstream ${
        JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).version
      }`,
      `commit:        ${commit}`,
      `runtime:       deno ${Deno.version.deno} (${Deno.build.target}, run from source)`,
      `model:         ${modelCard.name} ${modelCard.version} (built-in default)`,
      `feature list:  ${FEATURE_LIST_VERSION} (16 features)`,
      "",
    ].join("\n"),
  );
});

Deno.test("user errors are one line and exit 2", async (t) => {
  const cases: [string, string[], RegExp][] = [
    ["unknown command", ["nope"], /^fraudstream: unknown command "nope"/],
    ["unknown flag", ["topics", "--nope"], /^fraudstream: topics: Unknown option '--nope'/],
    ["bad broker string", ["topics", "--brokers", "localhost"], /is not HOST:PORT/],
    ["bad broker port", ["ping", "--brokers", "127.0.0.1:99999"], /is not HOST:PORT/],
    ["no brokers", ["topics"], /no brokers: pass --brokers/],
    [
      "bad partitions",
      ["topics", "--brokers", "127.0.0.1:9", "--partitions", "0"],
      /positive integer/,
    ],
    [
      "sasl without user",
      ["ping", "--brokers", "127.0.0.1:9", "--security-protocol", "sasl_ssl"],
      /needs --sasl-username/,
    ],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, async () => {
      const out = await runCli(args);
      assert.equal(out.code, 2, `${name}: ${out.stderr}`);
      assert.equal(out.stderr.trim().split("\n").length, 1, out.stderr);
      assert.match(out.stderr, message);
    });
  }
});

Deno.test("flags win over environment variables", async () => {
  const out = await runCli(["topics", "--brokers", "bad"], {
    FRAUDSTREAM_BROKERS: "127.0.0.1:9092",
  });
  assert.equal(out.code, 2);
  assert.match(out.stderr, /"bad" is not HOST:PORT/);
  const fromEnv = await runCli(["topics"], { FRAUDSTREAM_BROKERS: "alsobad" });
  assert.match(fromEnv.stderr, /"alsobad" is not HOST:PORT/);
});

Deno.test("an unreachable broker fails within the connect timeout, naming the address", async () => {
  const port = closedPort();
  const out = await runCli(["topics", "--brokers", `127.0.0.1:${port}`, "--connect-timeout", "3s"]);
  assert.equal(out.code, 1);
  assert.match(
    out.stderr.trim(),
    new RegExp(`^fraudstream: cannot reach Kafka at 127\\.0\\.0\\.1:${port} \\(plaintext\\)`),
  );
  assert.ok(out.ms < 15_000, `took ${out.ms} ms`);
});

Deno.test("the local broker says what to install when java is missing", async () => {
  // An empty directory as the whole PATH: no java, whatever this machine has installed.
  const emptyPath = await Deno.makeTempDir({ prefix: "fraudstream-empty-path-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../kafka/local/local_kafka_cli.ts", import.meta.url).pathname],
      env: { PATH: emptyPath },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1);
    assert.match(
      new TextDecoder().decode(out.stderr),
      /needs a JDK 17\+ \(java\).*or pass --brokers/,
    );
  } finally {
    await Deno.remove(emptyPath);
  }
});

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
