import assert from "node:assert/strict";
import { type Shape, shapeMismatch } from "./json_shape.ts";

interface Example {
  name: string;
  at: number | null;
  ok: boolean;
  ids: number[];
  counts: Record<string, number>;
  nested: { deep: string };
}

const EXAMPLE: Shape<Example> = {
  name: "string",
  at: { $nullable: "number" },
  ok: "boolean",
  ids: { $items: "number" },
  counts: { $values: "number" },
  nested: { deep: "string" },
};

const good: Example = {
  name: "a",
  at: null,
  ok: true,
  ids: [1],
  counts: { x: 1 },
  nested: { deep: "" },
};

Deno.test("a value that matches its shape has no mismatch; extra fields are allowed", () => {
  assert.equal(shapeMismatch<Example>(good, EXAMPLE), null);
  assert.equal(shapeMismatch<Example>({ ...good, at: 5, added: "later" }, EXAMPLE), null);
});

Deno.test("the first mismatch is named by its path", () => {
  const cases: [unknown, string][] = [
    [{ ...good, at: "5" }, "at: expected a number, got a string"],
    [{ ...good, ids: [1, NaN] }, "ids[1]: expected a number, got NaN"],
    [{ ...good, counts: { x: "1" } }, "counts.x: expected a number, got a string"],
    [{ ...good, nested: null }, "nested: expected an object, got null"],
    [{ ...good, ok: undefined }, "ok: expected a boolean, got nothing"],
    ["text", "the document: expected an object, got a string"],
  ];
  for (const [value, expected] of cases) {
    assert.equal(shapeMismatch<Example>(value, EXAMPLE), expected);
  }
});

Deno.test("the compiler holds a shape to its type", () => {
  // @ts-expect-error: a shape without one of the type's fields does not compile.
  const missing: Shape<Example> = { ...EXAMPLE, nested: undefined };
  // @ts-expect-error: nor one that says a nullable field is always there.
  const notNullable: Shape<Example> = { ...EXAMPLE, at: "number" };
  assert.ok(missing && notNullable);
});
