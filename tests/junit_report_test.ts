import assert from "node:assert/strict";
import { failedTests, slowestTests } from "./junit_report.ts";

const REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="5" failures="0" errors="0" time="9.000">
    <testsuite name="./a_test.ts" tests="3" disabled="0" errors="0" failures="0">
        <testcase name="fast" classname="./a_test.ts" time="0.010" line="1" col="6">
        </testcase>
        <testcase name="the card&apos;s rows &gt; 1" classname="./a_test.ts" time="4.500" line="9" col="6">
        </testcase>
        <testcase name="the card&apos;s rows &gt; 1 &gt; step" classname="./a_test.ts" time="4.400" line="10" col="11">
        </testcase>
    </testsuite>
    <testsuite name="./b_test.ts" tests="4" disabled="0" errors="0" failures="3">
        <testcase name="slow &amp; failing" classname="./b_test.ts" time="3.000" line="4" col="6">
            <failure message="Uncaught Error: 3 stale">Error: 3 stale
    at file:///b_test.ts:5:11
    at a
    at b
    at c</failure>
        </testcase>
        <testcase name="steps" classname="./b_test.ts" time="0.100" line="30" col="6">
            <failure message="1 test step failed">1 test step failed.</failure>
        </testcase>
        <testcase name="steps &gt; inner" classname="./b_test.ts" time="0.100" line="31" col="11">
            <failure message="Uncaught Error: inner &amp; &lt;x&gt;">Error: inner &amp; &lt;x&gt;</failure>
        </testcase>
        <testcase name="medium" classname="./b_test.ts" time="1.200" line="20" col="6">
        </testcase>
    </testsuite>
</testsuites>
`;

Deno.test("slowestTests ranks tests, not their steps, and decodes names", () => {
  assert.deepEqual(slowestTests(REPORT, 3), [
    { file: "./a_test.ts", name: "the card's rows > 1", seconds: 4.5 },
    { file: "./b_test.ts", name: "slow & failing", seconds: 3 },
    { file: "./b_test.ts", name: "medium", seconds: 1.2 },
  ]);
  assert.equal(slowestTests(REPORT, 10).length, 5);
  assert.deepEqual(slowestTests("", 10), []);
});

Deno.test("failedTests lists each failure with its first lines, a step rather than its parent", () => {
  assert.deepEqual(failedTests(REPORT), [
    {
      file: "./b_test.ts",
      name: "slow & failing",
      message: "Error: 3 stale\n    at file:///b_test.ts:5:11\n    at a\n    at b",
    },
    { file: "./b_test.ts", name: "steps > inner", message: "Error: inner & <x>" },
  ]);
  assert.deepEqual(failedTests(""), []);
});
