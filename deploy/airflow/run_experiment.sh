#!/usr/bin/env bash
# `deno task experiment [CONF_JSON]` (as root): the DAG end to end on this machine with
# `airflow dags test`, against emulated VMs (the vmlab root). Airflow's home is
# .cache/airflow/home (SQLite). MLflow: the connection fraudstream_mlflow from
# AIRFLOW_CONN_FRAUDSTREAM_MLFLOW, else MLFLOW_TRACKING_URI, else an `mlflow server` started here
# for the run, its store kept in .cache/airflow/mlflow (browse it afterwards with the command
# printed at the end). CONF_JSON overrides the DAG's params, e.g. '{"vm_count": 3}'.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
conf="${1:-{\}}"
venv="$(bash "$repo/deploy/airflow/setup_venv.sh")"
bash "$repo/deploy/terraform/tofu.sh" >/dev/null

export AIRFLOW_HOME="${AIRFLOW_HOME:-$repo/.cache/airflow/home}"
export AIRFLOW__CORE__DAGS_FOLDER="$repo/deploy/airflow/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW_VAR_FRAUDSTREAM_DENO="${AIRFLOW_VAR_FRAUDSTREAM_DENO:-$(command -v deno || echo "npx -y deno@2")}"
mkdir -p "$AIRFLOW_HOME"

server=""
stop_server() { [[ -z $server ]] || { kill -TERM -- "-$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }; }
trap stop_server EXIT
if [[ -z ${AIRFLOW_CONN_FRAUDSTREAM_MLFLOW:-} ]]; then
  if [[ -n ${MLFLOW_TRACKING_URI:-} ]]; then
    export AIRFLOW_CONN_FRAUDSTREAM_MLFLOW=$MLFLOW_TRACKING_URI
  else
    FRAUDSTREAM_WITH_MLFLOW=1 bash "$repo/model/train/setup_venv.sh"
    store="$repo/.cache/airflow/mlflow"
    mkdir -p "$store"
    port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    setsid "$repo/model/train/.venv/bin/mlflow" server --host 127.0.0.1 --port "$port" \
      --backend-store-uri "sqlite:///$store/db.sqlite" --artifacts-destination "$store/artifacts" \
      >"$store/server.log" 2>&1 </dev/null &
    server=$!
    export AIRFLOW_CONN_FRAUDSTREAM_MLFLOW="http://127.0.0.1:$port"
    until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do
      kill -0 "$server" 2>/dev/null || { echo "experiment: mlflow server failed (see $store/server.log)" >&2; exit 1; }
      sleep 1
    done
  fi
fi

"$venv/bin/airflow" db migrate >/dev/null
status=0
"$venv/bin/airflow" dags test fraudstream_experiment --conf "$conf" || status=$?
"$venv/bin/airflow" dags list-runs fraudstream_experiment -o table 2>/dev/null | grep -v -e graphviz -e "pip install" || true
if [[ -n $server ]]; then
  echo "experiment: MLflow store $store; browse it with:"
  echo "  $repo/model/train/.venv/bin/mlflow ui --backend-store-uri sqlite:///$store/db.sqlite --artifacts-destination $store/artifacts"
fi
exit "$status"
