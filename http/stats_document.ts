import { type Shape, shapeMismatch } from "./json_shape.ts";

/**
 * The head every fraudstream process's /stats document starts with. The version counts changes
 * of a role's document that a reader could misread: a field renamed, removed or retyped.
 */
export interface StatsDocumentHead {
  version: number;
  role: string;
  instance: string;
  uptime_s: number;
}

/** A /stats document that is not the one this reader understands; the message is one line. */
export class StatsDocumentError extends Error {}

/**
 * Checks a parsed /stats body against the role, version and shape a reader expects, once at
 * the edge; past it the reader works with the type only.
 */
export function parseStatsDocument<T extends StatsDocumentHead>(
  json: unknown,
  expected: { role: T["role"]; version: T["version"]; shape: Shape<T> },
): T {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new StatsDocumentError("not a stats document (expected a JSON object)");
  }
  const { role, version } = json as Partial<Record<string, unknown>>;
  if (role !== expected.role) {
    const got = typeof role === "string" ? `role "${role}"` : "no fraudstream role";
    throw new StatsDocumentError(`expected the stats of role "${expected.role}", got ${got}`);
  }
  if (version !== expected.version) {
    throw new StatsDocumentError(
      `${expected.role} stats version ${
        typeof version === "number" ? version : "none (an older release)"
      }; this reader needs version ${expected.version}: run one fraudstream release on both sides`,
    );
  }
  const mismatch = shapeMismatch(json, expected.shape);
  if (mismatch) {
    throw new StatsDocumentError(
      `${expected.role} stats version ${version} with a wrong field: ${mismatch}`,
    );
  }
  return json as T;
}
