import { UsageError } from "./cli/usage_error.ts";

type CommandMain = (argv: string[]) => Promise<number>;

/** Every subcommand, loaded on demand so that `fraudstream agent` does not load the generator. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandMain> }> = {
  agent: {
    summary: "score the transactions topic in a consumer group and write predictions",
    load: async () => (await import("./agent/agent_command.ts")).command.main,
  },
  topics: {
    summary: "create or describe the project's topics (idempotent)",
    load: async () => (await import("./kafka/topics_command.ts")).command.main,
  },
  ping: {
    summary: "round-trip a few records through a topic (checks brokers and credentials)",
    load: async () => (await import("./kafka/ping_command.ts")).command.main,
  },
  generate: {
    summary: "write simulated retrospective day files (Handbook statistics, optional dirt)",
    load: async () => (await import("./producer/generate_command.ts")).command.main,
  },
  produce: {
    summary: "replay day files into the transactions topic at a set rate, with label feedback",
    load: async () => (await import("./producer/produce_command.ts")).command.main,
  },
  features: {
    summary: "compute the training feature matrix of retrospective files (the agent's engine)",
    load: async () => (await import("./features/export_command.ts")).command.main,
  },
  fleet: {
    summary: "one table of every agent's stats (rate, lag, p99, DLQ) and the group's Kafka lag",
    load: async () => (await import("./fleet/fleet_command.ts")).command.main,
  },
  capacity: {
    summary: "find the input rate at which consumer lag starts to grow; size the agent fleet",
    load: async () => (await import("./capacity/capacity_command.ts")).command.main,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    "fraudstream: score a Kafka stream of card transactions with an ONNX fraud model",
    "",
    "usage: fraudstream <command> [flags]     (fraudstream <command> --help for its flags)",
    "       fraudstream --version             (build, runtime, model and feature list)",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") {
    console.log(await (await import("./cli/version.ts")).versionText());
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    throw new UsageError(
      `unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(", ")})`,
    );
  }
  return await (await entry.load())(rest);
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`fraudstream: ${message.split("\n")[0]}`);
    if (Deno.env.get("FRAUDSTREAM_DEBUG") && err instanceof Error) console.error(err.stack);
    code = err instanceof UsageError ? 2 : 1;
  }
  // A Kafka client can leave retry timers behind after a failure; the command's answer is final.
  Deno.exit(code);
}
