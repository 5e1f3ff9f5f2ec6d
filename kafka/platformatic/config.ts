import type { BaseOptions } from "@platformatic/kafka";
import type { ConnectionSettings } from "../connection.ts";

const MECHANISMS = {
  "scram-sha-512": "SCRAM-SHA-512",
  "scram-sha-256": "SCRAM-SHA-256",
  plain: "PLAIN",
} as const;

/**
 * The @platformatic/kafka options for these settings. Its own retries stay short (3 tries a second
 * apart) so that a request fails visibly; the boundary retries transient failures on top of them
 * within the connect timeout (admin) or the send budget (output), kafka/retry_within.ts. Its
 * default request timeout (5 s) is shorter than a produce with acks=all takes on a busy machine.
 */
export function platformaticOptions(s: ConnectionSettings): BaseOptions {
  const options: BaseOptions = {
    clientId: s.clientId,
    bootstrapBrokers: s.brokers,
    connectTimeout: Math.min(s.connectTimeoutMs, 10_000),
    timeout: 30_000,
    requestTimeout: 30_000,
    retries: 3,
    retryDelay: 1_000,
    autocreateTopics: false,
  };
  if (s.securityProtocol === "ssl" || s.securityProtocol === "sasl_ssl") {
    options.tls = s.caPem ? { ca: s.caPem } : {};
  }
  if (s.sasl) {
    options.sasl = {
      mechanism: MECHANISMS[s.sasl.mechanism],
      username: s.sasl.username,
      password: s.sasl.password,
    };
  }
  return options;
}

type ErrorLike = {
  message?: string;
  code?: string;
  apiId?: string;
  canRetry?: boolean;
  errors?: unknown[];
  cause?: unknown;
};

/** Every error of a @platformatic/kafka error tree (MultipleErrors nest their causes). */
function* errorTree(err: unknown, depth = 0): Generator<ErrorLike> {
  if (!err || typeof err !== "object" || depth > 6) return;
  const e = err as ErrorLike;
  yield e;
  for (const inner of e.errors ?? []) yield* errorTree(inner, depth + 1);
  if (e.cause) yield* errorTree(e.cause, depth + 1);
}

const TRANSIENT_API_ERRORS = new Set([
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_OR_FOLLOWER",
  "COORDINATOR_NOT_AVAILABLE",
  "COORDINATOR_LOAD_IN_PROGRESS",
  "NOT_COORDINATOR",
  "NOT_ENOUGH_REPLICAS",
  "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
  "REQUEST_TIMED_OUT",
  "UNKNOWN_TOPIC_OR_PARTITION",
  // An offset fetch with requireStable while a transaction with offsets is open.
  "UNSTABLE_OFFSET_COMMIT",
]);

/**
 * Whether an error is one a broker restart or leader failover causes (refused or dropped
 * connections, timeouts, a leader not yet elected): worth another try later.
 */
export function isTransient(err: unknown): boolean {
  const tree = [...errorTree(err)];
  // A refused password or certificate stays refused: fail now, not after the connect timeout.
  if (tree.some((e) => e.code === "PLT_KFK_AUTHENTICATION" || /CERT|TLS|SSL/.test(e.code ?? ""))) {
    return false;
  }
  for (const e of tree) {
    if (e.code === "PLT_KFK_NETWORK") return true;
    if (e.apiId && TRANSIENT_API_ERRORS.has(e.apiId)) return true;
    if (typeof e.message === "string" && /ECONNREFUSED|ECONNRESET|EHOSTUNREACH/.test(e.message)) {
      return true;
    }
  }
  return false;
}

const REBALANCE_API_ERRORS = new Set([
  "REBALANCE_IN_PROGRESS",
  "ILLEGAL_GENERATION",
  "UNKNOWN_MEMBER_ID",
  "NOT_COORDINATOR",
  "FENCED_INSTANCE_ID",
]);

/** Whether the error only says the consumer group is rebalancing or moved on a generation. */
export function isRebalance(err: unknown): boolean {
  for (const e of errorTree(err)) {
    if (e.apiId && REBALANCE_API_ERRORS.has(e.apiId)) return true;
  }
  return false;
}

/**
 * One line for a @platformatic/kafka error: its messages are generic at the top ("Cannot connect
 * to any broker.") and say what happened at the bottom of the tree (the SASL or TLS failure).
 */
export function platformaticErrorText(err: unknown): string {
  const tree = [...errorTree(err)].filter((e) => typeof e.message === "string" && e.message);
  if (tree.length === 0) return String(err);
  const top = tree[0].message!.split("\n")[0];
  const cause = tree[tree.length - 1].message!.split("\n")[0];
  return cause === top ? top : `${top.replace(/\.$/, "")}: ${cause}`;
}
