import assert from "node:assert/strict";
import { createKafkaClient } from "../../kafka/boundary.ts";
import { topicNames } from "../../kafka/topics.ts";
import { runCli } from "../../tests/support/kafka.ts";
import {
  generateData,
  inputId,
  inputLines,
  multiset,
  type ReadMessage,
  readTopic,
  waitFor,
} from "../../tests/support/pipeline.ts";
import { type Lab, startLab } from "./lab.ts";
import { releaseForVms } from "./release_for_vms.ts";
import { type AgentStatsDocument, parseAgentStats } from "../../agent/stats_document.ts";

/**
 * The operator's path on emulated VMs (deploy/vmlab), as root: `deno task test:vms`.
 * Release tarball -> install.sh over ssh into 3 VMs (0.5 vCPU, 1 GiB) with 2 agents each ->
 * systemd runs them -> fleet over their stats URLs -> 400 tx/s from the host -> systemctl stop
 * on vm1 (its partitions move, nothing lost) -> vm2 powered off -> vm3 carries on -> every
 * message is a prediction or a DLQ record -> uninstall leaves the VMs clean. The lab is always
 * taken down, also when a step fails or the run is interrupted.
 */

const INSTALL = new URL("../install.sh", import.meta.url).pathname;
const AGENTS_PER_VM = 2;
const PARTITIONS = 6;
const RATE = 400;

function log(line: string) {
  console.error(`vm test: ${line}`);
}

async function installSh(lab: Lab, args: string[]): Promise<string> {
  const res = await new Deno.Command("bash", {
    args: [INSTALL, ...args, "--ssh-config", lab.sshConfig],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(res.stdout);
  assert.equal(
    res.code,
    0,
    `install.sh ${args.join(" ")}: ${new TextDecoder().decode(res.stderr)}`,
  );
  return out;
}

async function stats(url: string): Promise<AgentStatsDocument | null> {
  try {
    const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(2000) });
    return parseAgentStats(await res.json());
  } catch {
    return null;
  }
}

/** Partitions owned by the agents at these URLs, sorted; null when one does not answer. */
async function owned(urls: string[]): Promise<number[] | null> {
  const all = await Promise.all(urls.map(stats));
  if (all.some((s) => s === null)) return null;
  return all.flatMap((s) => s!.assigned_partitions).sort((a, b) => a - b);
}

const ALL_PARTITIONS = [...Array(PARTITIONS).keys()];

/** Promise.all that waits for every promise before failing with the first error. */
async function settled<T extends readonly unknown[]>(
  promises: [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Input ids as a multiset vs. prediction keys plus the ids in DLQ'd original bytes. */
function accountedIds(predictions: ReadMessage[], dlq: ReadMessage[]) {
  return multiset([
    ...predictions.map((m) => m.key!.toString()),
    ...dlq.map((m) => inputId(m.value!.toString())),
  ]);
}

Deno.test({
  name: "operator path on 3 emulated VMs: install, systemd, fleet, 400 tx/s, stop, power-off",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const work = await Deno.makeTempDir({ prefix: "fraudstream-vmtest-" });
  const held: { lab?: Lab; starting?: Promise<Lab> } = {};
  // Ctrl-C or a CI timeout's SIGTERM still takes the lab down before the process ends: a lab
  // still starting is stopped (vmlab.sh cleans up after itself), a running one taken down.
  const starting = new AbortController();
  const interrupted = async () => {
    starting.abort();
    await held.starting?.catch(() => {});
    await held.lab?.down().catch((e) => log(`down failed: ${e.message}`));
    await Deno.remove(work, { recursive: true }).catch(() => {});
    // A test may not call Deno.exit; an uncaught error ends the run as failed.
    throw new Error("interrupted: the lab was taken down");
  };
  Deno.addSignalListener("SIGINT", interrupted);
  Deno.addSignalListener("SIGTERM", interrupted);
  try {
    const started = performance.now();
    const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
    // The release is packed and the data generated while the VMs boot; the lab is recorded as
    // soon as it is up, so that it is taken down even when one of the others fails.
    const [release, lab, files] = await settled([
      releaseForVms(work),
      held.starting = startLab({ vms: 3, vcpu: 0.5, memory: "1G", broker: true }, starting.signal)
        .then((l) => (held.lab = l)),
      generateData(`${work}/data`, ["--customers", "3000", "--days", "3"]),
    ]);
    log(`${elapsed()}: lab up, release ${release} (compiled executable)`);
    const brokers = lab.brokers;
    const env = { FRAUDSTREAM_BROKERS: brokers };
    const topics = await runCli(["topics", "--partitions", String(PARTITIONS)], env);
    assert.equal(topics.code, 0, topics.stderr);

    // --- install.sh over ssh into every VM; systemd starts the agents. --------------------------
    const installed = await Promise.all(lab.vms.map((vm) =>
      installSh(lab, [
        vm,
        String(AGENTS_PER_VM),
        "--tarball",
        release,
        "--brokers",
        brokers,
      ])
    ));
    for (const [i, out] of installed.entries()) {
      assert.match(
        out,
        new RegExp(`^${lab.vms[i]}: fraudstream \\S+ .* agents 1\\.\\.2 on ports 8081,8082$`, "m"),
      );
    }
    for (const vm of lab.vms) {
      const active = await lab.ssh(
        vm,
        "systemctl is-active fraudstream-agent@1 fraudstream-agent@2",
      );
      assert.equal(active, "active\nactive\n", `${vm}: ${active}`);
    }
    const urlsOf = (vm: string) => [1, 2].map((i) => `http://${lab.ips[vm]}:${8080 + i}`);
    const allUrls = lab.vms.flatMap(urlsOf);
    await waitFor(
      "all 6 agents to own one partition each",
      async () => JSON.stringify(await owned(allUrls)) === JSON.stringify(ALL_PARTITIONS),
      120_000,
    );
    log(`${elapsed()}: 6 agents active under systemd, one partition each`);

    // --- fleet over the VMs' stats URLs. ------------------------------------------------------
    const fleet = await runCli(["fleet", "--agents", allUrls.join(","), "--json"], env);
    assert.equal(fleet.code, 0, fleet.stderr);
    const table = JSON.parse(fleet.stdout);
    assert.equal(table.total.up, 6);
    assert.deepEqual(
      table.agents.map((a: { instance: string }) => a.instance).sort(),
      lab.vms.flatMap((vm) => [`${vm}-agent-1`, `${vm}-agent-2`]).sort(),
    );

    // --- 400 tx/s from the host; meanwhile vm1 is stopped and vm2 loses power. -----------------
    const producing = runCli(["produce", "--rate", String(RATE), "--http", "off", ...files], env);
    await waitFor("scoring on every VM", async () => {
      const s = await Promise.all(allUrls.map(stats));
      return s.every((x) => x !== null && x.consumed > 0);
    }, 60_000);
    log(`${elapsed()}: every agent scoring; systemctl stop on vm1`);
    await lab.ssh("vm1", "systemctl stop fraudstream-agent@1 fraudstream-agent@2");
    const stopped = await lab.ssh(
      "vm1",
      "systemctl is-active fraudstream-agent@1 fraudstream-agent@2 || true",
    );
    assert.equal(stopped, "inactive\ninactive\n");
    const rest = [...urlsOf("vm2"), ...urlsOf("vm3")];
    await waitFor(
      "vm1's partitions to move to vm2 and vm3",
      async () => JSON.stringify(await owned(rest)) === JSON.stringify(ALL_PARTITIONS),
      60_000,
    );
    log(`${elapsed()}: vm1's partitions moved; powering vm2 off`);
    await lab.kill("vm2");
    const survivors = urlsOf("vm3");
    // The broker notices a powered-off member only when its session (30 s) times out.
    await waitFor(
      "vm3 to own every partition",
      async () => JSON.stringify(await owned(survivors)) === JSON.stringify(ALL_PARTITIONS),
      90_000,
    );
    log(`${elapsed()}: vm3 owns every partition`);

    const produced = await producing;
    assert.equal(produced.code, 0, produced.stderr);
    const done = produced.stderr.split("\n").filter((l) => l.includes('"event":"done"'))
      .map((l) => JSON.parse(l))[0];
    assert.ok(
      Math.abs(done.achieved_rate - RATE) <= RATE * 0.05,
      `produced at ${done.achieved_rate} tx/s, not ${RATE}`,
    );
    const kafka = await createKafkaClient({
      brokers: [brokers],
      clientId: "vm-test",
      securityProtocol: "plaintext",
      connectTimeoutMs: 10_000,
    });
    const admin = await kafka.admin();
    const names = topicNames("");
    try {
      await waitFor(
        "vm3's agents to drain the group",
        async () => (await admin.groupLag("fraudstream-agents", names.transactions)).total === 0,
        180_000,
      );
    } finally {
      await admin.close();
    }
    const scoredOnVm3 = (await Promise.all(survivors.map(stats))).map((s) => s!.consumed);
    log(`${elapsed()}: drained; vm3's agents consumed ${scoredOnVm3.join(" + ")}`);

    // --- every message accounted for. ---------------------------------------------------------
    const predictions = await readTopic(kafka, names.predictions);
    const dlq = await readTopic(kafka, names.dlq);
    const expected = multiset(inputLines(files).map(inputId));
    const got = accountedIds(predictions, dlq);
    const lost = [...expected].filter(([id, n]) => (got.get(id) ?? 0) < n).map(([id]) => id);
    assert.equal(done.sent, inputLines(files).length);
    assert.deepEqual(
      lost,
      [],
      `${lost.length} of ${done.sent} lost: ${predictions.length} predictions, ${dlq.length} DLQ`,
    );
    const unknown = [...got.keys()].filter((id) => !expected.has(id));
    assert.deepEqual(unknown, [], "outputs for ids never sent");
    log(
      `${elapsed()}: ${done.sent} sent at ${done.achieved_rate} tx/s; ${predictions.length} predictions + ${dlq.length} DLQ (${
        predictions.length + dlq.length - done.sent
      } duplicates from the power-off)`,
    );

    // --- uninstall leaves the VMs that still run clean. ---------------------------------------
    for (const vm of ["vm1", "vm3"]) {
      const out = await installSh(lab, [vm, "--uninstall"]);
      assert.equal(out, `${vm}: uninstalled fraudstream\n`);
      const left = await lab.ssh(
        vm,
        "ls -d /opt/fraudstream /etc/fraudstream /etc/systemd/system/fraudstream-* " +
          "/etc/systemd/system/multi-user.target.wants/fraudstream-* 2>/dev/null; " +
          "systemctl list-units --all --no-legend 'fraudstream*'; true",
      );
      assert.equal(left, "", `${vm} after uninstall: ${left}`);
    }
    log(`${elapsed()}: uninstalled; vm1 and vm3 clean`);
  } finally {
    Deno.removeSignalListener("SIGINT", interrupted);
    Deno.removeSignalListener("SIGTERM", interrupted);
    try {
      await held.lab?.down();
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  }
});
