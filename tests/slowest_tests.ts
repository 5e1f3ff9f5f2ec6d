/** One test's wall time, from a JUnit report of `deno test --junit-path`. */
export interface TestTime {
  file: string;
  name: string;
  seconds: number;
}

const ENTITIES: Record<string, string> = {
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&apos;": "'",
  "&amp;": "&",
};

function attributes(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const [, key, value] of tag.matchAll(/(\w+)="([^"]*)"/g)) {
    attrs[key] = value.replace(/&(lt|gt|quot|apos|amp);/g, (e) => ENTITIES[e]);
  }
  return attrs;
}

/**
 * The `count` slowest tests of a report, slowest first. Deno reports each test step as a
 * testcase of its own, named "test > step", right after its test; a step's time is already in
 * its test's, so steps are not ranked.
 */
export function slowestTests(junit: string, count: number): TestTime[] {
  const tests: TestTime[] = [];
  let last: TestTime | undefined;
  for (const [, tag] of junit.matchAll(/<testcase\s([^>]*)>/g)) {
    const a = attributes(tag);
    const file = a.classname ?? "";
    const name = a.name ?? "";
    if (last && last.file === file && name.startsWith(`${last.name} > `)) continue;
    last = { file, name, seconds: Number(a.time ?? 0) };
    tests.push(last);
  }
  return tests.sort((x, y) => y.seconds - x.seconds).slice(0, count);
}
