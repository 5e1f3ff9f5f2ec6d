import assert from "node:assert/strict";
import { join } from "node:path";
import { type ScramUser, startLocalKafka } from "../../kafka/local/local_kafka.ts";
import { makeExpiredCa, makeTlsMaterial } from "../../kafka/local/tls_material.ts";
import { ensureTopics, topicNames } from "../../kafka/topics.ts";
import { kafkaTest, testKafka, uniquePrefix } from "../support/kafka.ts";
import { startAgent, waitFor } from "../support/pipeline.ts";
import { processMemoryBytes } from "../support/process_memory.ts";

/**
 * SASL_SSL faults against a broker with SCRAM users and a CA of its own, as a managed service
 * has: a wrong password, a CA file that did not sign the brokers' certificates or has expired,
 * and a user whose credential is deleted while the agent runs. Each ends the agent with one
 * clear line, a non-zero exit code (which the units' Restart=on-failure restarts), no stack trace
 * and the password nowhere in argv, logs or /stats.
 */
/**
 * SASL session lifetime on the test broker: kafkajs authenticates again 10 s before a session ends
 * (reauthenticationThreshold), so a session must be longer than that; at 15 s a deleted credential
 * shows within about 5 to 15 s.
 */
const SESSION_MS = 15_000;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const GOOD = "1,2019-08-22 06:51:03,7,711,70.91,24663,0,0,0";

function saslArgs(user: ScramUser, caFile: string, passwordFile: string) {
  return [
    "--security-protocol",
    "sasl_ssl",
    "--sasl-mechanism",
    user.mechanism,
    "--sasl-username",
    user.username,
    "--sasl-password-file",
    passwordFile,
    "--ssl-ca-file",
    caFile,
    "--connect-timeout",
    "20s",
  ];
}

/** What every failure must look like: its last line says what; before it only JSON log lines. */
function assertOneClearLine(stderr: string, code: number, expected: RegExp, secrets: string[]) {
  assert.equal(code, 1, stderr);
  const lines = stderr.trimEnd().split("\n");
  assert.match(lines.at(-1)!, /^fraudstream: /, stderr);
  assert.match(lines.at(-1)!, expected, stderr);
  assert.ok(!/^\s+at /m.test(stderr), `a stack trace:\n${stderr}`);
  for (const line of lines.slice(0, -1)) {
    assert.doesNotThrow(() => JSON.parse(line), `not a log line: ${line}`);
  }
  for (const s of secrets) assert.ok(!stderr.includes(s), `the secret is in the log:\n${stderr}`);
}

Deno.test(
  { name: "SASL faults: each ends the agent with one clear line", ...kafkaTest },
  async (t) => {
    const kafka = await startLocalKafka({ sasl: true, saslSessionMs: SESSION_MS });
    const dir = await Deno.makeTempDir({ prefix: "fraudstream-sasl-faults-" });
    try {
      const prefix = uniquePrefix("sasl");
      const plain = await testKafka("sasl-faults-test", kafka.brokers);
      const admin = await plain.admin();
      await ensureTopics(admin, topicNames(prefix), { partitions: 1, replicationFactor: 1 });
      await admin.close();
      const user = kafka.users[0];
      const passwordFile = join(dir, "password");
      await Deno.writeTextFile(passwordFile, user.password + "\n");
      /** An agent that should fail; one that does not is killed after a minute (code 143). */
      const agent = async (args: string[]) => {
        const started = performance.now();
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            MAIN,
            "agent",
            "--topic-prefix",
            prefix,
            "--http",
            "127.0.0.1:0",
            ...args,
          ],
          env: { FRAUDSTREAM_BROKERS: kafka.saslBrokers[0] },
          stdout: "null",
          stderr: "piped",
          signal: AbortSignal.timeout(60_000),
        }).output();
        return {
          code: out.code,
          stderr: new TextDecoder().decode(out.stderr),
          ms: performance.now() - started,
        };
      };
      const figures: string[] = [];
      type Run = { code: number; stderr: string; ms: number };
      const timed = async (name: string, run: () => Promise<Run>) => {
        const out = await run();
        figures.push(`${name} exit=${out.code} in ${(out.ms / 1000).toFixed(1)}s`);
        return out;
      };

      await t.step("a wrong password", async () => {
        const wrong = join(dir, "wrong");
        await Deno.writeTextFile(wrong, "not-the-password\n");
        const out = await timed(
          "wrong_password",
          () => agent(saslArgs(user, kafka.caFile!, wrong)),
        );
        assertOneClearLine(out.stderr, out.code, /[Aa]uthentication failed/, ["not-the-password"]);
      });

      await t.step("a CA file that did not sign the brokers' certificates", async () => {
        const other = await makeTlsMaterial(join(dir, "other"));
        const out = await timed(
          "mismatched_ca",
          () => agent(saslArgs(user, other.caFile, passwordFile)),
        );
        assertOneClearLine(out.stderr, out.code, /certificate/, [user.password]);
      });

      await t.step("an expired CA file", async () => {
        const expired = await makeExpiredCa(kafka.caFile!, join(dir, "expired"));
        const out = await timed(
          "expired_ca",
          () => agent(saslArgs(user, expired, passwordFile)),
        );
        assertOneClearLine(out.stderr, out.code, /CA certificate .* expired on/, [user.password]);
      });

      await t.step("the user's credential deleted while the agent runs", async () => {
        const revoked: ScramUser = {
          username: "revoked-agent",
          password: `revoked-${crypto.randomUUID()}`,
          mechanism: "scram-sha-512",
        };
        await kafka.addScramUser(revoked);
        const file = join(dir, "revoked");
        await Deno.writeTextFile(file, revoked.password);
        const running = await startAgent(
          prefix,
          "sasl-revoked",
          saslArgs(revoked, kafka.caFile!, file),
          kafka.saslBrokers,
        );
        const output = await plain.output();
        await output.send([{
          topic: topicNames(prefix).transactions,
          records: [{ key: "7", value: GOOD }],
        }]);
        await output.close();
        await waitFor("scored", async () => (await running.stats()).consumed >= 1);
        const cmdline = await Deno.readTextFile(`/proc/${running.child.pid}/cmdline`);
        const stats = await fetch(`${running.url}/stats`).then((r) => r.text());
        const metrics = await fetch(`${running.url}/metrics`).then((r) => r.text());
        for (const [where, text] of [["argv", cmdline], ["/stats", stats], ["/metrics", metrics]]) {
          assert.ok(!text.includes(revoked.password), `the password is in ${where}`);
        }
        const rss = processMemoryBytes(running.child.pid, "VmHWM");
        const consumed = (await running.stats()).consumed;
        const deletedAt = performance.now();
        await kafka.deleteScramUser(revoked);
        const code = await Promise.race([
          running.child.status.then((s) => s.code),
          new Promise<string>((r) => setTimeout(() => r("still running"), 120_000)),
        ]);
        const seconds = (performance.now() - deletedAt) / 1000;
        figures.push(
          `revoked_user sent=1 consumed=${consumed} max_rss_mib=${Math.round(rss / 2 ** 20)} ` +
            `exit=${code} ${seconds.toFixed(1)}s after the deletion`,
        );
        const stderr = running.log.join("\n");
        assert.equal(
          typeof code,
          "number",
          `the agent ${code} 120 s after its user was deleted:\n${stderr}`,
        );
        assertOneClearLine(stderr, code as number, /[Aa]uthentication/, [revoked.password]);
      });
      console.log(
        `sasl_faults: ${figures.join("; ")} (load ${Deno.loadavg()[0].toFixed(1)})`,
      );
    } finally {
      await kafka.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
