import { type Lab, startLab, waitAgentsReady } from "../deploy/vmlab/lab.ts";
import { releaseForVms } from "../deploy/vmlab/release_for_vms.ts";

/**
 * `deno task demo --vms` (as root): the operator's story on emulated VMs (deploy/vmlab). Two
 * VMs of 0.5 vCPU and a broker VM; the release installed over ssh with install.sh, two agents per
 * VM under systemd; the fleet table while 400 tx/s flow in from this machine; one VM's agents
 * stopped with systemctl, the other VM powered off, and the fleet table each time. Everything is
 * taken down at the end, also on Ctrl-C.
 */
const main = new URL("../main.ts", import.meta.url).pathname;
const install = new URL("../deploy/install.sh", import.meta.url).pathname;
const HOLIDAY_RATE = 400;

function heading(text: string): void {
  console.log(`\n== ${text}`);
}

/** Runs a command with the terminal as its output, echoing it first. */
async function show(cmd: string, args: string[], env: Record<string, string> = {}) {
  console.log(`$ ${[cmd, ...args].map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(" ")}`);
  const [exe, ...rest] = cmd === "fraudstream" ? [Deno.execPath(), "run", "-A", main] : [cmd];
  const out = await new Deno.Command(exe, {
    args: [...rest, ...args],
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`${cmd} ${args[0]} exited with ${out.code}`);
}

export async function vmsDemo(): Promise<number> {
  const started = performance.now();
  const work = await Deno.makeTempDir({ prefix: "fraudstream-demo-vms-" });
  let lab: Lab | undefined;
  const interrupted = async () => {
    console.error("\ndemo: interrupted, taking the VMs down");
    await lab?.down().catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupted);
  try {
    heading("Two VMs of 0.5 vCPU and 1 GiB, and a broker VM running Kafka (deploy/vmlab)");
    // Both settle before either result is used, so a lab that came up is always known here.
    const starting = startLab({ vms: 2, vcpu: 0.5, memory: "1G", broker: true })
      .then((l) => (lab = l));
    const releasing = releaseForVms(work);
    await Promise.allSettled([starting, releasing]);
    const [up, release] = [await starting, await releasing];
    console.log(
      `VMs ${up.vms.map((vm) => `${vm} (${up.ips[vm]})`).join(", ")}; Kafka at ${up.brokers}`,
    );
    console.log(`release: ${release} (compiled executable)`);
    const env = { FRAUDSTREAM_BROKERS: up.brokers };
    const ssh = ["-F", up.sshConfig];
    await show("fraudstream", ["topics", "--partitions", "4"], env);
    await show("fraudstream", ["generate", "--out", `${work}/data`, "--days", "2"], env);

    heading("install.sh over ssh: two agents per VM under systemd");
    for (const vm of up.vms) {
      await show("bash", [
        install,
        vm,
        "2",
        "--ssh-config",
        up.sshConfig,
        "--tarball",
        release,
        "--brokers",
        up.brokers,
      ]);
    }
    await show("ssh", [
      ...ssh,
      "vm1",
      "systemctl",
      "is-active",
      "fraudstream-agent@1",
      "fraudstream-agent@2",
    ]);
    const urls = up.vms.flatMap((vm) => [1, 2].map((i) => `${up.ips[vm]}:${8080 + i}`));
    await waitAgentsReady(urls);

    heading(`${HOLIDAY_RATE} tx/s from this machine for 20 s, then the fleet`);
    await show("fraudstream", [
      "produce",
      "--rate",
      String(HOLIDAY_RATE),
      "--limit",
      String(HOLIDAY_RATE * 20),
      "--http",
      "off",
      `${work}/data`,
    ], env);
    await show("fraudstream", ["fleet", "--agents", urls.join(",")], env);

    heading("systemctl stop on vm1: its partitions move to vm2");
    await show("ssh", [
      ...ssh,
      "vm1",
      "systemctl",
      "stop",
      "fraudstream-agent@1",
      "fraudstream-agent@2",
    ]);
    await new Promise((r) => setTimeout(r, 5000));
    await show("fraudstream", ["fleet", "--agents", urls.join(",")], env);

    heading("vm2 loses power; vm1 is started again and takes every partition");
    await show("bash", [
      new URL("../deploy/vmlab/vmlab.sh", import.meta.url).pathname,
      "kill",
      "vm2",
    ]);
    await show("ssh", [
      ...ssh,
      "vm1",
      "systemctl",
      "start",
      "fraudstream-agent@1",
      "fraudstream-agent@2",
    ]);
    // The broker drops vm2's agents from the group when their 30 s session runs out.
    await new Promise((r) => setTimeout(r, 35_000));
    await show("fraudstream", ["fleet", "--agents", urls.join(",")], env);

    heading("install.sh --uninstall on vm1");
    await show("bash", [install, "vm1", "--uninstall", "--ssh-config", up.sshConfig]);
    console.log(`\ndemo finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return 0;
  } catch (err) {
    console.error(`demo: ${err instanceof Error ? err.message : err}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", interrupted);
    await lab?.down().catch((e) => console.error(`demo: ${e.message}`));
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}
