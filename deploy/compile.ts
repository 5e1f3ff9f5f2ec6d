import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BUILD_INFO_FILE, gitCommit } from "../cli/build_info.ts";
import { V8_FLAGS } from "../cli/v8_flags.ts";
import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import {
  ORT_LIBRARY,
  ORT_NATIVE_DIR,
  ortExcludes,
  ortLibrary,
  type Target,
  TARGET_NAMES,
} from "./targets.ts";
import { ensureToolchain, hostTarget, type Route, TOOLCHAIN_DENO_VERSION } from "./toolchain.ts";

/**
 * `deno task compile [--target T] [--output PATH] [--toolchain auto|official|pypi]`: builds the
 * one fraudstream executable with the pinned Deno toolchain (deploy/toolchain.ts), whatever Deno
 * runs this task, then runs it once to prove it is fraudstream and not a bare runtime.
 */

export const ROOT = new URL("..", import.meta.url).pathname;

export interface CompileOptions {
  target: Target;
  output: string;
  route?: Route;
  /** Progress lines (which toolchain, what was built); the task prints them. */
  log?: (line: string) => void;
}

/** The os/arch folders onnxruntime-node ships native files for, e.g. "linux/x64". */
function ortPlatformDirs(): string[] {
  const dirs: string[] = [];
  try {
    for (const os of Deno.readDirSync(`${ROOT}${ORT_NATIVE_DIR}`)) {
      for (const arch of Deno.readDirSync(`${ROOT}${ORT_NATIVE_DIR}/${os.name}`)) {
        dirs.push(`${os.name}/${arch.name}`);
      }
    }
  } catch {
    throw new UserFacingError("node_modules/ lacks onnxruntime-node: run `deno install` first");
  }
  return dirs;
}

export async function compileExecutable(opts: CompileOptions): Promise<void> {
  const target = opts.target;
  const output = resolve(opts.output);
  await Deno.mkdir(dirname(output), { recursive: true });
  const log = opts.log ?? (() => {});
  const toolchain = await ensureToolchain(target, opts.route ?? "auto", `${ROOT}.cache`);
  log(toolchain.summary);

  const commit = await gitCommit(ROOT);
  await Deno.writeTextFile(`${ROOT}${BUILD_INFO_FILE}`, JSON.stringify({ commit }) + "\n");
  const excludes = ortExcludes(target, ortPlatformDirs()).flatMap((p) => ["--exclude", p]);
  const compile = await new Deno.Command(toolchain.deno, {
    args: [
      "compile",
      "--frozen",
      "--allow-all",
      V8_FLAGS,
      "--target",
      target,
      "--include",
      "model/fraud-model.onnx",
      // The model's Worker (--model-worker) is a module main.ts does not import.
      "--include",
      "agent/onnx_worker_main.ts",
      "--include",
      BUILD_INFO_FILE,
      ...excludes,
      "--output",
      output,
      "main.ts",
    ],
    cwd: ROOT,
    env: { DENORT_BIN: toolchain.denort, DENO_DIR: toolchain.denoDir, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!compile.success) {
    const text = new TextDecoder().decode(compile.stderr).trim();
    // A type error's own line says more than the "Type checking failed" that follows it.
    const lines = text.split("\n").map((l) => l.trim());
    const error = lines.find((l) => /^TS\d+ \[ERROR\]|^error/.test(l)) ?? lines.at(-1);
    throw new UserFacingError(`deno ${TOOLCHAIN_DENO_VERSION} compile failed: ${error}`);
  }
  // It runs only with its ONNX Runtime beside it (agent/onnxruntime_preload.ts), as released.
  await Deno.copyFile(`${ROOT}${ortLibrary(target)}`, join(dirname(output), ORT_LIBRARY));
  const mb = ((await Deno.stat(output)).size / 1e6).toFixed(1);
  log(`built ${output} for ${target}: ${mb} MB (+ ${ORT_LIBRARY} beside it), commit ${commit}`);

  if (target !== hostTarget()) {
    log(`not run: this ${hostTarget()} machine cannot run ${target} executables`);
    return;
  }
  const probe = await new Deno.Command(output, {
    args: ["--version"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(probe.stdout);
  if (!probe.success || !text.startsWith("fraudstream ")) {
    await Deno.remove(output);
    throw new UserFacingError(
      `the built executable does not run as fraudstream: ${
        new TextDecoder().decode(probe.stderr).trim().split("\n")[0]
      }`,
    );
  }
  for (const line of text.trim().split("\n")) log(`  ${line}`);
}

export function parseTarget(value: string): Target {
  if (!(TARGET_NAMES as string[]).includes(value)) {
    throw new UsageError(`--target ${value}: expected one of ${TARGET_NAMES.join(", ")}`);
  }
  return value as Target;
}

export function parseRoute(value: string): Route {
  if (value !== "auto" && value !== "official" && value !== "pypi") {
    throw new UsageError(`--toolchain ${value}: expected auto, official or pypi`);
  }
  return value;
}

if (import.meta.main) {
  try {
    let values;
    try {
      ({ values } = parseArgs({
        args: Deno.args,
        options: {
          target: { type: "string" },
          output: { type: "string" },
          toolchain: { type: "string", default: "auto" },
        },
        strict: true,
      }));
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message.split("\n")[0] : String(err));
    }
    const target = values.target === undefined ? hostTarget() : parseTarget(values.target);
    await compileExecutable({
      target,
      output: values.output ?? `${ROOT}dist/${target}/fraudstream`,
      route: parseRoute(values.toolchain!),
      log: (line) => console.log(line),
    });
  } catch (err) {
    console.error(`compile: ${(err instanceof Error ? err.message : String(err)).split("\n")[0]}`);
    Deno.exit(err instanceof UsageError ? 2 : 1);
  }
}
