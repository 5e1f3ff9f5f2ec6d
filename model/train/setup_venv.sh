#!/usr/bin/env bash
# Creates model/train/.venv with the pinned trainer dependencies. Idempotent: a venv whose
# recorded requirements hash matches is left alone, so tasks and tests can call this every time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

want_mlflow=0
if [[ -n "${MLFLOW_TRACKING_URI:-}" || "${FRAUDSTREAM_WITH_MLFLOW:-0}" == "1" ]]; then
  want_mlflow=1
fi

stamp_of() {
  cat "$here/requirements.txt"
  if [[ "$1" == 1 ]]; then cat "$here/requirements-mlflow.txt"; fi
}
want="$(stamp_of "$want_mlflow" | sha256sum | cut -d' ' -f1)"
have="$(cat "$venv/.requirements.sha256" 2>/dev/null || true)"
if [[ -x "$venv/bin/python" && "$want" == "$have" ]]; then
  exit 0
fi
# A venv stamped with mlflow also satisfies a run that does not ask for it.
if [[ "$want_mlflow" == 0 && -x "$venv/bin/python" && "$have" == "$(stamp_of 1 | sha256sum | cut -d' ' -f1)" ]]; then
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
if [[ "$want_mlflow" == 1 ]]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements-mlflow.txt"
fi
echo "$want" >"$venv/.requirements.sha256"
echo "setup_venv: $venv ready" >&2
