/**
 * The Python baseline consumer (bench/python_consumer/consumer.py) as a child process, in its own
 * venv: what the identity test and `deno task bench agent-cpu --python` start.
 */

const here = new URL(".", import.meta.url).pathname;

/** Creates or reuses bench/python_consumer/.venv (idempotent; pip only when requirements change). */
export async function setupPythonConsumer(): Promise<void> {
  const out = await new Deno.Command("bash", {
    args: [`${here}setup_venv.sh`],
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`bench/python_consumer/setup_venv.sh: ${new TextDecoder().decode(out.stderr)}`);
  }
}

export interface PythonConsumerOptions {
  brokers: string[];
  /** Prefix of the transactions and labels topics it reads. */
  topicPrefix: string;
  /** Prefix of the predictions and DLQ topics it writes. */
  outputPrefix: string;
  group: string;
  /** Where its stderr goes: piped for a test to report, inherited for a bench run. */
  stderr: "piped" | "inherit";
}

/** Starts the consumer; SIGTERM stops it after its batch, with its offsets committed. */
export function spawnPythonConsumer(options: PythonConsumerOptions): Deno.ChildProcess {
  return new Deno.Command(`${here}.venv/bin/python`, {
    args: [
      `${here}consumer.py`,
      "--brokers",
      options.brokers.join(","),
      "--topic-prefix",
      options.topicPrefix,
      "--output-prefix",
      options.outputPrefix,
      "--group",
      options.group,
    ],
    stdin: "null",
    stdout: "null",
    stderr: options.stderr,
  }).spawn();
}
