import { UserFacingError } from "../cli/usage_error.ts";

/**
 * What a `--deno-run` release ships in app/: every local module main.ts loads (statically or by
 * a literal dynamic import), as `deno info` resolves them, plus the config and lockfile. Paths
 * are relative to root. Tests, benches and the demo are not in the graph, so they stay out.
 */
export async function appModules(root: string): Promise<string[]> {
  const base = new URL(root.endsWith("/") ? root : `${root}/`, "file:///");
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: base.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!info.success) {
    const err = new TextDecoder().decode(info.stderr).trim().split("\n").at(-1);
    throw new UserFacingError(`deno info main.ts failed: ${err}`);
  }
  const graph = JSON.parse(new TextDecoder().decode(info.stdout)) as {
    modules: { specifier: string }[];
  };
  const local = graph.modules.map((m) => m.specifier).filter((s) => s.startsWith(base.href))
    .map((s) => decodeURIComponent(s.slice(base.href.length)));
  return [...new Set([...local, "deno.json", "deno.lock"])].sort();
}

/**
 * Copies root/node_modules (symlinks kept: deno's layout links packages into .deno/) into
 * appDir, without onnxruntime-node's native builds for other systems and CPUs, which are most
 * of its size.
 */
export async function copyNodeModules(
  root: string,
  appDir: string,
  ortArch: string,
): Promise<void> {
  const cp = await new Deno.Command("cp", {
    args: ["-a", `${root.replace(/\/$/, "")}/node_modules`, appDir],
    stderr: "piped",
  }).output();
  if (!cp.success) {
    throw new UserFacingError(
      `copying node_modules failed: ${new TextDecoder().decode(cp.stderr).trim()}`,
    );
  }
  for await (const pkg of Deno.readDir(`${appDir}/node_modules/.deno`)) {
    if (!pkg.name.startsWith("onnxruntime-node@")) continue;
    const bin =
      `${appDir}/node_modules/.deno/${pkg.name}/node_modules/onnxruntime-node/bin/napi-v6`;
    for await (const os of Deno.readDir(bin)) {
      if (os.name !== "linux") await Deno.remove(`${bin}/${os.name}`, { recursive: true });
    }
    for await (const arch of Deno.readDir(`${bin}/linux`)) {
      if (arch.name !== ortArch) {
        await Deno.remove(`${bin}/linux/${arch.name}`, { recursive: true });
      }
    }
  }
}
