import assert from "node:assert/strict";
import { slowestTests } from "./slowest_tests.ts";

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
    <testsuite name="./b_test.ts" tests="2" disabled="0" errors="0" failures="1">
        <testcase name="slow &amp; failing" classname="./b_test.ts" time="3.000" line="4" col="6">
            <failure message="boom">boom</failure>
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
  assert.equal(slowestTests(REPORT, 10).length, 4);
  assert.deepEqual(slowestTests("", 10), []);
});
