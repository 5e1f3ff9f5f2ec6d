import { UserFacingError } from "../../cli/usage_error.ts";
import {
  freePort,
  type LocalProcess,
  randomSecret,
  spawnLogged,
  waitReady,
} from "./local_process.ts";

/**
 * A throwaway PostgreSQL server: Debian's `postgresql` binaries, a cluster made with initdb in
 * `dir`, listening on a free port of 127.0.0.1 only, password (SCRAM) authentication. PostgreSQL
 * refuses to run as root, so under root (tests, CI) it runs as `nobody` through runuser.
 */
export interface LocalPostgres {
  readonly port: number;
  /** postgresql+psycopg2://USER:PASSWORD@127.0.0.1:PORT/DATABASE (SQLAlchemy names the driver) */
  readonly url: string;
  stop(): Promise<void>;
}

const USER = "mlflow";
const DATABASE = "mlflow";
const RUN_AS = "nobody";

export async function startPostgres(dir: string): Promise<LocalPostgres> {
  const bin = await postgresBin();
  const root = Deno.uid() === 0;
  const asUser = (cmd: string, args: string[]): [string, string[]] =>
    root ? ["runuser", ["-u", RUN_AS, "--", cmd, ...args]] : [cmd, args];
  const data = `${dir}/pgdata`;
  await Deno.mkdir(dir, { recursive: true });
  const password = randomSecret();
  const pwfile = `${dir}/pwfile`;
  await Deno.writeTextFile(pwfile, password + "\n", { mode: 0o600 });
  if (root) {
    const { uid, gid } = await userIds(RUN_AS);
    await Deno.chown(dir, uid, gid);
    await Deno.chown(pwfile, uid, gid);
  }
  const [initCmd, initArgs] = asUser(`${bin}/initdb`, [
    "-D",
    data,
    "-U",
    USER,
    "--pwfile",
    pwfile,
    "--auth",
    "scram-sha-256",
    "-E",
    "UTF8",
    "--no-instructions",
  ]);
  const init = await new Deno.Command(initCmd, { args: initArgs, stdout: "piped", stderr: "piped" })
    .output();
  await Deno.remove(pwfile);
  if (!init.success) {
    throw new Error(`initdb failed: ${new TextDecoder().decode(init.stderr).trim()}`);
  }
  const port = freePort();
  const [cmd, args] = asUser(`${bin}/postgres`, [
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
  ]);
  const proc: LocalProcess = await spawnLogged("postgres", cmd, args, `${dir}/postgres.log`);
  const env = { PGPASSWORD: password };
  const client = ["-h", "127.0.0.1", "-p", String(port), "-U", USER];
  try {
    await waitReady(proc, async () => {
      const out = await new Deno.Command(`${bin}/pg_isready`, {
        args: [...client, "-d", "postgres"],
        stdout: "null",
        stderr: "null",
      }).output();
      return out.success;
    }, 60_000);
    const created = await new Deno.Command(`${bin}/createdb`, {
      args: [...client, DATABASE],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!created.success) {
      throw new Error(`createdb failed: ${new TextDecoder().decode(created.stderr).trim()}`);
    }
  } catch (err) {
    await proc.stop("SIGINT");
    throw err;
  }
  return {
    port,
    url: `postgresql+psycopg2://${USER}:${password}@127.0.0.1:${port}/${DATABASE}`,
    // SIGINT is PostgreSQL's fast shutdown: clients are disconnected, the cluster is left clean.
    stop: () => proc.stop("SIGINT"),
  };
}

/**
 * The newest /usr/lib/postgresql/N/bin; under root, Debian's package is installed when absent
 * (apt-get), as CI and a fresh machine need.
 */
async function postgresBin(): Promise<string> {
  const found = await newestBin();
  if (found) return found;
  if (Deno.uid() !== 0) {
    throw new UserFacingError(
      "the MLflow stack needs PostgreSQL: install Debian's postgresql package (apt install postgresql)",
    );
  }
  const install = ["install", "-y", "-q", "--no-install-recommends", "postgresql"];
  let out = await apt(install);
  if (!out.success) {
    // A fresh machine has no package lists yet.
    await apt(["update", "-q"]);
    out = await apt(install);
  }
  if (!out.success) {
    throw new UserFacingError(
      `apt-get could not install postgresql: ${
        new TextDecoder().decode(out.stderr).trim().split("\n").pop()
      }`,
    );
  }
  const installed = await newestBin();
  if (!installed) throw new UserFacingError("postgresql installed but no initdb found");
  return installed;
}

function apt(args: string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command("apt-get", {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "piped",
  }).output();
}

async function newestBin(): Promise<string | null> {
  const versions: number[] = [];
  try {
    for await (const e of Deno.readDir("/usr/lib/postgresql")) {
      if (/^\d+$/.test(e.name)) versions.push(Number(e.name));
    }
  } catch {
    return null;
  }
  for (const v of versions.sort((a, b) => b - a)) {
    const bin = `/usr/lib/postgresql/${v}/bin`;
    if (await Deno.stat(`${bin}/initdb`).then(() => true, () => false)) return bin;
  }
  return null;
}

async function userIds(user: string): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => {
    const out = await new Deno.Command("id", { args: [flag, user], stdout: "piped" }).output();
    if (!out.success) throw new Error(`no user ${user} to run PostgreSQL as`);
    return Number(new TextDecoder().decode(out.stdout).trim());
  };
  return { uid: await id("-u"), gid: await id("-g") };
}
