/** What the suite reads back from a JUnit report of `deno test --junit-path`. */

/** One test's wall time. */
export interface TestTime {
  file: string;
  name: string;
  seconds: number;
}

/** One failed test (or step) and the first lines of why. */
export interface TestFailure {
  file: string;
  name: string;
  message: string;
}

const ENTITIES: Record<string, string> = {
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&apos;": "'",
  "&amp;": "&",
};

function decode(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (e) => ENTITIES[e]);
}

function attributes(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const [, key, value] of tag.matchAll(/(\w+)="([^"]*)"/g)) attrs[key] = decode(value);
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

/**
 * Every failed testcase in report order, with the first `lines` lines of its failure (the
 * error and where it was thrown). A test whose only failure is its steps' ("1 test step
 * failed") is left out: the step itself is listed.
 */
export function failedTests(junit: string, lines = 4): TestFailure[] {
  const failures: TestFailure[] = [];
  const cases = junit.matchAll(/<testcase\s([^>]*)>([\s\S]*?)<\/testcase>/g);
  for (const [, tag, body] of cases) {
    const failure = /<failure[^>]*>([\s\S]*?)<\/failure>/.exec(body);
    if (!failure) continue;
    const message = decode(failure[1]).split("\n").slice(0, lines).join("\n");
    if (/^\d+ test steps? failed\.$/.test(message)) continue;
    const a = attributes(tag);
    failures.push({ file: a.classname ?? "", name: a.name ?? "", message });
  }
  return failures;
}
