#!/usr/bin/env bash
# Installs a fraudstream release on a VM and runs N scoring agents there under systemd.
# See usage() and deploy/README.md. Rerunning with the same arguments changes nothing; with a
# new tarball, N, brokers or ports it updates in place and restarts only what changed.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: install.sh HOST N --brokers HOST:PORT[,...] [options]
       install.sh HOST --uninstall [options]

Copies a release tarball to HOST over ssh, installs it as /opt/fraudstream/<version> with a
`current` symlink, installs the systemd units, writes /etc/fraudstream/agent-1.env ...
agent-N.env and enables and starts fraudstream-agent@1 ... @N. Agents above N from an earlier
run are stopped and removed.

  HOST                 ssh destination; with --local, only a name for the messages
  N                    number of agents on HOST
  --brokers LIST       FRAUDSTREAM_BROKERS of every agent (required unless --uninstall)
  --tarball PATH       the release (default: the one dist/fraudstream-*-<HOST's arch>-*.tar.gz)
  --base-port P        agent i serves its stats on port P+i (default 8080)
  --http-host ADDR     address the stats endpoints bind to (default 0.0.0.0)
  --env NAME=VALUE     extra variable in every agent's env file (repeatable), e.g.
                       --env FRAUDSTREAM_SECURITY_PROTOCOL=sasl_ssl
  --ssh-user USER      ssh as USER (it needs root or passwordless sudo on HOST)
  --ssh-key FILE       ssh identity file
  --ssh-config FILE    ssh client configuration for ssh and scp (ssh -F), e.g. a jump host
  --local              install on this machine instead of over ssh
  --root DIR           install under DIR instead of / and only enable the units (no daemon is
                       asked to start anything): for tests and image builds
  --uninstall          stop and remove the agents, units, env files and /opt/fraudstream
  -h, --help           this help
EOF
}

die() { # one line, then the exit code (2: usage, 1: environment)
  echo "install: $2" >&2
  exit "$1"
}

HOST=""
COUNT=""
BROKERS=""
TARBALL=""
BASE_PORT=8080
HTTP_HOST=0.0.0.0
EXTRA_ENV=()
SSH_USER=""
SSH_KEY=""
SSH_CONFIG=""
LOCAL=0
ROOT=""
UNINSTALL=0
FORWARD=() # the options the remote run needs, rebuilt from what was parsed

need_value() { [[ $# -ge 2 && -n $2 ]] || die 2 "$1 needs a value (see install.sh --help)"; }
while [[ $# -gt 0 ]]; do
  case $1 in
  -h | --help) usage; exit 0 ;;
  --brokers) need_value "$@"; BROKERS=$2; shift 2 ;;
  --tarball) need_value "$@"; TARBALL=$2; shift 2 ;;
  --base-port) need_value "$@"; BASE_PORT=$2; shift 2 ;;
  --http-host) need_value "$@"; HTTP_HOST=$2; shift 2 ;;
  --env) need_value "$@"; EXTRA_ENV+=("$2"); shift 2 ;;
  --ssh-user) need_value "$@"; SSH_USER=$2; shift 2 ;;
  --ssh-key) need_value "$@"; SSH_KEY=$2; shift 2 ;;
  --ssh-config) need_value "$@"; SSH_CONFIG=$2; shift 2 ;;
  --root) need_value "$@"; ROOT=$2; shift 2 ;;
  --local) LOCAL=1; shift ;;
  --uninstall) UNINSTALL=1; shift ;;
  -*) die 2 "unknown option $1 (see install.sh --help)" ;;
  *)
    if [[ -z $HOST ]]; then HOST=$1
    elif [[ -z $COUNT ]]; then COUNT=$1
    else die 2 "unexpected argument $1 (see install.sh --help)"
    fi
    shift ;;
  esac
done

[[ -n $HOST ]] || die 2 "missing HOST (see install.sh --help)"
if [[ $UNINSTALL == 0 ]]; then
  [[ $COUNT =~ ^[0-9]+$ ]] && ((10#$COUNT > 0)) ||
    die 2 "N must be a positive integer (agents to run on $HOST), got '${COUNT}'"
  COUNT=$((10#$COUNT))
  [[ -n $BROKERS ]] || die 2 "--brokers is required: the agents' FRAUDSTREAM_BROKERS"
  [[ $BROKERS =~ ^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):[0-9]{1,5}(,([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):[0-9]{1,5})*$ ]] ||
    die 2 "--brokers $BROKERS: expected HOST:PORT[,HOST:PORT...]"
  [[ $BASE_PORT =~ ^[0-9]+$ ]] && ((10#$BASE_PORT > 0)) ||
    die 2 "--base-port $BASE_PORT: expected a port number"
  BASE_PORT=$((10#$BASE_PORT))
  ((BASE_PORT + COUNT <= 65535)) ||
    die 2 "--base-port $BASE_PORT with $COUNT agents needs ports up to $((BASE_PORT + COUNT)), above 65535"
  for kv in "${EXTRA_ENV[@]}"; do
    [[ $kv =~ ^[A-Z_][A-Z0-9_]*=[^$'\n']*$ ]] || die 2 "--env $kv: expected NAME=VALUE"
    case ${kv%%=*} in
    FRAUDSTREAM_BROKERS | FRAUDSTREAM_HTTP | FRAUDSTREAM_INSTANCE_ID)
      die 2 "--env ${kv%%=*}: install.sh sets it (use --brokers, --base-port, --http-host)" ;;
    esac
  done
elif [[ -n $COUNT ]]; then
  die 2 "--uninstall takes no N"
fi
if [[ -n $ROOT ]]; then
  [[ -d $ROOT ]] || die 2 "--root $ROOT is not a directory"
  ROOT=$(cd "$ROOT" && pwd)
fi

# ---------------------------------------------------------------------------------------------
# Remote: check the host, copy the tarball and this script, run it there with --local.
if [[ $LOCAL == 0 ]]; then
  SSH_OPTS=(-o BatchMode=yes -o ConnectTimeout=10)
  [[ -z $SSH_KEY ]] || SSH_OPTS+=(-i "$SSH_KEY")
  [[ -z $SSH_CONFIG ]] || SSH_OPTS+=(-F "$SSH_CONFIG")
  DEST=${SSH_USER:+$SSH_USER@}$HOST
  err=$(mktemp)
  if ! arch=$(ssh "${SSH_OPTS[@]}" "$DEST" uname -m 2>"$err"); then
    reason=$(tr -d '\r' <"$err" | grep -v '^[[:space:]]*$' | tail -n 1 || true)
    rm -f "$err"
    die 1 "cannot reach $HOST over ssh${reason:+ ($reason)}"
  fi
  rm -f "$err"
  if [[ $UNINSTALL == 0 && -z $TARBALL ]]; then
    dist="$(cd "$(dirname "$0")/.." && pwd)/dist"
    shopt -s nullglob
    found=("$dist"/fraudstream-*-"$arch"-unknown-linux-gnu.tar.gz)
    shopt -u nullglob
    [[ ${#found[@]} == 1 ]] ||
      die 1 "found ${#found[@]} releases for $arch in $dist: pass --tarball (deno task release builds one)"
    TARBALL=${found[0]}
  fi
  [[ $UNINSTALL == 1 || -f $TARBALL ]] ||
    die 1 "no release tarball at $TARBALL (deno task release builds one)"
  FORWARD=(--local)
  [[ $UNINSTALL == 1 ]] && FORWARD+=(--uninstall)
  [[ -n $BROKERS ]] && FORWARD+=(--brokers "$BROKERS")
  FORWARD+=(--base-port "$BASE_PORT" --http-host "$HTTP_HOST")
  for kv in "${EXTRA_ENV[@]}"; do FORWARD+=(--env "$kv"); done
  [[ -n $ROOT ]] && FORWARD+=(--root "$ROOT")
  remote_dir=$(ssh "${SSH_OPTS[@]}" "$DEST" 'mktemp -d /tmp/fraudstream-install.XXXXXX')
  files=("$0")
  if [[ $UNINSTALL == 0 ]]; then
    files+=("$TARBALL")
    FORWARD+=(--tarball "$remote_dir/$(basename "$TARBALL")")
  fi
  scp -q "${SSH_OPTS[@]}" "${files[@]}" "$DEST:$remote_dir/"
  args=$(printf ' %q' "$HOST" ${COUNT:+"$COUNT"} "${FORWARD[@]}")
  run="bash $remote_dir/$(basename "$0")$args"
  status=0
  ssh "${SSH_OPTS[@]}" "$DEST" \
    "if [ \"\$(id -u)\" = 0 ]; then $run; else sudo -n $run; fi; s=\$?; rm -rf $remote_dir; exit \$s" ||
    status=$?
  exit $status
fi

# ---------------------------------------------------------------------------------------------
# Local: everything below runs on the machine that gets the agents.
[[ -n $ROOT || $(id -u) == 0 ]] || die 1 "run as root on $HOST (or through sudo)"
OPT=$ROOT/opt/fraudstream
ETC=$ROOT/etc/fraudstream
UNITS=$ROOT/etc/systemd/system
if [[ -n $ROOT ]]; then
  SYSTEMCTL=(systemctl -q "--root=$ROOT")
else
  SYSTEMCTL=(systemctl -q)
fi
managing=$([[ -z $ROOT ]] && echo 1 || echo 0) # a running systemd to start and stop units

say() { echo "$HOST: $*"; }

instances_on_disk() { # instance numbers with an env file, sorted
  local f
  shopt -s nullglob
  for f in "$ETC"/agent-*.env; do
    f=${f##*/agent-}
    f=${f%.env}
    if [[ $f =~ ^[0-9]+$ ]]; then echo "$f"; fi
  done | sort -n
  shopt -u nullglob
}

stop_instance() { # stop, disable and forget agent $1
  if [[ $managing == 1 ]]; then
    systemctl -q disable --now "fraudstream-agent@$1.service" 2>/dev/null || true
  else
    "${SYSTEMCTL[@]}" disable "fraudstream-agent@$1.service" 2>/dev/null || true
  fi
  rm -f "$ETC/agent-$1.env"
}

if [[ $UNINSTALL == 1 ]]; then
  removed=0
  for i in $(instances_on_disk); do
    stop_instance "$i"
    removed=1
  done
  if [[ -e $UNITS/fraudstream-producer.service ]]; then
    if [[ $managing == 1 ]]; then
      systemctl -q disable --now fraudstream-producer.service 2>/dev/null || true
    fi
  fi
  for unit in fraudstream-agent@.service fraudstream-producer.service; do
    if [[ -e $UNITS/$unit ]]; then
      rm -f "$UNITS/$unit"
      removed=1
    fi
  done
  if [[ -e $OPT ]]; then
    rm -rf "$OPT"
    removed=1
  fi
  [[ $managing == 1 && $removed == 1 ]] && systemctl daemon-reload
  if [[ -d $ETC ]]; then
    rmdir "$ETC" 2>/dev/null ||
      say "kept $ETC: it holds files install.sh did not write ($(ls "$ETC" | paste -sd ' ' -))"
  fi
  if [[ $removed == 1 ]]; then say "uninstalled fraudstream"; else say "nothing to uninstall"; fi
  exit 0
fi

# --- Check everything before changing anything. -----------------------------------------------
[[ -n $TARBALL ]] || die 2 "--tarball is required with --local"
[[ -f $TARBALL ]] || die 1 "no release tarball at $TARBALL (deno task release builds one)"
listing=$(tar -tzf "$TARBALL" 2>/dev/null) || die 1 "$TARBALL is not a gzip tar archive"
top=${listing%%/*}
[[ $top =~ ^fraudstream-(.+)-(x86_64|aarch64)-unknown-linux-gnu$ ]] ||
  die 1 "$TARBALL is not a fraudstream release (its top directory is '$top')"
VERSION=${BASH_REMATCH[1]}
ARCH=${BASH_REMATCH[2]}
missing=()
for f in fraudstream libonnxruntime.so.1 model/fraud-model.onnx model/model-card.md \
  systemd/fraudstream-agent@.service systemd/fraudstream-producer.service agent.env.example \
  SHA256SUMS; do
  grep -qxF "$top/$f" <<<"$listing" || missing+=("$f")
done
((${#missing[@]} == 0)) || die 1 "$TARBALL lacks ${missing[*]}"
# Each file against the release's own checksums, streamed from the tarball: nothing written yet.
while read -r sum path; do
  [[ $(tar -xzOf "$TARBALL" "$top/$path" | sha256sum) == "$sum  -" ]] ||
    die 1 "$TARBALL: $path does not match its SHA256SUMS (damaged in transfer?)"
done < <(tar -xzOf "$TARBALL" "$top/SHA256SUMS")
[[ $(uname -m) == "$ARCH" ]] ||
  die 1 "$TARBALL is built for $ARCH, but $HOST is $(uname -m)"

declare -A PORT_OF
for ((i = 1; i <= COUNT; i++)); do PORT_OF[$i]=$((BASE_PORT + i)); done

# Ports named by env files install.sh does not manage (e.g. the producer's).
shopt -s nullglob
for f in "$ETC"/*.env; do
  [[ ${f##*/} =~ ^agent-[0-9]+\.env$ ]] && continue
  port=$(sed -n 's/^FRAUDSTREAM_HTTP=.*:\([0-9]*\)[[:space:]]*$/\1/p' "$f" | tail -n 1)
  for ((i = 1; i <= COUNT; i++)); do
    [[ $port == "${PORT_OF[$i]}" ]] &&
      die 1 "port $port for agent $i is already FRAUDSTREAM_HTTP in ${f#"$ROOT"} (pick another --base-port)"
  done
done
shopt -u nullglob

listening_ports() { # TCP ports in LISTEN state on this machine, from the kernel's tables
  local table
  for table in /proc/net/tcp /proc/net/tcp6; do
    [[ -r $table ]] || continue
    while read -r _ local_addr _ state _; do
      if [[ $state == 0A ]]; then echo $((16#${local_addr##*:})); fi
    done < <(tail -n +2 "$table")
  done | sort -un
}
ours=" "
if [[ $managing == 1 ]]; then # ports our running agents hold will be freed by their restart
  for i in $(instances_on_disk); do
    if systemctl -q is-active "fraudstream-agent@$i.service" 2>/dev/null; then
      ours+="$(sed -n 's/^FRAUDSTREAM_HTTP=.*:\([0-9]*\)[[:space:]]*$/\1/p' "$ETC/agent-$i.env") "
    fi
  done
fi
listening=" $(listening_ports | tr '\n' ' ') "
for ((i = 1; i <= COUNT; i++)); do
  p=${PORT_OF[$i]}
  if [[ $listening == *" $p "* && $ours != *" $p "* ]]; then
    die 1 "port $p for agent $i is already in use on $HOST by another process (pick another --base-port)"
  fi
done

# --- Release: unpack beside its final place, then move it there. ------------------------------
mkdir -p "$OPT"
stage=$(mktemp -d "$OPT/.staging.XXXXXX")
trap 'rm -rf "$stage"' EXIT
tar -xzf "$TARBALL" -C "$stage" --no-same-owner --touch
release_changed=0
if [[ -d $OPT/$VERSION ]] && diff -rq "$stage/$top" "$OPT/$VERSION" >/dev/null 2>&1; then
  : # this exact release is already in place
elif [[ -d $OPT/$VERSION ]]; then
  mv "$OPT/$VERSION" "$stage/previous"
  mv "$stage/$top" "$OPT/$VERSION"
  release_changed=1
else
  mv "$stage/$top" "$OPT/$VERSION"
  release_changed=1
fi
if [[ $(readlink "$OPT/current" 2>/dev/null) != "$VERSION" ]]; then
  ln -sfn "$VERSION" "$stage/current"
  mv -T "$stage/current" "$OPT/current"
  release_changed=1
fi

# --- Units and env files: replaced only when their content changes. ----------------------------
units_changed=0
mkdir -p "$UNITS"
for unit in fraudstream-agent@.service fraudstream-producer.service; do
  if ! cmp -s "$OPT/current/systemd/$unit" "$UNITS/$unit"; then
    install -m 0644 "$OPT/current/systemd/$unit" "$stage/$unit"
    mv "$stage/$unit" "$UNITS/$unit"
    units_changed=1
  fi
done

mkdir -p "$ETC"
chmod 0755 "$ETC"
hostname=$(hostname -s 2>/dev/null || hostname)
declare -A ENV_CHANGED
for ((i = 1; i <= COUNT; i++)); do
  {
    echo "# Written by install.sh for fraudstream-agent@$i; rerunning install.sh rewrites it."
    echo "# Every variable: /opt/fraudstream/current/agent.env.example"
    echo "FRAUDSTREAM_BROKERS=$BROKERS"
    echo "FRAUDSTREAM_INSTANCE_ID=$hostname-agent-$i"
    echo "FRAUDSTREAM_HTTP=$HTTP_HOST:${PORT_OF[$i]}"
    for kv in "${EXTRA_ENV[@]}"; do echo "$kv"; done
  } >"$stage/agent-$i.env"
  ENV_CHANGED[$i]=0
  if ! cmp -s "$stage/agent-$i.env" "$ETC/agent-$i.env"; then
    chmod 0600 "$stage/agent-$i.env"
    mv "$stage/agent-$i.env" "$ETC/agent-$i.env"
    ENV_CHANGED[$i]=1
  fi
done

retired=()
for i in $(instances_on_disk); do
  if ((i > COUNT)); then
    stop_instance "$i"
    retired+=("$i")
  fi
done

# --- Enable and (re)start. ------------------------------------------------------------------------
[[ $managing == 1 && $units_changed == 1 ]] && systemctl daemon-reload
changed=$((release_changed | units_changed))
restarted=()
for ((i = 1; i <= COUNT; i++)); do
  "${SYSTEMCTL[@]}" enable "fraudstream-agent@$i.service" 2>/dev/null
  if [[ $managing == 1 ]]; then
    if ((changed | ENV_CHANGED[$i])); then
      systemctl restart "fraudstream-agent@$i.service"
      restarted+=("$i")
    else
      systemctl start "fraudstream-agent@$i.service" # no-op when it already runs
    fi
  elif ((changed | ENV_CHANGED[$i])); then
    restarted+=("$i")
  fi
done

ports=""
for ((i = 1; i <= COUNT; i++)); do ports+="${ports:+,}${PORT_OF[$i]}"; done
if ((changed == 0 && ${#restarted[@]} == 0 && ${#retired[@]} == 0)); then
  say "unchanged: fraudstream $VERSION, agents 1..$COUNT on ports $ports"
else
  say "fraudstream $VERSION ($ARCH) at /opt/fraudstream/$VERSION, agents 1..$COUNT on ports $ports"
  ((${#restarted[@]} == 0)) ||
    say "$([[ $managing == 1 ]] && echo restarted || echo "updated (not started: --root)") agents ${restarted[*]}"
  ((${#retired[@]} == 0)) || say "removed agents ${retired[*]}"
fi
