import assert from "node:assert/strict";
import { startLocalKafka } from "../kafka/local/local_kafka.ts";
import { kafkaTest, runCli } from "./support/kafka.ts";

/** A broker with a SASL_SSL listener, SCRAM users and a CA made for this run, like a managed service. */
Deno.test({
  name: "SASL_SSL with SCRAM and a CA file: right password round-trips, wrong one fails fast",
  ...kafkaTest,
}, async (t) => {
  const kafka = await startLocalKafka({ sasl: true });
  try {
    const base = [
      "--brokers",
      kafka.saslBrokers[0],
      "--security-protocol",
      "sasl_ssl",
      "--ssl-ca-file",
      kafka.caFile!,
    ];
    for (const user of kafka.users) {
      await t.step(`${user.mechanism} round-trips a record`, async () => {
        const ok = await runCli([
          "ping",
          ...base,
          "--sasl-mechanism",
          user.mechanism,
          "--sasl-username",
          user.username,
        ], {
          FRAUDSTREAM_SASL_PASSWORD: user.password,
        });
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /ping: 5\/5 records/);
      });
    }
    const user = kafka.users[0];
    await t.step("the password can come from a file", async () => {
      const file = await Deno.makeTempFile();
      await Deno.writeTextFile(file, user.password + "\n");
      const ok = await runCli([
        "ping",
        ...base,
        "--sasl-username",
        user.username,
        "--sasl-password-file",
        file,
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      await Deno.remove(file);
    });
    await t.step("a wrong password fails with one clear line, not a hang", async () => {
      const bad = await runCli([
        "ping",
        ...base,
        "--sasl-username",
        user.username,
        "--connect-timeout",
        "20s",
      ], {
        FRAUDSTREAM_SASL_PASSWORD: "wrong",
      });
      assert.equal(bad.code, 1);
      assert.ok(bad.ms < 30_000, `took ${bad.ms} ms`);
      assert.match(
        bad.stderr.trim(),
        /^fraudstream: cannot .* at 127\.0\.0\.1:\d+ \(sasl_ssl\): .*(SASL|[Aa]uthentication)/,
      );
      assert.equal(bad.stderr.trim().split("\n").length, 1);
    });
    await t.step("without the CA file the broker's certificate is refused", async () => {
      const noCa = await runCli(
        [
          "ping",
          "--brokers",
          kafka.saslBrokers[0],
          "--security-protocol",
          "sasl_ssl",
          "--sasl-username",
          user.username,
          "--connect-timeout",
          "5s",
        ],
        { FRAUDSTREAM_SASL_PASSWORD: user.password },
      );
      assert.equal(noCa.code, 1);
      assert.match(noCa.stderr, /certificate/i);
    });
  } finally {
    await kafka.stop();
  }
});
