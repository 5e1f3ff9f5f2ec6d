/**
 * The one declaration of the model's input: names and order of the feature vector, and the
 * version string recorded in the exported matrix, the trainer's model card and the ONNX model's
 * metadata. Any change to a feature's meaning or order must bump FEATURE_LIST_VERSION, because
 * the agent refuses a model trained on another version (agent/onnx_model.ts).
 *
 * features/feature_list.json is generated from this file (`deno task features:list`) for the
 * Python trainer; features/feature_list_test.ts fails when the two disagree.
 */

export const FEATURE_LIST_VERSION = "fs-v1";

/** Customer windows in days: the w whole UTC days before the transaction's day, plus that day. */
export const CUSTOMER_WINDOW_DAYS = [1, 7, 30] as const;

/** Terminal windows in days, ending at the label delay (see features/feature_engine.ts). */
export const TERMINAL_WINDOW_DAYS = [1, 7, 30] as const;

/** Default label delay: a transaction's label is usable by features 7 days of event time later. */
export const DEFAULT_LABEL_DELAY_MS = 7 * 86_400_000;

/** An hour of day below this (UTC) counts as night. */
export const NIGHT_BEFORE_HOUR = 6;

export interface FeatureSpec {
  name: string;
  description: string;
}

export const FEATURES: readonly FeatureSpec[] = [
  { name: "amount", description: "transaction amount in currency units" },
  { name: "is_weekend", description: "1 if the event time (UTC) falls on a Saturday or Sunday" },
  { name: "is_night", description: `1 if the event hour (UTC) is below ${NIGHT_BEFORE_HOUR}` },
  { name: "hour", description: "event hour of day (UTC), 0-23" },
  ...CUSTOMER_WINDOW_DAYS.flatMap((w) => [
    {
      name: `customer_count_${w}d`,
      description: `the customer's transactions over the ${w} days before this one's day ` +
        "and that day up to and including this transaction",
    },
    {
      name: `customer_mean_amount_${w}d`,
      description: `mean amount of the same ${w}-day customer window (includes this transaction)`,
    },
  ]),
  ...TERMINAL_WINDOW_DAYS.flatMap((w) => [
    {
      name: `terminal_count_${w}d`,
      description: `labelled transactions at the terminal over the ${w} whole days ending at ` +
        "the start of the day of (event time - label delay)",
    },
    {
      name: `terminal_risk_${w}d`,
      description: `share of fraud among those ${w}-day terminal transactions (0 when none)`,
    },
  ]),
];

export const FEATURE_NAMES: readonly string[] = FEATURES.map((f) => f.name);

export const FEATURE_COUNT = FEATURES.length;

/** What features/feature_list.json holds; the trainer and the model card read it. */
export function featureListDocument(): {
  version: string;
  count: number;
  labelDelayMsDefault: number;
  customerWindowDays: readonly number[];
  terminalWindowDays: readonly number[];
  features: readonly FeatureSpec[];
} {
  return {
    version: FEATURE_LIST_VERSION,
    count: FEATURE_COUNT,
    labelDelayMsDefault: DEFAULT_LABEL_DELAY_MS,
    customerWindowDays: CUSTOMER_WINDOW_DAYS,
    terminalWindowDays: TERMINAL_WINDOW_DAYS,
    features: FEATURES,
  };
}

export function featureListJson(): string {
  return JSON.stringify(featureListDocument(), null, 2) + "\n";
}

if (import.meta.main) {
  const out = new URL("./feature_list.json", import.meta.url);
  await Deno.writeTextFile(out, featureListJson());
  console.log(`wrote ${out.pathname} (${FEATURE_LIST_VERSION}, ${FEATURE_COUNT} features)`);
}
