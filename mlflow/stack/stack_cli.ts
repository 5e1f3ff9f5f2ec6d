import { UserFacingError } from "../../cli/usage_error.ts";
import { startMlflowStack } from "./stack.ts";

/**
 * `deno task mlflow:stack [--port N] [-- COMMAND ARGS...]`: starts PostgreSQL, the S3 server and
 * `mlflow server` (mlflow/stack/stack.ts), prints `MLFLOW_TRACKING_URI=...` on stdout once all
 * three answer, then either runs COMMAND with that variable set and stops the stack when it ends
 * (exiting with its code), or serves until SIGINT/SIGTERM. Either way all three are stopped and
 * their temporary directory removed.
 */
const USAGE = "usage: deno task mlflow:stack [--port N] [-- COMMAND ARGS...]";

function parseArgs(args: string[]): { port?: number; command: string[] } {
  const dash = args.indexOf("--");
  const own = dash < 0 ? args : args.slice(0, dash);
  const command = dash < 0 ? [] : args.slice(dash + 1);
  let port: number | undefined;
  for (let i = 0; i < own.length; i++) {
    if (own[i] === "--port" && /^\d+$/.test(own[i + 1] ?? "")) port = Number(own[++i]);
    else if (own[i] === "--help" || own[i] === "-h") {
      console.log(USAGE);
      Deno.exit(0);
    } else throw new UserFacingError(`${own[i]}: unknown argument\n${USAGE}`);
  }
  if (dash >= 0 && command.length === 0) throw new UserFacingError(`nothing after --\n${USAGE}`);
  return { port, command };
}

async function main(): Promise<number> {
  const { port, command } = parseArgs(Deno.args);
  let stopRequested: (sig: string) => void = () => {};
  const signalled = new Promise<string>((resolve) => (stopRequested = resolve));
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => stopRequested(sig));
  }
  const stack = await startMlflowStack({ port });
  try {
    console.log(`MLFLOW_TRACKING_URI=${stack.trackingUri}`);
    console.error(
      `mlflow stack: ready in ${
        (stack.startMs / 1000).toFixed(1)
      } s; artifacts ${stack.artifactsDestination} at ${stack.s3Endpoint}`,
    );
    if (command.length === 0) {
      console.error(`mlflow stack: serving until SIGINT/SIGTERM`);
      await signalled;
      return 0;
    }
    const child = new Deno.Command(command[0], {
      args: command.slice(1),
      env: { MLFLOW_TRACKING_URI: stack.trackingUri },
      stdin: "inherit",
    }).spawn();
    const ended = await Promise.race([child.status, signalled]);
    if (typeof ended === "string") {
      child.kill("SIGTERM");
      await child.status;
      return 130;
    }
    return ended.code;
  } finally {
    await stack.stop();
    console.error("mlflow stack: stopped");
  }
}

try {
  Deno.exit(await main());
} catch (err) {
  console.error(`mlflow stack: ${err instanceof Error ? err.message : err}`.split("\n")[0]);
  Deno.exit(err instanceof UserFacingError ? 2 : 1);
}
