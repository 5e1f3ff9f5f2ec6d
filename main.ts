import { UsageError } from "./cli/usage_error.ts";

type CommandMain = (argv: string[]) => Promise<number>;

/** Every subcommand, loaded on demand so that `fraudstream agent` does not load the generator. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandMain> }> = {
  topics: {
    summary: "create or describe the project's topics (idempotent)",
    load: async () => (await import("./kafka/topics_command.ts")).command.main,
  },
  ping: {
    summary: "round-trip a few records through a topic (checks brokers and credentials)",
    load: async () => (await import("./kafka/ping_command.ts")).command.main,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    "fraudstream: score a Kafka stream of card transactions with an ONNX fraud model",
    "",
    "usage: fraudstream <command> [flags]     (fraudstream <command> --help for its flags)",
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
  // kafkajs leaves retry timers behind after a failure; the command's answer is final.
  Deno.exit(code);
}
