/**
 * The git commit a build came from. deploy/compile.ts writes this file and embeds it in the
 * executable, which has no git to ask; run from a checkout, the commit is read from git instead.
 */
export const BUILD_INFO_FILE = ".cache/build-info.json";

export interface BuildInfo {
  /** 12 hex digits, "-dirty" when tracked files differed from it, or "unknown" without git. */
  commit: string;
}

/** The checkout's commit as `git` sees it; "unknown" outside a git checkout. */
export async function gitCommit(dir: string): Promise<string> {
  const git = async (args: string[]) => {
    const out = await new Deno.Command("git", { args, cwd: dir, stdout: "piped", stderr: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  };
  try {
    const head = await git(["rev-parse", "--short=12", "HEAD"]);
    if (!head) return "unknown";
    const changes = await git(["status", "--porcelain", "--untracked-files=no"]);
    return changes ? `${head}-dirty` : head;
  } catch {
    return "unknown"; // no git installed
  }
}

/** The embedded build info in an executable, else the checkout's own. */
export async function readBuildInfo(): Promise<BuildInfo> {
  const root = new URL("../", import.meta.url);
  if (Deno.build.standalone) {
    return JSON.parse(await Deno.readTextFile(new URL(BUILD_INFO_FILE, root)));
  }
  return { commit: await gitCommit(root.pathname) };
}
