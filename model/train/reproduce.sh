#!/usr/bin/env bash
# Rebuilds the shipped model end to end: generate data -> export features with the agent's
# engine -> train, compare, convert, verify -> model/fraud-model.onnx + model card.
# The data parameters live here once, and are recorded in the card as the generating command.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
work="${FRAUDSTREAM_TRAIN_WORK:-$repo/.cache/train}"
# 183 days that end the day before the evaluation data of evaluate.sh starts.
generate=(generate --customers 5000 --terminals 10000 --days 183 --start-date 2017-12-30 --seed 42)

bash model/train/setup_venv.sh
rm -rf "$work/data" "$work/mlflow-run.json"
mkdir -p "$work"
deno run -A main.ts "${generate[@]}" --out "$work/data"
deno run -A main.ts features --out "$work/matrix.bin" "$work/data"
model/train/.venv/bin/python model/train/train.py \
  --matrix "$work/matrix.bin" \
  --out-dir "$repo/model" \
  --data-description "fraudstream ${generate[*]}" \
  --validation-days 28 \
  --mlflow-run-file "$work/mlflow-run.json" \
  "$@"
# The card is committed, so it gets the repo's Markdown formatting (deno fmt --check runs in CI).
deno fmt --quiet "$repo/model/model-card.md"
# Then the new model as the agent serves it (deno task evaluate), into the same card.
bash model/train/evaluate.sh
