import assert from "node:assert/strict";

/**
 * Every path the documentation names resolves inside the repository, and none points outside
 * it: a reader of a checkout has nothing else. Checked in every Markdown file of the repository:
 * links `[text](path)`, inline code that names a repository path (`agent/agent.ts`), bare names
 * of source files (`evaluate.py`), which must be some file of the repository, and references to
 * this project's issues or notes, which a checkout does not have (an upstream project's
 * `owner/name#123` is a public reference and allowed).
 */

const ROOT = new URL("../", import.meta.url).pathname;

/** Directories that hold what builds and runs make (the plain names in .gitignore). */
const GENERATED = new Set(
  Deno.readTextFileSync(`${ROOT}.gitignore`).split("\n").map((l) =>
    l.trim().replace(/^\/|\/$/g, "")
  )
    .filter((l) => l && !/[*?\[]/.test(l)).concat([".git"]),
);

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of Deno.readDirSync(`${ROOT}${dir}`)) {
    if (GENERATED.has(entry.name)) continue;
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory) walk(path, out);
    else out.push(path);
  }
  return out;
}

const FILES = walk("");
const PATHS = new Set(FILES.flatMap((f) => [f, ...ancestors(f)]));
const BASENAMES = new Set(FILES.map((f) => f.slice(f.lastIndexOf("/") + 1)));
const TOP_LEVEL = new Set(FILES.map((f) => f.split("/")[0]));
const DOCS = FILES.filter((f) => f.endsWith(".md"));

function ancestors(file: string): string[] {
  const parts = file.split("/");
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

/** A path as written, relative to `base` (a directory of the repository), normalised. */
function resolve(base: string, written: string): string {
  const parts: string[] = base ? base.split("/") : [];
  for (const part of written.replace(/\/+$/, "").split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "." && part !== "") parts.push(part);
  }
  return parts.join("/");
}

/** Every broken or outside reference of one Markdown file, as "file: what". */
export function brokenReferences(file: string, text: string): string[] {
  const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "";
  const broken: string[] = [];
  for (const outside of text.match(/DESIGN\.md|MISSION\.md|\.\.\/shared\b|\/work\/\S*/g) ?? []) {
    broken.push(`${file}: ${outside} is not part of the repository`);
  }
  for (const [issue] of text.matchAll(/(?<![\w/-])#\d+\b|\bissues? \d+\b/gi)) {
    broken.push(`${file}: ${issue} is not part of the repository`);
  }
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target) || target.startsWith("#")) continue;
    const path = resolve(dir, target.split("#")[0]);
    if (!PATHS.has(path)) broken.push(`${file}: link ${target} (no ${path})`);
  }
  const prose = text.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "");
  for (const [, code] of prose.matchAll(/`([^`\s]+)`/g)) {
    // Placeholders, globs, URLs, flags, absolute and home paths name no file of the repository.
    if (/[<>*$~]|^[a-z]+:|^-|^\//i.test(code)) continue;
    const path = resolve("", code);
    const first = path.split("/")[0];
    if (path.split("/").some((p) => GENERATED.has(p))) continue;
    if (code.includes("/")) {
      if (TOP_LEVEL.has(first) && !PATHS.has(path) && !PATHS.has(resolve(dir, code))) {
        broken.push(`${file}: \`${code}\` (no such path)`);
      }
    } else if (/^[\w.-]+\.(ts|py|sh|xml|service)$/.test(code)) {
      if (!BASENAMES.has(code)) broken.push(`${file}: \`${code}\` (no such file)`);
    }
  }
  return broken;
}

Deno.test("every path in README.md and docs/ resolves inside the repository", () => {
  assert.ok(DOCS.includes("README.md") && DOCS.includes("docs/decisions.md"), DOCS.join(", "));
  const broken = DOCS.flatMap((f) => brokenReferences(f, Deno.readTextFileSync(`${ROOT}${f}`)));
  assert.deepEqual(broken, []);
});

Deno.test("the check finds a broken link, a missing path and a reference outside", () => {
  const text = [
    "See [the design](../DESIGN.md), [measurements](measurements.md) and [x](gone.md#a).",
    "The loop is `agent/scoring_loop.ts`, not `agent/scoring.ts`; `train.py` and `nope.py`.",
    "`dist/fraudstream`, `.cache/build/`, `--http`, `/etc/x` and `$TMPDIR/y` are not checked.",
    "Fixed in #12 (see issue 12); upstream in tulios/kafkajs#1576.",
    "```sh\ncat agent/missing.ts `agent/missing.ts`\n```",
  ].join("\n");
  assert.deepEqual(brokenReferences("docs/example.md", text), [
    "docs/example.md: DESIGN.md is not part of the repository",
    "docs/example.md: #12 is not part of the repository",
    "docs/example.md: issue 12 is not part of the repository",
    "docs/example.md: link ../DESIGN.md (no DESIGN.md)",
    "docs/example.md: link gone.md#a (no docs/gone.md)",
    "docs/example.md: `agent/scoring.ts` (no such path)",
    "docs/example.md: `nope.py` (no such file)",
  ]);
});
