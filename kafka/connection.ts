import { X509Certificate } from "node:crypto";
import type { FlagSpecs, ParsedFlags } from "../cli/flags.ts";
import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import { durationMs } from "../cli/values.ts";
import { KAFKA_CLIENT_KINDS, type KafkaClientKind } from "./boundary/client.ts";

/**
 * How every subcommand reaches Kafka: brokers, client id and security. Secrets never need to be
 * on the command line: the SASL password comes from FRAUDSTREAM_SASL_PASSWORD or a file.
 */
export const CONNECTION_FLAGS = {
  brokers: {
    type: "string",
    value: "HOST:PORT,...",
    description: "bootstrap brokers",
  },
  "client-id": {
    type: "string",
    value: "ID",
    description: "Kafka client id",
    default: "fraudstream",
  },
  "security-protocol": {
    type: "string",
    value: "PROTO",
    description: "plaintext | ssl | sasl_plaintext | sasl_ssl",
    default: "plaintext",
  },
  "sasl-mechanism": {
    type: "string",
    value: "MECH",
    description: "scram-sha-512 | scram-sha-256 | plain",
    default: "scram-sha-512",
  },
  "sasl-username": { type: "string", value: "USER", description: "SASL user name" },
  "sasl-password-file": {
    type: "string",
    value: "FILE",
    description: "file holding the SASL password (or set FRAUDSTREAM_SASL_PASSWORD)",
  },
  "ssl-ca-file": {
    type: "string",
    value: "FILE",
    description: "PEM CA bundle that signed the brokers' certificates",
  },
  "kafka-client": {
    type: "string",
    value: "LIB",
    description: "Kafka client library: kafkajs | platformatic (@platformatic/kafka)",
    default: "kafkajs",
  },
  "connect-timeout": {
    type: "string",
    value: "DURATION",
    description: "give up reaching the brokers after this long",
    default: "15s",
  },
} as const satisfies FlagSpecs;

export type ConnectionFlags = ParsedFlags<typeof CONNECTION_FLAGS>;

export type SecurityProtocol = "plaintext" | "ssl" | "sasl_plaintext" | "sasl_ssl";
export type SaslMechanism = "scram-sha-512" | "scram-sha-256" | "plain";

/** Connection settings after validation: what the rest of the code works with. */
export interface ConnectionSettings {
  brokers: string[];
  clientId: string;
  securityProtocol: SecurityProtocol;
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  caPem?: string;
  connectTimeoutMs: number;
  /** The client library behind the Kafka boundary; kafkajs when absent. */
  client?: KafkaClientKind;
}

const PROTOCOLS: SecurityProtocol[] = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];
const MECHANISMS: SaslMechanism[] = ["scram-sha-512", "scram-sha-256", "plain"];

/** "a:9092, b:9093" -> ["a:9092", "b:9093"], rejecting anything that is not HOST:PORT. */
export function parseBrokers(raw: string): string[] {
  const list = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0) {
    throw new UsageError(`--brokers "${raw}": expected HOST:PORT[,HOST:PORT...]`);
  }
  for (const b of list) {
    const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(b);
    if (!m || Number(m[2]) === 0 || Number(m[2]) > 65535) {
      throw new UsageError(`--brokers: "${b}" is not HOST:PORT (e.g. 127.0.0.1:9092)`);
    }
  }
  return list;
}

export async function connectionSettings(
  flags: ConnectionFlags,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Promise<ConnectionSettings> {
  if (!flags.brokers) {
    throw new UsageError("no brokers: pass --brokers HOST:PORT or set FRAUDSTREAM_BROKERS");
  }
  const protocol = flags["security-protocol"].toLowerCase() as SecurityProtocol;
  if (!PROTOCOLS.includes(protocol)) {
    throw new UsageError(
      `--security-protocol ${protocol}: expected one of ${PROTOCOLS.join(", ")}`,
    );
  }
  const settings: ConnectionSettings = {
    brokers: parseBrokers(flags.brokers),
    clientId: flags["client-id"],
    securityProtocol: protocol,
    connectTimeoutMs: durationMs("connect-timeout", flags["connect-timeout"]),
    client: kafkaClientKind(flags["kafka-client"]),
  };
  if (protocol.startsWith("sasl")) {
    const mechanism = flags["sasl-mechanism"].toLowerCase() as SaslMechanism;
    if (!MECHANISMS.includes(mechanism)) {
      throw new UsageError(
        `--sasl-mechanism ${mechanism}: expected one of ${MECHANISMS.join(", ")}`,
      );
    }
    const username = flags["sasl-username"];
    if (!username) throw new UsageError(`--security-protocol ${protocol} needs --sasl-username`);
    const password = await readPassword(flags["sasl-password-file"], env);
    settings.sasl = { mechanism, username, password };
  }
  if (flags["ssl-ca-file"]) {
    if (!protocol.endsWith("ssl")) {
      throw new UsageError("--ssl-ca-file needs --security-protocol ssl or sasl_ssl");
    }
    try {
      settings.caPem = await Deno.readTextFile(flags["ssl-ca-file"]);
    } catch (err) {
      throw new UserFacingError(`--ssl-ca-file ${flags["ssl-ca-file"]}: ${errorText(err)}`);
    }
    checkCaBundle(flags["ssl-ca-file"], settings.caPem);
  }
  return settings;
}

function kafkaClientKind(raw: string): KafkaClientKind {
  const kind = raw.toLowerCase() as KafkaClientKind;
  if (!KAFKA_CLIENT_KINDS.includes(kind)) {
    throw new UsageError(`--kafka-client ${raw}: expected one of ${KAFKA_CLIENT_KINDS.join(", ")}`);
  }
  return kind;
}

async function readPassword(
  file: string | undefined,
  env: (name: string) => string | undefined,
): Promise<string> {
  if (file) {
    try {
      return (await Deno.readTextFile(file)).replace(/\r?\n$/, "");
    } catch (err) {
      throw new UserFacingError(`--sasl-password-file ${file}: ${errorText(err)}`);
    }
  }
  const fromEnv = env("FRAUDSTREAM_SASL_PASSWORD");
  if (fromEnv) return fromEnv;
  throw new UsageError(
    "SASL needs a password: set FRAUDSTREAM_SASL_PASSWORD or --sasl-password-file",
  );
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * Refuses a CA file with no certificate, or with none valid at `now`. The TLS stack under kafkajs
 * (rustls, in Deno) does not check a trust anchor's dates, so an expired CA would be trusted here
 * while OpenSSL refuses the same chain; the operator learns it now, in one line.
 */
export function checkCaBundle(file: string, pem: string, now = Date.now()): void {
  const certificates: X509Certificate[] = [];
  for (const [block] of pem.matchAll(PEM_CERTIFICATE)) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      throw new UserFacingError(`--ssl-ca-file ${file}: holds a certificate that cannot be read`);
    }
  }
  if (certificates.length === 0) {
    throw new UserFacingError(`--ssl-ca-file ${file}: no PEM certificate in it`);
  }
  const valid = (c: X509Certificate) =>
    Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
  if (!certificates.some(valid)) {
    const c = certificates[0];
    const when = now > Date.parse(c.validTo)
      ? `expired on ${c.validTo}`
      : `is not valid before ${c.validFrom}`;
    throw new UserFacingError(
      `--ssl-ca-file ${file}: its CA certificate (${c.subject.replaceAll("\n", ", ")}) ${when}`,
    );
  }
}

/**
 * Runs `connect` (e.g. admin.connect + a metadata call) and turns a slow or failed attempt into
 * one clear line naming the brokers, within the configured connect timeout.
 */
export async function withinConnectTimeout<T>(
  s: ConnectionSettings,
  what: string,
  connect: () => Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${s.connectTimeoutMs / 1000}s`)),
      s.connectTimeoutMs,
    );
  });
  try {
    return await Promise.race([connect(), timeout]);
  } catch (err) {
    throw new UserFacingError(
      `cannot ${what} at ${s.brokers.join(",")} (${s.securityProtocol}): ${errorText(err)}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

export function errorText(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string }; code?: string };
  const base = e?.message ?? String(err);
  const cause = e?.cause?.message && !base.includes(e.cause.message) ? `: ${e.cause.message}` : "";
  return (base + cause).split("\n")[0];
}
