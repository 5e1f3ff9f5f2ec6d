#!/usr/bin/env bash
# A lab of emulated VMs on this machine: each "VM" is systemd booted as PID 1 by systemd-nspawn
# from the host's own /usr (tmpfs root, nothing persists), in its own network namespace wired to
# one bridge, with a cgroup-v1 CPU quota (its vCPUs) and memory limit, and sshd reachable with
# keys made for the lab. One optional broker VM runs Kafka (the project's pinned jars) under
# systemd. See usage() and deploy/vmlab/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: vmlab.sh [--prefix P] up [--vms N] [--vcpu C] [--memory SIZE] [--broker] [options]
       vmlab.sh [--prefix P] run [up options] -- COMMAND [ARG...]
       vmlab.sh [--prefix P] ssh VM [COMMAND...]
       vmlab.sh [--prefix P] kill VM
       vmlab.sh [--prefix P] status
       vmlab.sh [--prefix P] down

  up            start the lab (vm1 .. vmN, and "broker" with --broker), print where it is
  run           up, run COMMAND with VMLAB_* in its environment, then down, whatever happens
  ssh           a shell or a command on a VM (as root)
  kill          power a VM off hard: every process of it gets SIGKILL at once
  status        the lab's VMs and whether each still runs
  down          stop every VM and remove everything the lab made, also after a crash

  --prefix P            the lab's name (default $VMLAB_PREFIX, else fsvm): every namespace, link
                        and cgroup it makes starts with P-, its state is /run/fraudstream-vmlab-P,
                        and `down` removes only what starts with P-. Labs with different prefixes
                        (and subnets) run side by side.
  --vms N               agent VMs (default 1)
  --vcpu C              CPU quota of each agent VM in cores, e.g. 0.25 (default 1)
  --memory SIZE         memory limit of each agent VM, e.g. 512M, 2G (default 1G)
  --broker              also start the broker VM, Kafka on BROKER_IP:9092
  --broker-vcpu C       its CPU quota (default 1)
  --broker-memory SIZE  its memory limit (default 2G)
  --kafka-libs DIR      the Kafka jars (default: the project's pinned ones, fetched by Maven)
  --subnet A.B.C        the lab's /24 (default 10.77.0): host .1, broker .2, vmI .10+I

The lab lives in /run/fraudstream-vmlab-P; `up` writes lab.env (shell variables) and ssh_config
there, so `ssh -F /run/fraudstream-vmlab-fsvm/ssh_config vm1` works as well.
EOF
}

die() { # one line, then the exit code (2: usage, 1: environment)
  echo "vmlab: $2" >&2
  exit "$1"
}

# Every netns, link, cgroup and machine name the lab makes starts with PREFIX-; `down` finds
# them by it. Set by --prefix or VMLAB_PREFIX (set_prefix), so that labs can run side by side.
set_prefix() {
  [[ $1 =~ ^[a-z][a-z0-9]{1,7}$ ]] ||
    die 2 "--prefix $1: expected 2..8 lower-case letters or digits, starting with a letter"
  PREFIX=$1
  BRIDGE=$PREFIX-br0
  STATE=/run/fraudstream-vmlab-$PREFIX
  # Kafka's log directory, bound into the broker VM: on the VM's tmpfs root the logs would count
  # as unreclaimable memory against the VM's limit, and a capacity run writes millions of records.
  KAFKA_DATA=/var/tmp/fraudstream-vmlab-kafka-$PREFIX
}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# ------------------------------------------------------------------------------------------------
# Preconditions: checked before anything is created, one line each.

require_host() {
  [[ $(id -u) == 0 ]] || die 1 "needs root (network namespaces, cgroups and systemd-nspawn)"
  local missing=()
  command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
  [[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
  if ((${#missing[@]})); then
    command -v apt-get >/dev/null ||
      die 1 "needs ${missing[*]} and there is no apt-get here to install it"
    echo "vmlab: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1
    } || die 1 "could not install ${missing[*]} with apt-get"
    # The VMs run sshd from the host's /usr; the host itself should not start listening on 22
    # just because the package came with its service enabled.
    if [[ " ${missing[*]} " == *" openssh-server "* && -d /run/systemd/system ]]; then
      systemctl disable --now -q ssh.service ssh.socket 2>/dev/null || true
    fi
  fi
  local tool
  for tool in ip openssl ssh ssh-keygen setsid; do
    command -v "$tool" >/dev/null || die 1 "needs $tool on PATH"
  done
  [[ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]] ||
    die 1 "needs the cgroup v1 cpu controller with CFS quota at /sys/fs/cgroup/cpu (a VM's vCPUs)"
  [[ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]] ||
    die 1 "needs the cgroup v1 cpuacct controller at /sys/fs/cgroup/cpuacct (a VM's CPU use)"
  [[ -f $(memcg_parent)/memory.limit_in_bytes ]] ||
    die 1 "needs the cgroup v1 memory controller at /sys/fs/cgroup/memory (a VM's memory)"
  [[ -d /sys/fs/cgroup/unified && -d /sys/fs/cgroup/systemd ]] ||
    die 1 "needs the hybrid cgroup layout (/sys/fs/cgroup/unified and /sys/fs/cgroup/systemd) that systemd-nspawn uses"
  ip netns del $PREFIX-probe 2>/dev/null || true # left by an interrupted check
  ip netns add $PREFIX-probe 2>/dev/null || die 1 "cannot create network namespaces (ip netns add)"
  if ! ip link add $PREFIX-probe type veth peer name eth0 netns $PREFIX-probe 2>/dev/null; then
    ip netns del $PREFIX-probe
    die 1 "cannot create veth pairs into a network namespace (kernel without veth?)"
  fi
  ip link del $PREFIX-probe
  ip netns del $PREFIX-probe
  if ! ip link add $PREFIX-probe type bridge 2>/dev/null; then
    die 1 "cannot create a bridge (kernel without bridge support?)"
  fi
  ip link del $PREFIX-probe
}

# Memory cgroups nest under the one this script runs in, so the lab counts against whatever
# limit its caller already has instead of escaping it.
memcg_parent() {
  echo "/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup | sed 's#/$##')"
}

# ------------------------------------------------------------------------------------------------
# Values

cpu_quota_us() { # "0.25" -> 25000 (per 100 ms period)
  [[ $1 =~ ^([0-9]+)?(\.[0-9]+)?$ && -n $1 && $1 != . ]] || return 1
  local us
  us=$(awk -v c="$1" 'BEGIN { printf "%d", c * 100000 }')
  ((us >= 1000)) || return 1 # the kernel's minimum quota
  echo "$us"
}

memory_bytes() { # "512M" / "2G" / bytes -> bytes
  [[ $1 =~ ^([0-9]+)([KMG]?)$ ]] || return 1
  local n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]}
  case $unit in
  K) echo $((n * 1024)) ;;
  M) echo $((n * 1024 * 1024)) ;;
  G) echo $((n * 1024 * 1024 * 1024)) ;;
  *) echo "$n" ;;
  esac
}

# ------------------------------------------------------------------------------------------------
# One VM

ssh_vm() { ssh -F "$STATE/ssh_config" "$@"; }

cgroup_dirs() { # every cgroup directory of VM $1, one per line
  echo "/sys/fs/cgroup/cpu/$PREFIX-$1"
  # cpuacct counts the CPU the VM used (a capacity run reads it); the same group where co-mounted.
  echo "/sys/fs/cgroup/cpuacct/$PREFIX-$1"
  echo "$(cat "$STATE/vms/$1/memcg" 2>/dev/null || echo "$(memcg_parent)/$PREFIX-$1")"
  echo "/sys/fs/cgroup/unified/$PREFIX-$1"
  echo "/sys/fs/cgroup/systemd/$PREFIX-$1"
}

start_vm() { # NAME IP CPU_QUOTA_US MEMORY_BYTES [nspawn option...]
  local name=$1 ip=$2 quota=$3 bytes=$4
  shift 4
  local ns=$PREFIX-$name dir=$STATE/vms/$name
  mkdir -p "$dir"
  echo "$ip" >"$dir/ip"
  ip netns add "$ns"
  ip link add "$ns" type veth peer name eth0 netns "$ns"
  ip link set "$ns" master $BRIDGE up
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up

  # Its own cgroup in every hierarchy: cpu and memory size the VM; nspawn puts its payload/ and
  # supervisor/ groups under the unified and systemd ones it starts in, so VMs never share them.
  local memcg
  memcg="$(memcg_parent)/$ns"
  echo "$memcg" >"$dir/memcg"
  local cg
  while read -r cg; do mkdir -p "$cg"; done < <(cgroup_dirs "$name")
  echo 100000 >"/sys/fs/cgroup/cpu/$ns/cpu.cfs_period_us"
  echo "$quota" >"/sys/fs/cgroup/cpu/$ns/cpu.cfs_quota_us"
  echo "$bytes" >"$memcg/memory.limit_in_bytes"

  local join=""
  while read -r cg; do join+="echo \$\$ >'$cg/cgroup.procs'; "; done < <(cgroup_dirs "$name")
  # -D / --volatile=yes: the host's /usr read-only on a tmpfs root. --keep-unit and
  # --register=no: no machined or system bus here. systemd.firstboot=off: no prompt at boot.
  setsid bash -c "$join exec \"\$@\"" vm systemd-nspawn -D / --volatile=yes -b \
    --register=no --keep-unit -M "$PREFIX-$name" --hostname="$name" --network-namespace-path="/run/netns/$ns" \
    --console=read-only \
    --bind-ro="$STATE/etc-ssh:/etc/ssh" \
    --bind-ro="$STATE/sshd-sysusers.conf:/etc/sysusers.d/sshd.conf" \
    --bind-ro=/etc/alternatives \
    --set-credential="passwd.hashed-password.root:$(cat "$STATE/root.hash")" \
    "$@" systemd.firstboot=off systemd.wants=ssh.service \
    >"$dir/console.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  # Until the child has moved itself into its cgroups, the VM would look stopped to wait_ssh.
  local tries=0
  until vm_running "$name"; do
    ((++tries < 100)) || die 1 "VM $name did not start: $(tail -n 3 "$dir/console.log" | paste -sd ' ' -)"
    sleep 0.05
  done
}

wait_ssh() { # NAME TIMEOUT_S: until sshd answers and systemd finished booting
  local name=$1 deadline=$((SECONDS + $2))
  until ssh_vm -o ConnectTimeout=2 "$name" 'systemctl is-system-running --wait >/dev/null 2>&1; true' 2>/dev/null; do
    if ! vm_running "$name"; then
      die 1 "VM $name stopped while booting: $(tail -n 3 "$STATE/vms/$name/console.log" | tr -d '\r' | paste -sd ' ' -)"
    fi
    ((SECONDS < deadline)) || die 1 "VM $name did not answer over ssh within $2 s (console: $STATE/vms/$name/console.log)"
    sleep 0.5
  done
}

vm_running() { # NAME: any process left in its cpu group (a killed supervisor may linger as a zombie)
  [[ -n $(cat "/sys/fs/cgroup/cpu/$PREFIX-$1/cgroup.procs" 2>/dev/null) ]]
}

kill_cgroup_procs() { # DIR: SIGKILL every process in it and below until none is left
  local dir=$1 pids tries=0
  [[ -d $dir ]] || return 0
  while pids=$(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null) && [[ -n $pids ]]; do
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
    ((++tries < 100)) || return 1
    sleep 0.05
  done
}

remove_cgroup() { # DIR and every group nspawn or the VM's systemd left below it
  [[ -d $1 ]] || return 0
  find "$1" -depth -type d -exec rmdir {} + 2>/dev/null || true
  [[ ! -d $1 ]]
}

# ------------------------------------------------------------------------------------------------
# Broker VM: Kafka in KRaft mode as a systemd service, storage on the VM's tmpfs.

kafka_libs() {
  if [[ -n $KAFKA_LIBS ]]; then
    [[ -d $KAFKA_LIBS ]] || die 2 "--kafka-libs $KAFKA_LIBS is not a directory"
    echo "$KAFKA_LIBS"
    return
  fi
  local deno=(deno)
  command -v deno >/dev/null || deno=(npx -y deno@2)
  "${deno[@]}" run -A "$REPO/kafka/local/kafka_jars.ts" ||
    die 1 "could not get the Kafka jars (see above); pass --kafka-libs DIR"
}

start_kafka() { # on the broker VM, reachable at BROKER_IP:9092
  local cluster_id
  cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  [[ $cluster_id != -* ]] || cluster_id=A${cluster_id:1}
  ssh_vm broker "mkdir -p /etc/kafka && cat >/etc/kafka/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://$BROKER_IP:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://$BROKER_IP:9092
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=/var/lib/kafka/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
transaction.abort.timed.out.transaction.cleanup.interval.ms=2000
EOF
  ssh_vm broker "cat >/etc/systemd/system/kafka.service && systemctl daemon-reload && systemctl start kafka" <<EOF
[Unit]
Description=Kafka broker of the vmlab
[Service]
Environment="JAVA_OPTS=-Xmx512m -Xms128m -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Dkafka.logs.dir=/var/lib/kafka/logs -Dlog4j2.configurationFile=/opt/kafka/log4j2.yaml"
ExecStartPre=/usr/bin/mkdir -p /var/lib/kafka/logs
ExecStartPre=/usr/bin/java \$JAVA_OPTS -cp /opt/kafka/libs/* kafka.tools.StorageTool format --ignore-formatted --cluster-id $cluster_id --config /etc/kafka/server.properties
ExecStart=/usr/bin/java \$JAVA_OPTS -cp /opt/kafka/libs/* kafka.Kafka /etc/kafka/server.properties
Restart=on-failure
[Install]
WantedBy=multi-user.target
EOF
  local deadline=$((SECONDS + 120))
  until (exec 3<>"/dev/tcp/$BROKER_IP/9092") 2>/dev/null; do
    if ssh_vm broker 'systemctl is-failed -q kafka' 2>/dev/null; then
      die 1 "Kafka failed on the broker VM: $(ssh_vm broker 'journalctl -u kafka -n 3 --no-pager -o cat' | paste -sd ' ' -)"
    fi
    ((SECONDS < deadline)) || die 1 "Kafka on the broker VM did not open $BROKER_IP:9092 within 120 s"
    sleep 1
  done
}

# ------------------------------------------------------------------------------------------------
# Commands

VMS=1
VCPU=1
MEMORY=1G
BROKER=0
BROKER_VCPU=1
BROKER_MEMORY=2G
KAFKA_LIBS=""
SUBNET=10.77.0
TEARDOWN=0 # 1: the EXIT trap takes the lab down
KEEP_UP=1  # 0 for `run`, whose command decides when the lab goes
on_exit() {
  local status=$?
  if [[ $TEARDOWN == 1 ]]; then
    ((status == 0)) || echo "vmlab: tearing the lab down" >&2
    cmd_down >&2 || status=1
  fi
  exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

parse_up_flags() { # sets the globals above; returns the number of arguments consumed
  local consumed=0
  need_value() { [[ $# -ge 2 && -n $2 ]] || die 2 "$1 needs a value (see vmlab.sh --help)"; }
  while [[ $# -gt 0 ]]; do
    case $1 in
    --vms) need_value "$@"; VMS=$2 ;;
    --vcpu) need_value "$@"; VCPU=$2 ;;
    --memory) need_value "$@"; MEMORY=$2 ;;
    --broker-vcpu) need_value "$@"; BROKER_VCPU=$2 ;;
    --broker-memory) need_value "$@"; BROKER_MEMORY=$2 ;;
    --kafka-libs) need_value "$@"; KAFKA_LIBS=$2 ;;
    --subnet) need_value "$@"; SUBNET=$2 ;;
    --broker) BROKER=1; shift; consumed=$((consumed + 1)); continue ;;
    --) break ;;
    *) die 2 "unknown option $1 (see vmlab.sh --help)" ;;
    esac
    shift 2
    consumed=$((consumed + 2))
  done
  [[ $VMS =~ ^[0-9]+$ ]] && ((VMS >= 0 && VMS <= 50)) || die 2 "--vms $VMS: expected 0..50"
  cpu_quota_us "$VCPU" >/dev/null || die 2 "--vcpu $VCPU: expected cores, at least 0.01, e.g. 0.25"
  cpu_quota_us "$BROKER_VCPU" >/dev/null || die 2 "--broker-vcpu $BROKER_VCPU: expected cores, e.g. 1"
  memory_bytes "$MEMORY" >/dev/null || die 2 "--memory $MEMORY: expected a size like 512M or 2G"
  memory_bytes "$BROKER_MEMORY" >/dev/null || die 2 "--broker-memory $BROKER_MEMORY: expected a size like 2G"
  [[ $SUBNET =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || die 2 "--subnet $SUBNET: expected A.B.C (a /24)"
  ((VMS > 0 || BROKER == 1)) || die 2 "nothing to start: --vms 0 without --broker"
  PARSED=$consumed
}

cmd_up() {
  require_host
  [[ ! -e $STATE ]] || die 1 "a lab is already up ($STATE): vmlab.sh down first"
  [[ -z $(ip -o addr show to "$SUBNET.0/24" 2>/dev/null) ]] ||
    die 1 "$SUBNET.0/24 is already in use on this machine (pick another --subnet)"
  local libs=""
  ((BROKER == 0)) || libs=$(kafka_libs)
  TEARDOWN=1 # from here on, any exit before the lab is complete removes what was made
  mkdir -p "$STATE/etc-ssh" "$STATE/vms"
  chmod 0700 "$STATE"

  # Throw-away keys: the client key, one host key shared by the lab's VMs, a random root
  # password hash (sshd refuses key logins to an account whose password is locked).
  ssh-keygen -q -t ed25519 -N '' -C vmlab -f "$STATE/id_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C vmlab-host -f "$STATE/etc-ssh/ssh_host_ed25519_key"
  cp "$STATE/id_ed25519.pub" "$STATE/etc-ssh/authorized_keys"
  cat >"$STATE/etc-ssh/sshd_config" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
AuthorizedKeysFile /etc/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
Subsystem sftp internal-sftp
EOF
  echo 'u sshd - "sshd privsep" /run/sshd' >"$STATE/sshd-sysusers.conf"
  openssl passwd -6 "$(head -c 24 /dev/urandom | base64)" >"$STATE/root.hash"
  {
    echo "Host *"
    echo "  User root"
    echo "  IdentityFile $STATE/id_ed25519"
    echo "  IdentitiesOnly yes"
    echo "  UserKnownHostsFile $STATE/known_hosts"
    echo "  StrictHostKeyChecking yes"
    echo "  BatchMode yes"
    echo "  LogLevel ERROR"
  } >"$STATE/ssh_config.common"
  : >"$STATE/ssh_config"
  : >"$STATE/known_hosts"
  local hostkey
  hostkey=$(cut -d' ' -f1,2 "$STATE/etc-ssh/ssh_host_ed25519_key.pub")

  ip link add $BRIDGE type bridge
  ip addr add "$SUBNET.1/24" dev $BRIDGE
  ip link set $BRIDGE up

  local names=() ips=()
  BROKER_IP=""
  if ((BROKER)); then
    BROKER_IP=$SUBNET.2
    names+=(broker)
    ips+=("$BROKER_IP")
  fi
  local i
  for ((i = 1; i <= VMS; i++)); do
    names+=("vm$i")
    ips+=("$SUBNET.$((10 + i))")
  done
  for i in "${!names[@]}"; do
    printf 'Host %s\n  HostName %s\n' "${names[$i]}" "${ips[$i]}" >>"$STATE/ssh_config"
    echo "${ips[$i]} $hostkey" >>"$STATE/known_hosts"
  done
  cat "$STATE/ssh_config.common" >>"$STATE/ssh_config"
  rm "$STATE/ssh_config.common"

  for i in "${!names[@]}"; do
    if [[ ${names[$i]} == broker ]]; then
      rm -rf "$KAFKA_DATA"
      mkdir -p "$KAFKA_DATA"
      # Debian's JDK keeps its configuration (java.security) under /etc/java-<version>.
      local java_etc=()
      for dir in /etc/java-*; do [[ -d $dir ]] && java_etc+=(--bind-ro="$dir"); done
      start_vm broker "$BROKER_IP" "$(cpu_quota_us "$BROKER_VCPU")" \
        "$(memory_bytes "$BROKER_MEMORY")" "${java_etc[@]}" --bind-ro="$libs:/opt/kafka/libs" \
        --bind-ro="$REPO/kafka/local/log4j2.yaml:/opt/kafka/log4j2.yaml" \
        --bind="$KAFKA_DATA:/var/lib/kafka"
    else
      start_vm "${names[$i]}" "${ips[$i]}" "$(cpu_quota_us "$VCPU")" "$(memory_bytes "$MEMORY")"
    fi
  done
  for name in "${names[@]}"; do wait_ssh "$name" 180; done
  ((BROKER == 0)) || start_kafka

  local vm_names=() vm_ips=()
  for ((i = 1; i <= VMS; i++)); do
    vm_names+=("vm$i")
    vm_ips+=("$SUBNET.$((10 + i))")
  done
  {
    echo "# Written by vmlab.sh up; sourced by vmlab.sh run for its command."
    printf 'VMLAB_STATE=%q\n' "$STATE"
    printf 'VMLAB_SSH_CONFIG=%q\n' "$STATE/ssh_config"
    printf 'VMLAB_VMS=%q\n' "${vm_names[*]}"
    printf 'VMLAB_VM_IPS=%q\n' "${vm_ips[*]}"
    printf 'VMLAB_HOST_IP=%q\n' "$SUBNET.1"
    printf 'VMLAB_VCPU=%q\n' "$VCPU"
    printf 'VMLAB_MEMORY=%q\n' "$MEMORY"
    printf 'VMLAB_BROKERS=%q\n' "${BROKER_IP:+$BROKER_IP:9092}"
  } >"$STATE/lab.env"
  [[ $KEEP_UP == 0 ]] || TEARDOWN=0
  echo "vmlab: up: ${names[*]} on $SUBNET.0/24 (agent VMs ${VCPU} vCPU, $MEMORY each${BROKER_IP:+; Kafka at $BROKER_IP:9092})"
  echo "vmlab: ssh -F $STATE/ssh_config vm1; environment in $STATE/lab.env"
}

cmd_kill() { # power cut: the nspawn supervisor and every process of the VM die at once
  local name=$1
  [[ -d $STATE/vms/$name ]] || die 2 "no VM named $name in the lab"
  local cg
  kill_cgroup_procs "/sys/fs/cgroup/cpu/$PREFIX-$name" ||
    die 1 "processes of $name survived SIGKILL"
  while read -r cg; do kill_cgroup_procs "$cg" || true; done < <(cgroup_dirs "$name")
  echo "vmlab: $name powered off"
}

cmd_down() { # everything the lab made, by its record and by name, so a crashed up is cleaned too
  local name pid cg failed=()
  if [[ -d $STATE/vms ]]; then
    for dir in "$STATE"/vms/*/; do
      [[ -d $dir ]] || continue
      pid=$(cat "$dir/pid" 2>/dev/null || true)
      # SIGTERM asks nspawn for a clean shutdown of the VM's systemd; SIGKILL after 15 s.
      [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null || true
    done
    local deadline=$((SECONDS + 15))
    for dir in "$STATE"/vms/*/; do
      [[ -d $dir ]] || continue
      while vm_running "$(basename "$dir")" && ((SECONDS < deadline)); do sleep 0.2; done
    done
  fi
  local groups=()
  mapfile -t groups < <(
    find -H /sys/fs/cgroup/cpu /sys/fs/cgroup/cpuacct /sys/fs/cgroup/unified /sys/fs/cgroup/systemd \
      -maxdepth 1 -type d -name "$PREFIX-*" 2>/dev/null | sort -u
    find /sys/fs/cgroup/memory -maxdepth 5 -type d -name "$PREFIX-*" 2>/dev/null
  )
  for cg in "${groups[@]}"; do kill_cgroup_procs "$cg" || failed+=("processes in $cg"); done
  for cg in "${groups[@]}"; do remove_cgroup "$cg" || failed+=("cgroup $cg"); done
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$PREFIX-" || true); do
    ip netns del "$ns" 2>/dev/null || failed+=("netns $ns")
  done
  local link
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | sed 's/@.*//' | grep "^$PREFIX-" || true); do
    # A veth also goes when its namespace does, which may just be happening.
    ip link del "$link" 2>/dev/null || ! ip link show "$link" >/dev/null 2>&1 || failed+=("link $link")
  done
  # nspawn's propagation directories of our machines (named after them).
  for name in broker $(seq -f 'vm%g' 1 50); do
    [[ -d /run/systemd/nspawn/propagate/$PREFIX-$name ]] &&
      rm -rf "/run/systemd/nspawn/propagate/$PREFIX-$name"
  done
  rm -rf "$STATE" "$KAFKA_DATA"
  if ((${#failed[@]})); then die 1 "down left: ${failed[*]}"; fi
  echo "vmlab: down: nothing of the lab is left"
}

cmd_status() {
  [[ -d $STATE/vms ]] || { echo "vmlab: no lab is up"; return 0; }
  local dir name
  for dir in "$STATE"/vms/*/; do
    name=$(basename "$dir")
    if vm_running "$name"; then
      echo "$name $(cat "$dir/ip") running"
    else
      echo "$name $(cat "$dir/ip") off"
    fi
  done
}

set_prefix "${VMLAB_PREFIX:-fsvm}"
if [[ ${1:-} == --prefix ]]; then
  [[ $# -ge 2 && -n $2 ]] || die 2 "--prefix needs a value (see vmlab.sh --help)"
  set_prefix "$2"
  shift 2
fi
[[ $# -gt 0 ]] || { usage >&2; exit 2; }
command=$1
shift
case $command in
-h | --help | help) usage ;;
up)
  parse_up_flags "$@"
  shift "$PARSED"
  [[ $# -eq 0 ]] || die 2 "unexpected argument $1 (see vmlab.sh --help)"
  cmd_up
  ;;
run)
  parse_up_flags "$@"
  shift "$PARSED"
  [[ ${1:-} == -- && $# -ge 2 ]] || die 2 "run needs -- COMMAND (see vmlab.sh --help)"
  shift
  KEEP_UP=0
  cmd_up >&2
  status=0
  (
    set -a
    # shellcheck source=/dev/null
    . "$STATE/lab.env"
    set +a
    exec "$@"
  ) || status=$?
  exit "$status"
  ;;
ssh)
  [[ $# -ge 1 ]] || die 2 "ssh needs a VM name (see vmlab.sh --help)"
  [[ -f $STATE/ssh_config ]] || die 1 "no lab is up (vmlab.sh up)"
  exec ssh -F "$STATE/ssh_config" "$@"
  ;;
kill)
  [[ $# -eq 1 ]] || die 2 "kill needs one VM name (see vmlab.sh --help)"
  [[ $(id -u) == 0 ]] || die 1 "needs root"
  cmd_kill "$1"
  ;;
status) cmd_status ;;
down)
  [[ $(id -u) == 0 ]] || die 1 "needs root"
  cmd_down
  ;;
*) die 2 "unknown command $command (see vmlab.sh --help)" ;;
esac
