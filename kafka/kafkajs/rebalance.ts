/**
 * Whether a Kafka client error only says that the consumer group is rebalancing (a member joined
 * or left, or this one missed a generation): expected whenever agents start, stop or crash. The
 * batch it interrupted is fetched again by whoever owns its partition next, so it is not a fault.
 */
export function isRebalance(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return type === "REBALANCE_IN_PROGRESS" || type === "NOT_COORDINATOR_FOR_GROUP" ||
    type === "ILLEGAL_GENERATION";
}
