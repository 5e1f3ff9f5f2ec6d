/**
 * The programs `deno task test` runs besides deno, each with the Debian package that provides
 * it. tests/suite.ts checks them first, so a machine without one fails at once in one line
 * naming what to install, rather than test by test half-way through (or, worse, by skipping).
 */
export const TOOLS: Readonly<Record<string, string>> = {
  java: "openjdk-17-jdk-headless", // the local Kafka broker
  mvn: "maven", // fetches the broker's jars
  python3: "python3-venv", // the trainer's tests, in a venv
  openssl: "openssl", // TLS material for the SASL_SSL tests
  "systemd-analyze": "systemd", // the units, as systemd reads them
  strace: "strace", // the syscalls the runtime makes, against the units' filter
  setpriv: "util-linux", // runs that workload as an unprivileged user
  readelf: "binutils", // the release's bundled native libraries
  tar: "tar", // release tarballs
  hostname: "hostname", // install.sh names instances after the host
  setsid: "util-linux", // the MLflow stack's servers, each in a process group it stops whole
  runuser: "util-linux", // the stack's PostgreSQL, as nobody under root
  pgrep: "procps", // the stack test checks that none of its processes is left
};

/** The names in TOOLS that no directory of `path` (a PATH value) holds as an executable file. */
export async function missingTools(path: string): Promise<string[]> {
  const dirs = path.split(":").filter((d) => d !== "");
  const missing: string[] = [];
  for (const tool of Object.keys(TOOLS)) {
    let found = false;
    for (const dir of dirs) {
      const info = await Deno.stat(`${dir}/${tool}`).catch(() => null);
      if (info?.isFile && (info.mode ?? 0) & 0o111) {
        found = true;
        break;
      }
    }
    if (!found) missing.push(tool);
  }
  return missing;
}
