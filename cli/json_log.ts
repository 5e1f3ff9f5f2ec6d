/** Structured logs: one JSON object per line on stderr, so stdout stays for command output. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(component: string, minLevel: LogLevel = "info"): Logger {
  const encoder = new TextEncoder();
  return {
    log(level, event, fields = {}) {
      if (ORDER[level] < ORDER[minLevel]) return;
      const line = JSON.stringify({
        ts: new Date().toISOString(),
        level,
        component,
        event,
        ...fields,
      });
      Deno.stderr.writeSync(encoder.encode(line + "\n"));
    },
  };
}

export function parseLogLevel(raw: string): LogLevel | undefined {
  return raw in ORDER ? raw as LogLevel : undefined;
}
