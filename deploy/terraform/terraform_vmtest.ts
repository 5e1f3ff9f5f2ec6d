import assert from "node:assert/strict";

/**
 * The Terraform roots with OpenTofu built from its Go module (deploy/terraform/tofu.sh): every
 * file is `tofu fmt` clean, the vmlab root validates, and `tofu apply` of the vmlab root brings
 * up an emulated VM that answers over ssh, which `tofu destroy` removes again. The yandex root
 * cannot be validated here (its provider is not served; see README.md). Part of
 * `deno task test:dag`, as root; the lab is fsaf on 10.78.0, beside any fsvm lab.
 */

const HERE = new URL(".", import.meta.url).pathname;
const TOFU = `${HERE}tofu.sh`;
const PREFIX = "fsaf";
const SUBNET = "10.78.0";

async function tofu(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command("bash", {
    args: [TOFU, ...args],
    env: { TF_IN_AUTOMATION: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("every root and module is tofu fmt clean; the vmlab root validates", async () => {
  const fmt = await tofu(["fmt", "-check", "-recursive", "-diff", HERE]);
  assert.equal(fmt.code, 0, fmt.stdout + fmt.stderr);
  const data = await Deno.makeTempDir({ prefix: "fraudstream-tofu-" });
  try {
    const env = { TF_DATA_DIR: data };
    const init = await tofu([`-chdir=${HERE}vmlab`, "init", "-input=false", "-no-color"], env);
    assert.equal(init.code, 0, init.stderr);
    const validate = await tofu([`-chdir=${HERE}vmlab`, "validate", "-no-color"], env);
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test({
  name: "tofu apply of the vmlab root makes the fleet, tofu destroy removes it",
  ignore: Deno.uid() !== 0, // the lab needs root
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const work = await Deno.makeTempDir({ prefix: "fraudstream-tofu-" });
  const env = { TF_DATA_DIR: `${work}/data` };
  const root = `-chdir=${HERE}vmlab`;
  const state = `-state=${work}/terraform.tfstate`;
  // An existing Kafka by address: no broker VM, so the round trip stays short.
  const vars = [
    "-var=vm_count=1",
    "-var=vcpu=0.25",
    "-var=memory_mb=512",
    "-var=agents_per_vm=2",
    "-var=kafka_brokers=10.78.0.1:9092",
    `-var=prefix=${PREFIX}`,
    `-var=subnet=${SUBNET}`,
  ];
  try {
    assert.equal((await tofu([root, "init", "-input=false"], env)).code, 0);
    const apply = await tofu([root, "apply", "-auto-approve", "-no-color", state, ...vars], env);
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    const out = JSON.parse((await tofu([root, "output", "-json", state], env)).stdout);
    assert.deepEqual(out.vms.value, { vm1: `${SUBNET}.11` });
    assert.deepEqual(out.stats_urls.value, [
      `http://${SUBNET}.11:8081`,
      `http://${SUBNET}.11:8082`,
    ]);
    assert.equal(out.kafka_brokers.value, "10.78.0.1:9092");
    const ssh = await new Deno.Command("ssh", {
      args: ["-F", out.ssh_config.value, "vm1", "hostname"],
      stdout: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(ssh.stdout).trim(), "vm1");

    const destroy = await tofu(
      [root, "destroy", "-auto-approve", "-no-color", state, ...vars],
      env,
    );
    assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
    await assert.rejects(Deno.stat(`/run/fraudstream-vmlab-${PREFIX}`));
    const netns = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" })
      .output();
    assert.doesNotMatch(new TextDecoder().decode(netns.stdout), new RegExp(`^${PREFIX}-`, "m"));
  } finally {
    // Whatever failed above, no VM of this test outlives it.
    await new Deno.Command("bash", {
      args: [`${HERE}../vmlab/vmlab.sh`, "--prefix", PREFIX, "down"],
      stdout: "null",
      stderr: "null",
    }).output();
    await Deno.remove(work, { recursive: true });
  }
});
