#!/usr/bin/env bash
# Creates bench/python_consumer/.venv with the pinned consumer dependencies. Idempotent: a venv
# whose recorded requirements hash matches is left alone, so the test and the bench call this
# every time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
have="$(cat "$venv/.requirements.sha256" 2>/dev/null || true)"
if [[ -x "$venv/bin/python" && "$want" == "$have" ]]; then
  exit 0
fi
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
echo "$want" >"$venv/.requirements.sha256"
echo "setup_venv: $venv ready" >&2
