import { parseArgs } from "node:util";
import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import { compileExecutable, ROOT } from "./compile.ts";
import { appModules, copyNodeModules } from "./deno_run_release.ts";

/**
 * `deno task release`: one tarball per Linux target, dist/fraudstream-<version>-<target>.tar.gz,
 * holding everything a plain VM needs (see deploy/README.md for the layout and why the ONNX
 * Runtime library sits beside the executable).
 *
 * `--executable PATH` packs an executable built elsewhere (e.g. on a machine where denort can be
 * downloaded) instead of compiling one here; its target is read from its ELF header.
 *
 * `--deno-run` packs no compiled executable: `fraudstream` is a launcher that runs main.ts with
 * the deno running this task, shipped beside it with the sources and node_modules. It is for
 * machines where `deno compile` cannot get its runtime; the version says so (`-deno-run`).
 */

/** ELF e_machine values and the onnxruntime-node folder for each target we ship. */
export const TARGETS = {
  "x86_64-unknown-linux-gnu": { elfMachine: 62, ortArch: "x64" },
  "aarch64-unknown-linux-gnu": { elfMachine: 183, ortArch: "arm64" },
} as const;
export type Target = keyof typeof TARGETS;

const ORT_BIN = "node_modules/.deno/onnxruntime-node@1.30.0/node_modules/onnxruntime-node/bin/" +
  "napi-v6/linux";

export interface ReleaseInputs {
  version: string;
  target: Target;
  executable: string;
  /** The checkout whose model/, deploy/ and node_modules/ go into the tarball. */
  root: string;
  outDir: string;
  /**
   * Set for a --deno-run release: `executable` is then the deno runtime (shipped as `deno`), and
   * these modules (relative to root) go under app/ with node_modules.
   */
  denoRunModules?: string[];
}

/** Archive path -> source path (relative to root unless absolute), and whether it is executable. */
export function releaseFiles(inputs: ReleaseInputs): [string, string, boolean][] {
  const ort = `${ORT_BIN}/${TARGETS[inputs.target].ortArch}/libonnxruntime.so.1`;
  const program: [string, string, boolean][] = inputs.denoRunModules
    ? [
      ["fraudstream", "deploy/fraudstream_deno_run.sh", true],
      ["deno", inputs.executable, true],
      ...inputs.denoRunModules.map((m): [string, string, boolean] => [`app/${m}`, m, false]),
    ]
    : [["fraudstream", inputs.executable, true]];
  return [
    ...program,
    ["libonnxruntime.so.1", ort, false],
    ["model/fraud-model.onnx", "model/fraud-model.onnx", false],
    ["model/model-card.md", "model/model-card.md", false],
    ["systemd/fraudstream-agent@.service", "deploy/systemd/fraudstream-agent@.service", false],
    ["systemd/fraudstream-producer.service", "deploy/systemd/fraudstream-producer.service", false],
    ["agent.env.example", "deploy/systemd/agent.env.example", false],
    ["producer.env.example", "deploy/systemd/producer.env.example", false],
    ["install.sh", "deploy/install.sh", true],
    ["README.md", "deploy/README.md", false],
  ];
}

export function releaseName(version: string, target: Target): string {
  return `fraudstream-${version}-${target}`;
}

/** Which of our targets an ELF executable was built for, or a one-line reason it is not one. */
export async function elfTarget(path: string): Promise<Target> {
  let head: Uint8Array;
  try {
    using file = await Deno.open(path);
    head = new Uint8Array(20);
    const n = await file.read(head);
    if (n === null || n < 20) throw new UserFacingError(`${path} is not an ELF executable`);
  } catch (err) {
    if (err instanceof UserFacingError) throw err;
    throw new UserFacingError(`--executable ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) {
    throw new UserFacingError(`${path} is not an ELF executable`);
  }
  const machine = head[18] | (head[19] << 8);
  const found = (Object.keys(TARGETS) as Target[]).find((t) => TARGETS[t].elfMachine === machine);
  if (!found) {
    throw new UserFacingError(`${path} is an ELF file for machine ${machine}, not a Linux target`);
  }
  return found;
}

function sourcePath(inputs: ReleaseInputs, path: string): string {
  return path.startsWith("/") ? path : `${inputs.root.replace(/\/$/, "")}/${path}`;
}

/** Fails with one line naming every absent input, so one run tells the whole story. */
export async function requireFiles(inputs: ReleaseInputs, paths: string[]): Promise<void> {
  const missing: string[] = [];
  for (const path of paths) {
    try {
      if (!(await Deno.stat(sourcePath(inputs, path))).isFile) missing.push(path);
    } catch {
      missing.push(path);
    }
  }
  if (missing.length) throw new UserFacingError(`missing ${missing.join(", ")}`);
}

/**
 * Stages the release in a temp dir beside the output and renames the finished tarball into
 * place, so dist/ never holds a half-written one. Returns the tarball's path.
 */
export async function packRelease(inputs: ReleaseInputs): Promise<string> {
  const files = releaseFiles(inputs);
  await requireFiles(inputs, files.map(([, from]) => from));
  const built = await elfTarget(inputs.executable);
  if (built !== inputs.target) {
    throw new UserFacingError(
      `${inputs.executable} is built for ${built}, not ${inputs.target}`,
    );
  }

  const name = releaseName(inputs.version, inputs.target);
  await Deno.mkdir(inputs.outDir, { recursive: true });
  const stage = await Deno.makeTempDir({ dir: inputs.outDir, prefix: ".stage-" });
  try {
    for (const [to, from, executable] of files) {
      const dest = `${stage}/${name}/${to}`;
      await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
      await Deno.copyFile(sourcePath(inputs, from), dest);
      await Deno.chmod(dest, executable ? 0o755 : 0o644);
    }
    if (inputs.denoRunModules) {
      await copyNodeModules(inputs.root, `${stage}/${name}/app`, TARGETS[inputs.target].ortArch);
    }
    // The service's dynamic user must read the unpacked tree, whatever the builder's umask.
    await chmodDirs(`${stage}/${name}`);
    const tarball = `${inputs.outDir}/${name}.tar.gz`;
    await tarStaged(stage, name, tarball);
    return tarball;
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

async function chmodDirs(dir: string): Promise<void> {
  await Deno.chmod(dir, 0o755);
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) await chmodDirs(`${dir}/${entry.name}`);
  }
}

/**
 * Tars stage/name into tarball, written beside it first and renamed into place, so the output
 * directory never holds a half-written one. Fixed owner, order and mtime: the same inputs give
 * the same tarball on any machine.
 */
export async function tarStaged(stage: string, name: string, tarball: string): Promise<void> {
  const partial = `${stage}/${name}.tar.gz`;
  const tar = await new Deno.Command("tar", {
    args: [
      "--create",
      "--gzip",
      "--file",
      partial,
      "--directory",
      stage,
      "--sort=name",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--mtime=@0",
      name,
    ],
    env: { GZIP: "-n" },
    stderr: "piped",
  }).output();
  if (!tar.success) {
    throw new UserFacingError(`tar failed: ${new TextDecoder().decode(tar.stderr)}`);
  }
  await Deno.rename(partial, tarball);
}

export async function projectVersion(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  return String(config.version);
}

export async function main(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        target: { type: "string", multiple: true },
        executable: { type: "string" },
        "deno-run": { type: "boolean" },
        "out-dir": { type: "string", default: `${ROOT}dist` },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.split("\n")[0] : String(err));
  }
  if (values.help) {
    console.log([
      "usage: deno task release [--target T]... [--executable PATH | --deno-run] [--out-dir DIR]",
      "",
      `  --target T         ${Object.keys(TARGETS).join(" | ")} (default: both)`,
      "  --executable PATH  pack this fraudstream executable, built elsewhere with",
      "                     `deno task compile`, instead of compiling (target read from it)",
      "  --deno-run         no compiled executable: ship this deno, the sources and",
      "                     node_modules, run main.ts with deno (this machine's target only)",
      "  --out-dir DIR      where the tarballs go (default dist/)",
    ].join("\n"));
    return;
  }
  const targets = (values.target ?? []) as string[];
  for (const t of targets) {
    if (!Object.hasOwn(TARGETS, t)) {
      throw new UsageError(`--target ${t}: expected one of ${Object.keys(TARGETS).join(", ")}`);
    }
  }
  const version = await projectVersion();
  const outDir = values["out-dir"]!.replace(/\/$/, "");
  if (values["deno-run"]) {
    if (values.executable) throw new UsageError("--deno-run and --executable exclude each other");
    const target = Deno.build.target as Target;
    if (!Object.hasOwn(TARGETS, target) || targets.some((t) => t !== target)) {
      throw new UsageError(`--deno-run packs the running deno, built for ${Deno.build.target}`);
    }
    const tarball = await packRelease({
      version: `${version}-deno-run`,
      target,
      executable: Deno.execPath(),
      root: ROOT,
      outDir,
      denoRunModules: await appModules(ROOT),
    });
    console.log(`packed ${tarball} (deno run, no compiled executable)`);
    return;
  }
  if (values.executable) {
    if (targets.length > 1) throw new UsageError("--executable packs one target, not several");
    const target = (targets[0] as Target | undefined) ?? await elfTarget(values.executable);
    const tarball = await packRelease({
      version,
      target,
      executable: values.executable,
      root: ROOT,
      outDir,
    });
    console.log(`packed ${tarball}`);
    return;
  }
  for (const target of (targets.length ? targets : Object.keys(TARGETS)) as Target[]) {
    const inputs = {
      version,
      target,
      executable: `${outDir}/${target}/fraudstream`,
      root: ROOT,
      outDir,
    };
    // Everything but the executable must be there before a compile that takes minutes.
    await requireFiles(
      inputs,
      releaseFiles(inputs).filter(([to]) => to !== "fraudstream").map(([, from]) => from),
    );
    await compileExecutable({ target, output: inputs.executable });
    console.log(`packed ${await packRelease(inputs)}`);
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (err) {
    console.error(`release: ${(err instanceof Error ? err.message : String(err)).split("\n")[0]}`);
    Deno.exit(err instanceof UsageError ? 2 : 1);
  }
}
