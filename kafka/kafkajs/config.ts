import { type KafkaConfig, logLevel, type SASLOptions } from "kafkajs";
import type { ConnectionSettings } from "../connection.ts";

/**
 * The kafkajs configuration for these settings. kafkajs' own retries stay short (about 6 s) so
 * that a request fails visibly; the boundary retries transient failures on top of them within the
 * connect timeout (admin) or the send budget (output), kafka/retry_within.ts.
 */
export function kafkaConfig(s: ConnectionSettings): KafkaConfig {
  const config: KafkaConfig = {
    brokers: s.brokers,
    clientId: s.clientId,
    connectionTimeout: Math.min(s.connectTimeoutMs, 10_000),
    authenticationTimeout: Math.min(s.connectTimeoutMs, 10_000),
    requestTimeout: 30_000,
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
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
    if (TRANSIENT_NAMES.has(String(e.name)) || e.retriable === true) return true;
    if (typeof e.message === "string" && /ECONNREFUSED|ECONNRESET|EHOSTUNREACH/.test(e.message)) {
      return true;
    }
    e = (e.originalError ?? e.cause) as Record<string, unknown> | undefined;
  }
  return false;
}
