/**
 * The JSON shape of a type, written as a value a document can be checked against at runtime.
 * `Shape<T>` makes the compiler hold the description to the type: a field added to, removed
 * from or retyped in T is a type error until its shape says the same.
 */
export type Shape<T> = null extends T ? { $nullable: Shape<NonNullable<T>> }
  : T extends string ? "string"
  : T extends number ? "number"
  : T extends boolean ? "boolean"
  : T extends readonly (infer E)[] ? { $items: Shape<E> }
  : string extends keyof T ? { $values: Shape<T[string & keyof T]> }
  : { [K in keyof T]-?: Shape<T[K]> };

type AnyShape =
  | "string"
  | "number"
  | "boolean"
  | { $nullable: AnyShape }
  | { $items: AnyShape }
  | { $values: AnyShape }
  | { [key: string]: AnyShape };

/** Where `value` first differs from `shape`, as "path: expected KIND", or null if nowhere. */
export function shapeMismatch<T>(value: unknown, shape: Shape<T>): string | null {
  return mismatch(value, shape as AnyShape, "");
}

function mismatch(value: unknown, shape: AnyShape, path: string): string | null {
  const here = path || "the document";
  if (typeof shape === "string") {
    const ok = shape === "number"
      ? typeof value === "number" && Number.isFinite(value)
      : shape === "string"
      ? typeof value === "string"
      : typeof value === "boolean";
    return ok ? null : `${here}: expected a ${shape}, got ${describe(value)}`;
  }
  if ("$nullable" in shape && isShape(shape.$nullable)) {
    return value === null ? null : mismatch(value, shape.$nullable, path);
  }
  if ("$items" in shape && isShape(shape.$items)) {
    if (!Array.isArray(value)) return `${here}: expected an array, got ${describe(value)}`;
    for (let i = 0; i < value.length; i++) {
      const m = mismatch(value[i], shape.$items, `${path}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return `${here}: expected an object, got ${describe(value)}`;
  }
  const record = value as Record<string, unknown>;
  if ("$values" in shape && isShape(shape.$values)) {
    for (const [k, v] of Object.entries(record)) {
      const m = mismatch(v, shape.$values, path ? `${path}.${k}` : k);
      if (m) return m;
    }
    return null;
  }
  for (const [k, s] of Object.entries(shape)) {
    const m = mismatch(record[k], s, path ? `${path}.${k}` : k);
    if (m) return m;
  }
  return null;
}

function isShape(x: unknown): x is AnyShape {
  return typeof x === "string" || (typeof x === "object" && x !== null);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return `a ${typeof value}`;
}
