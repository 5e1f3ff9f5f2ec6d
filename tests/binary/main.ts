import config from "../../deno.json" with { type: "json" };
import { cachedExecutable } from "../../deploy/build_cache.ts";
import { ROOT } from "../../deploy/compile.ts";
import { packRelease } from "../../deploy/release.ts";
import { hostTarget } from "../../deploy/toolchain.ts";
import { startLocalKafka } from "../../kafka/local/local_kafka.ts";

/**
 * `deno task test:binary`: the compiled product end to end. Builds this checkout's executable
 * with the pinned toolchain (reused from .cache/build/ when no source changed), packs the
 * release tarball exactly as `deno task release` does, unpacks it into an empty directory,
 * starts a local broker and runs tests/binary/binary_e2e.ts against the unpacked release.
 * Extra arguments go to `deno test` (e.g. --filter).
 */

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);
const started = performance.now();
const target = hostTarget();

let step = performance.now();
const executable = await cachedExecutable(target, (line) => console.log(line));
console.log(`== executable ready (${seconds(step)}s)`);

const work = await Deno.makeTempDir({ prefix: "fraudstream-test-binary-" });
let code = 1;
try {
  step = performance.now();
  const tarball = await packRelease({
    version: config.version,
    target,
    executable,
    root: ROOT,
    outDir: `${work}/dist`,
  });
  await Deno.mkdir(`${work}/unpacked`);
  const untar = await new Deno.Command("tar", { args: ["-xzf", tarball, "-C", `${work}/unpacked`] })
    .output();
  if (!untar.success) throw new Error(`cannot unpack ${tarball}`);
  const [release] = [...Deno.readDirSync(`${work}/unpacked`)];
  console.log(`== packed and unpacked ${tarball.split("/").at(-1)} (${seconds(step)}s)`);

  step = performance.now();
  const kafka = await startLocalKafka();
  console.log(`== broker at ${kafka.brokers.join(",")} (${seconds(step)}s)`);
  try {
    step = performance.now();
    const status = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", ...Deno.args, `${ROOT}tests/binary/binary_e2e.ts`],
      env: {
        FRAUDSTREAM_RELEASE_DIR: `${work}/unpacked/${release.name}`,
        FRAUDSTREAM_TEST_BROKERS: kafka.brokers.join(","),
      },
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    code = status.code;
    console.log(`== end-to-end test ${status.success ? "ok" : "FAILED"} (${seconds(step)}s)`);
  } finally {
    await kafka.stop();
  }
} finally {
  await Deno.remove(work, { recursive: true });
}
console.log(`== test:binary ${code === 0 ? "passed" : "FAILED"} in ${seconds(started)}s`);
Deno.exit(code);
