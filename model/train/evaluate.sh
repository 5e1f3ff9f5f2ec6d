#!/usr/bin/env bash
# `deno task evaluate`: the shipped model as the agent serves it. Generates a data set with
# another seed that starts where the training data ends, replays it flat out through a local
# Kafka and the real agent, exports the same files' features offline, and compares the two on
# the later period (model/train/evaluate.py). The result goes into model/model-card.{json,md}.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
work="${FRAUDSTREAM_EVAL_WORK:-$repo/.cache/evaluate}"
generate=(generate --customers 5000 --terminals 10000 --days 60 --start-date 2018-07-01 --seed 1042)

bash model/train/setup_venv.sh
rm -rf "$work/data"
mkdir -p "$work"
deno run -A main.ts "${generate[@]}" --out "$work/data"
deno run -A main.ts features --out "$work/matrix.bin" "$work/data"
deno run -A model/evaluate/replay_through_agent.ts --out "$work/streamed.csv" "$work/data"
model/train/.venv/bin/python model/train/evaluate.py \
  --matrix "$work/matrix.bin" \
  --streamed "$work/streamed.csv" \
  --model "$repo/model/fraud-model.onnx" \
  --card "$repo/model/model-card.json" \
  --data-description "fraudstream ${generate[*]}" \
  --mlflow-run-file "${FRAUDSTREAM_TRAIN_WORK:-$repo/.cache/train}/mlflow-run.json" \
  "$@"
deno fmt --quiet "$repo/model/model-card.md"
