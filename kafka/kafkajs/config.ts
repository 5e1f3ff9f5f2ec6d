import { type KafkaConfig, logLevel, type SASLOptions } from "kafkajs";
import type { ConnectionSettings } from "../connection.ts";

/**
 * kafkajs' retries of a connection or metadata request, under every other retry: short (about
 * 0.6 s), so that a refused certificate or password is reported at once and a refused connection
 * comes back to the boundary's own retry (kafka/retry_within.ts) within the connect timeout.
 */
const CONNECT_RETRY = { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 };

/** kafkajs' retries of an admin request or a consumer's fetch loop (about 6 s, its default). */
export const REQUEST_RETRY = { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 };

/** The kafkajs configuration for these settings. */
export function kafkaConfig(s: ConnectionSettings): KafkaConfig {
  const config: KafkaConfig = {
    brokers: s.brokers,
    clientId: s.clientId,
    connectionTimeout: Math.min(s.connectTimeoutMs, 10_000),
    authenticationTimeout: Math.min(s.connectTimeoutMs, 10_000),
    requestTimeout: 30_000,
    logLevel: logLevel.NOTHING,
    retry: CONNECT_RETRY,
  };
  if (s.securityProtocol === "ssl" || s.securityProtocol === "sasl_ssl") {
    config.ssl = s.caPem ? { ca: [s.caPem] } : true;
  }
  if (s.sasl) {
    config.sasl = {
      mechanism: s.sasl.mechanism,
      username: s.sasl.username,
      password: s.sasl.password,
    } as SASLOptions;
  }
  return config;
}

/**
 * kafkajs' retry settings whose waits add up to at least `budgetMs`: waits start at 300 ms and
 * double (randomised by up to 20% down) to at most 5 s. kafkajs retries a send itself, resending
 * only to the brokers that failed, so a leader failover within the budget costs no record.
 */
export function sendRetry(budgetMs: number) {
  const initialRetryTime = 300;
  const maxRetryTime = 5_000;
  let retries = 0;
  for (let wait = initialRetryTime, total = 0; total < budgetMs; retries++) {
    total += 0.8 * wait;
    wait = Math.min(wait * 2, maxRetryTime);
  }
  return { retries, initialRetryTime, maxRetryTime };
}

const TLS_REFUSAL = /certificate|self[- ]signed|unable to verify|CERT_|wrong version number/i;

const TRANSIENT_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSBrokerNotFound",
  "KafkaJSNumberOfRetriesExceeded",
  "KafkaJSRequestTimeoutError",
  "KafkaJSMetadataNotLoaded",
  "KafkaJSLockTimeout",
  "KafkaJSStaleTopicMetadataAssignment",
]);

/**
 * Whether a kafkajs error is one a broker restart or leader failover causes (refused or dropped
 * connections, timeouts, a leader not yet elected): worth another try later. kafkajs wraps the
 * cause in `originalError` or `cause`; a protocol error says so itself with `retriable`.
 */
export function isTransient(err: unknown): boolean {
  for (let e = err as Record<string, unknown> | undefined, depth = 0; e && depth < 5; depth++) {
    // A certificate the client refuses stays refused: kafkajs reports it as a connection error.
    if (typeof e.message === "string" && TLS_REFUSAL.test(e.message)) return false;
    if (TRANSIENT_NAMES.has(String(e.name)) || e.retriable === true) return true;
    if (typeof e.message === "string" && /ECONNREFUSED|ECONNRESET|EHOSTUNREACH/.test(e.message)) {
      return true;
    }
    e = (e.originalError ?? e.cause) as Record<string, unknown> | undefined;
  }
  return false;
}
