import { parseArgs } from "node:util";
import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import { compileExecutable, parseRoute, parseTarget, ROOT } from "./compile.ts";
import { ortLibrary, type Target, TARGET_NAMES, TARGETS } from "./targets.ts";
import { sha256Hex } from "./toolchain.ts";

/**
 * `deno task release`: one tarball per Linux target, dist/fraudstream-<version>-<target>.tar.gz,
 * holding everything a plain VM needs (see deploy/README.md for the layout and why the ONNX
 * Runtime library sits beside the executable).
 *
 * `--executable PATH` packs an executable already built (`deno task compile`, or the cached build
 * of `deno task test:binary`) instead of compiling one; its target is read from its ELF header.
 */

export interface ReleaseInputs {
  version: string;
  target: Target;
  executable: string;
  /** The checkout whose model/, deploy/ and node_modules/ go into the tarball. */
  root: string;
  outDir: string;
}

/** Archive path -> source path (relative to root unless absolute), and whether it is executable. */
export function releaseFiles(inputs: ReleaseInputs): [string, string, boolean][] {
  return [
    ["fraudstream", inputs.executable, true],
    ["libonnxruntime.so.1", ortLibrary(inputs.target), false],
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

/** The checksum list inside every release, one `<sha256>  <path>` line per other file. */
export const SHA256SUMS = "SHA256SUMS";

function byPath(a: string, b: string): number {
  const pa = a.slice(66);
  const pb = b.slice(66);
  return pa < pb ? -1 : pa > pb ? 1 : 0;
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
  const found = TARGET_NAMES.find((t) => TARGETS[t].elfMachine === machine);
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
    const sums: string[] = [];
    for (const [to, from, executable] of files) {
      const dest = `${stage}/${name}/${to}`;
      await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
      await Deno.copyFile(sourcePath(inputs, from), dest);
      await Deno.chmod(dest, executable ? 0o755 : 0o644);
      sums.push(`${await sha256Hex(await Deno.readFile(dest))}  ${to}`);
    }
    // `sha256sum -c SHA256SUMS` in the unpacked directory; install.sh runs it before installing.
    await Deno.writeTextFile(
      `${stage}/${name}/${SHA256SUMS}`,
      sums.sort(byPath).join("\n") + "\n",
      {
        mode: 0o644,
      },
    );
    await Deno.chmod(`${stage}/${name}/${SHA256SUMS}`, 0o644);
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
        "out-dir": { type: "string", default: `${ROOT}dist` },
        toolchain: { type: "string", default: "auto" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.split("\n")[0] : String(err));
  }
  if (values.help) {
    console.log([
      "usage: deno task release [--target T]... [--executable PATH] [--out-dir DIR]",
      "                         [--toolchain auto|official|pypi]",
      "",
      `  --target T         ${TARGET_NAMES.join(" | ")} (default: both)`,
      "  --executable PATH  pack this fraudstream executable, built elsewhere with",
      "                     `deno task compile`, instead of compiling (target read from it)",
      "  --out-dir DIR      where the tarballs go (default dist/)",
      "  --toolchain R      where the pinned compile toolchain comes from when not cached:",
      "                     auto (dl.deno.land, else PyPI), official or pypi",
    ].join("\n"));
    return;
  }
  const targets = (values.target ?? []).map(parseTarget);
  const route = parseRoute(values.toolchain!);
  const version = await projectVersion();
  const outDir = values["out-dir"]!.replace(/\/$/, "");
  if (values.executable) {
    if (targets.length > 1) throw new UsageError("--executable packs one target, not several");
    const target = targets[0] ?? await elfTarget(values.executable);
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
  for (const target of targets.length ? targets : TARGET_NAMES) {
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
    await compileExecutable({
      target,
      output: inputs.executable,
      route,
      log: (line) => console.log(line),
    });
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
