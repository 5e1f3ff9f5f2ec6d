#!/usr/bin/env bash
# Creates .cache/airflow/venv with Apache Airflow and the MLflow client, every package pinned in
# deploy/airflow/requirements.txt (a full freeze: Airflow's constraint files are not reachable
# from here, so the freeze is the constraint). Idempotent: a venv stamped with the same
# requirements is left alone, so the DAG test and the README's command call this every time.
# Prints the venv's directory.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/.cache/airflow/venv"
python="${PYTHON:-python3}"

want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ -x $venv/bin/airflow && $(cat "$venv/.requirements.sha256" 2>/dev/null) == "$want" ]]; then
  echo "$venv"
  exit 0
fi
"$python" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 13))' ||
  { echo "setup_venv: Airflow 3 needs Python 3.10..3.13 ($python is $("$python" -V 2>&1))" >&2; exit 1; }
echo "setup_venv: installing Airflow into $venv (once)" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
echo "$want" >"$venv/.requirements.sha256"
echo "$venv"
