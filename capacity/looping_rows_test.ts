import assert from "node:assert/strict";
import { parseRow } from "../transactions/parse_row.ts";
import { RowState } from "../transactions/row_fields.ts";
import { newTransaction } from "../transactions/transaction.ts";
import { loopRows } from "./looping_rows.ts";
import { RowValues } from "./row_values.ts";

Deno.test("later passes shift ids and whole days, and re-encode parseable lines", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const header =
      "# tranaction_id | tx_datetime | customer_id | terminal_id | tx_amount | tx_time_seconds | tx_time_days | tx_fraud | tx_fraud_scenario";
    await Deno.writeTextFile(
      `${dir}/2018-04-01.txt`,
      [
        header,
        "0,2018-04-01 06:51:03,7,711,70.91,24663,0,0,0",
        "not a row",
        "1,2018-04-02 23:00:00,8,12,5.00,169200,1,1,2",
      ].join("\n") + "\n",
    );
    const lines: string[] = [];
    const decoder = new TextDecoder();
    const values = new RowValues();
    for await (const { batch, pass } of loopRows([`${dir}/2018-04-01.txt`], 16)) {
      for (let i = 0; i < batch.count; i++) lines.push(decoder.decode(values.of(batch, i, pass)));
      if (pass === 2) break;
    }
    assert.deepEqual(lines, [
      "0,2018-04-01 06:51:03,7,711,70.91,24663,0,0,0",
      "not a row",
      "1,2018-04-02 23:00:00,8,12,5.00,169200,1,1,2",
      "2,2018-04-03 06:51:03,7,711,70.91,197463,2,0,0",
      "not a row",
      "3,2018-04-04 23:00:00,8,12,5.00,342000,3,1,2",
      "4,2018-04-05 06:51:03,7,711,70.91,370263,4,0,0",
      "not a row",
      "5,2018-04-06 23:00:00,8,12,5.00,514800,5,1,2",
    ]);
    const tx = newTransaction();
    const bytes = new TextEncoder().encode(lines[5]);
    assert.equal(parseRow(bytes, 0, bytes.length, tx, new RowState()), null);
    assert.equal(tx.timeDays, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
