import { UserFacingError } from "../cli/usage_error.ts";
import { denortFromCompiled } from "./denort_extract.ts";
import { type Target, TARGET_NAMES } from "./targets.ts";
import { zipMember } from "./zip_member.ts";

/**
 * The pinned compile toolchain: a `deno` that runs on this host and the `denort` runtime of the
 * same version for the target, both checked against pinned sha256 sums and cached under
 * .cache/toolchain/. `deno compile` only works when the two versions match, and pinning them
 * makes every build embed the same runtime whichever Deno the developer has installed.
 *
 * Two routes to the same bytes: the official release zips from dl.deno.land where that is
 * reachable, else Python wheels from PyPI (or the mirror pip is configured for), which is what a
 * build host that only reaches package mirrors has. PyPI's `deno` wheel carries the deno
 * executable; denort is cut out of the `bids-validator-deno` wheel, a `deno compile` output of
 * the same Deno version (see denort_extract.ts). The pinned sums are those of the binaries, so
 * either route is checked the same way.
 */

export const TOOLCHAIN_DENO_VERSION = "2.7.14";

export interface PinnedBinary {
  sha256: string;
  /** The official release zip on dl.deno.land and the file inside it. */
  official: { zip: string; member: string };
  /** The wheel pip downloads, and the file inside it. */
  pypi: { requirement: string; platform: string; member: string; compiledProgram: boolean };
}

const V = TOOLCHAIN_DENO_VERSION;
const DENORT_WHEEL_MEMBER = "bids_validator_deno-3.0.0a3.data/scripts/bids-validator-deno";

const DENO: Record<Target, PinnedBinary> = {
  "x86_64-unknown-linux-gnu": {
    sha256: "83ae80d34812cb7a4f246a21f707901b71fa937461500f5f0a2e19865115f3fb",
    official: { zip: `deno-x86_64-unknown-linux-gnu.zip`, member: "deno" },
    pypi: {
      requirement: `deno==${V}`,
      platform: "manylinux_2_27_x86_64",
      member: `deno-${V}.data/scripts/deno`,
      compiledProgram: false,
    },
  },
  "aarch64-unknown-linux-gnu": {
    sha256: "061a72feaed4b0701630b85cad98546a8ff4cbfe26a91e78b4718382237f7191",
    official: { zip: `deno-aarch64-unknown-linux-gnu.zip`, member: "deno" },
    pypi: {
      requirement: `deno==${V}`,
      platform: "manylinux_2_27_aarch64",
      member: `deno-${V}.data/scripts/deno`,
      compiledProgram: false,
    },
  },
};

const DENORT: Record<Target, PinnedBinary> = {
  "x86_64-unknown-linux-gnu": {
    sha256: "44fa11ae44592891a07ecc3967cdb091ae316a947d60929415d26dedbb8f55b7",
    official: { zip: `denort-x86_64-unknown-linux-gnu.zip`, member: "denort" },
    pypi: {
      requirement: "bids-validator-deno==3.0.0a3",
      platform: "manylinux_2_27_x86_64",
      member: DENORT_WHEEL_MEMBER,
      compiledProgram: true,
    },
  },
  "aarch64-unknown-linux-gnu": {
    sha256: "0d8efb0267594b14f4cb073f8813c456b283debf467cd36cd9e01db7eaf174f7",
    official: { zip: `denort-aarch64-unknown-linux-gnu.zip`, member: "denort" },
    pypi: {
      requirement: "bids-validator-deno==3.0.0a3",
      platform: "manylinux_2_27_aarch64",
      member: DENORT_WHEEL_MEMBER,
      compiledProgram: true,
    },
  },
};

const OFFICIAL_BASE = `https://dl.deno.land/release/v${V}`;

export type Route = "auto" | "official" | "pypi";

export interface Toolchain {
  deno: string;
  denort: string;
  /** The deno's own cache (npm, type check), apart from the developer's newer Deno. */
  denoDir: string;
  /** One line: which version, and where it came from. */
  summary: string;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readIfPinned(path: string, sha256: string): Promise<boolean> {
  try {
    return await sha256Hex(await Deno.readFile(path)) === sha256;
  } catch {
    return false;
  }
}

async function fetchOfficial(pin: PinnedBinary): Promise<Uint8Array> {
  const url = `${OFFICIAL_BASE}/${pin.official.zip}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(300_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return await zipMember(new Uint8Array(await res.arrayBuffer()), pin.official.member);
}

async function fetchPypi(pin: PinnedBinary): Promise<Uint8Array> {
  const dest = await Deno.makeTempDir({ prefix: "fraudstream-wheel-" });
  try {
    const { requirement, platform } = pin.pypi;
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("python3", {
        args: [
          "-m",
          "pip",
          "download",
          "--no-deps",
          "--only-binary=:all:",
          "--platform",
          platform,
          "--dest",
          dest,
          requirement,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch {
      throw new Error("python3 is not installed (the PyPI route runs pip download)");
    }
    if (!out.success) {
      const why = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
      throw new Error(`pip download ${requirement} (${platform}) failed: ${why}`);
    }
    const wheel = [...Deno.readDirSync(dest)].find((e) => e.name.endsWith(".whl"));
    if (!wheel) throw new Error(`pip download ${requirement} left no wheel`);
    const file = await zipMember(await Deno.readFile(`${dest}/${wheel.name}`), pin.pypi.member);
    return pin.pypi.compiledProgram ? denortFromCompiled(file) : file;
  } finally {
    await Deno.remove(dest, { recursive: true });
  }
}

/**
 * Fetches one pinned binary into `path` unless a verified copy is already there; bytes with
 * another sha256 are refused and never written.
 */
export async function ensureBinary(
  path: string,
  pin: PinnedBinary,
  fetcher: (pin: PinnedBinary) => Promise<Uint8Array>,
): Promise<void> {
  if (await readIfPinned(path, pin.sha256)) return;
  const bytes = await fetcher(pin);
  const got = await sha256Hex(bytes);
  if (got !== pin.sha256) {
    throw new Error(`${path.split("/").at(-1)} has sha256 ${got}, pinned ${pin.sha256}`);
  }
  const partial = `${path}.partial`;
  await Deno.writeFile(partial, bytes, { mode: 0o755 });
  await Deno.rename(partial, path);
}

/** Whether dl.deno.land answers for the pinned release (a HEAD request, 10 s at most). */
async function officialReachable(target: Target): Promise<string | null> {
  const url = `${OFFICIAL_BASE}/${DENORT[target].official.zip}`;
  try {
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    return res.ok ? null : `HTTP ${res.status}`;
  } catch (err) {
    // Newer Deno says "fetch failed" with the reason in `cause`: "error sending request for url
    // (...): client error (Connect): dns error: ...", of which the part after the URL is the why.
    const cause = (err as { cause?: unknown }).cause;
    const message = cause instanceof Error ? cause.message : (err as Error).message;
    return message.split("\n")[0].replace(/^error sending request for url \([^)]*\): /, "");
  }
}

export function hostTarget(): Target {
  const host = Deno.build.target;
  if (!TARGET_NAMES.includes(host as Target)) {
    throw new UserFacingError(`building needs a Linux x86_64 or aarch64 host, not ${host}`);
  }
  return host as Target;
}

/**
 * The verified toolchain for `target`, fetched on first use. `route` picks where missing
 * binaries come from: "auto" tries dl.deno.land and falls back to PyPI.
 */
export async function ensureToolchain(
  target: Target,
  route: Route,
  cacheRoot: string,
): Promise<Toolchain> {
  const host = hostTarget();
  const dir = `${cacheRoot}/toolchain/deno-${V}`;
  await Deno.mkdir(dir, { recursive: true });
  const deno = `${dir}/deno-${host}`;
  const denort = `${dir}/denort-${target}`;
  const toolchain = { deno, denort, denoDir: `${dir}/deno_dir` };
  const cached = await readIfPinned(deno, DENO[host].sha256) &&
    await readIfPinned(denort, DENORT[target].sha256);
  if (cached) {
    return { ...toolchain, summary: `toolchain deno ${V}: cached in ${dir} (sha256 verified)` };
  }

  let fallback = "";
  if (route !== "pypi") {
    const unreachable = await officialReachable(target);
    if (unreachable === null) {
      try {
        await ensureBinary(deno, DENO[host], fetchOfficial);
        await ensureBinary(denort, DENORT[target], fetchOfficial);
        return {
          ...toolchain,
          summary: `toolchain deno ${V}: official download from ${OFFICIAL_BASE} (sha256 verified)`,
        };
      } catch (err) {
        if (route === "official") {
          throw new UserFacingError(`official download failed: ${(err as Error).message}`);
        }
        fallback = `official download failed: ${(err as Error).message}`;
      }
    } else if (route === "official") {
      throw new UserFacingError(`dl.deno.land is not reachable (${unreachable})`);
    } else {
      fallback = `dl.deno.land not reachable: ${unreachable}`;
    }
  }
  try {
    await ensureBinary(deno, DENO[host], fetchPypi);
    await ensureBinary(denort, DENORT[target], fetchPypi);
  } catch (err) {
    throw new UserFacingError(
      `cannot get the deno ${V} toolchain from PyPI: ${(err as Error).message}${
        fallback ? ` (${fallback})` : ""
      }`,
    );
  }
  return {
    ...toolchain,
    summary: `toolchain deno ${V}: pinned offline toolchain from PyPI via pip (sha256 verified)${
      fallback ? `; ${fallback}` : ""
    }`,
  };
}
