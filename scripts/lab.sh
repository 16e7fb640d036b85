#!/usr/bin/env bash
# A Docker Swarm of several engines on this one machine, for trying berth's swarm scheduler and for
# its tests (issue 14). Each engine runs in its own network namespace on a private bridge, as
# ../shared/notes/swarm-lab.md verified:
#   npm run lab -- up [N]     start N engines (default 3), the first the swarm's manager, the rest workers
#   npm run lab -- engines    each node's engine address, one a line (for berth nodes:add)
#   npm run lab -- status     the swarm's nodes as the manager sees them
#   npm run lab -- kill N     node N dies: every process in its namespace is SIGKILLed
#   npm run lab -- down       remove all of it: the swarm, the engines, their data, the bridge
# Everything lives under LAB_DIR (default /var/lib/berth-lab); nothing reaches beyond the bridge.
set -euo pipefail

# BERTH_LAB=L (0 to 9) runs a separate lab beside the default one (L=0): its own names, bridge, subnet and folder.
LAB=${BERTH_LAB:-0}
[[ "$LAB" =~ ^[0-9]$ ]] || { echo "[lab] BERTH_LAB must be a digit from 0 to 9, got \"$LAB\"" >&2; exit 1; }
if [ "$LAB" = 0 ]; then NODE_PREFIX=berth-lab; BRIDGE=berth-lab0; else NODE_PREFIX="berth-l${LAB}n"; BRIDGE="berth-l${LAB}br"; fi
LAB_DIR="${BERTH_LAB_DIR:-/var/lib/berth-lab$([ "$LAB" = 0 ] || echo "-$LAB")}"
SUBNET_PREFIX="10.213.$LAB"
FORWARD_RULE=(FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT)

say() { echo "[lab] $*"; }
die() { echo "[lab] $*" >&2; exit 1; }

node_name() { echo "$NODE_PREFIX$1"; }
veth_name() { echo "veth-l${LAB}n$1"; }
node_address() { echo "$SUBNET_PREFIX.$((10 + $1))"; }
node_socket() { echo "$LAB_DIR/$(node_name "$1")/docker.sock"; }
engine() { local n=$1; shift; docker -H "unix://$(node_socket "$n")" "$@"; }

nodes_up() {
  local found=()
  for dir in "$LAB_DIR/$NODE_PREFIX"*; do [ -S "$dir/docker.sock" ] && found+=("${dir##*/"$NODE_PREFIX"}"); done
  printf '%s\n' "${found[@]}" | sort -n
}

require_root() { [ "$(id -u)" = 0 ] || die "the lab needs root (network namespaces, a bridge, dockerd): run it as root"; }

make_bridge() {
  ip link show "$BRIDGE" >/dev/null 2>&1 && return
  ip link add "$BRIDGE" type bridge
  ip addr add "$SUBNET_PREFIX.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Docker sets the FORWARD policy to DROP; traffic between the namespaces crosses it.
  iptables -C "${FORWARD_RULE[@]}" 2>/dev/null || iptables -I "${FORWARD_RULE[@]}"
}

make_namespace() {
  local n=$1 name; name=$(node_name "$n")
  ip netns list | grep -qw "$name" && return
  ip netns add "$name"
  ip link add "$(veth_name "$n")" type veth peer name eth0 netns "$name"
  ip link set "$(veth_name "$n")" master "$BRIDGE" up
  ip netns exec "$name" ip addr add "$(node_address "$n")/24" dev eth0
  ip netns exec "$name" ip link set eth0 up
  ip netns exec "$name" ip link set lo up
  ip netns exec "$name" ip route add default via "$SUBNET_PREFIX.1"
}

# nsenter --net, not ip netns exec: the latter also remounts /sys and hides the cgroups dockerd needs.
start_engine() {
  local n=$1 dir; dir="$LAB_DIR/$(node_name "$n")"
  mkdir -p "$dir/data" "$dir/exec"
  # Its own (empty) daemon.json: the host's may turn on live-restore, which swarm mode refuses.
  echo '{}' >"$dir/daemon.json"
  [ -S "$dir/docker.sock" ] && engine "$n" info >/dev/null 2>&1 && return
  nsenter --net="/var/run/netns/$(node_name "$n")" unshare --uts sh -c "hostname $(node_name "$n"); exec dockerd \
    --config-file '$dir/daemon.json' --data-root '$dir/data' --exec-root '$dir/exec' --pidfile '$dir/docker.pid' \
    -H 'unix://$dir/docker.sock' --bip 10.214.$((LAB * 10 + n)).1/24 --iptables=true --insecure-registry $SUBNET_PREFIX.0/24" >"$dir/dockerd.log" 2>&1 &
  for _ in $(seq 1 150); do engine "$n" info >/dev/null 2>&1 && return; sleep 0.2; done
  die "the engine of $(node_name "$n") did not start; see $dir/dockerd.log"
}

form_swarm() {
  local count=$1 token
  if [ "$(engine 1 info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    engine 1 swarm init --advertise-addr "$(node_address 1)" >/dev/null
  fi
  token=$(engine 1 swarm join-token -q worker)
  for n in $(seq 2 "$count"); do
    [ "$(engine "$n" info --format '{{.Swarm.LocalNodeState}}')" = active ] && continue
    engine "$n" swarm join --token "$token" "$(node_address 1):2377" >/dev/null
  done
}

up() {
  local count=${1:-3}
  [[ "$count" =~ ^[1-9]$ ]] || die "up takes a number of engines from 1 to 9, got \"$count\""
  require_root
  command -v dockerd >/dev/null || die "dockerd is missing: run npm run setup first"
  mkdir -p "$LAB_DIR"
  make_bridge
  for n in $(seq 1 "$count"); do make_namespace "$n"; start_engine "$n"; say "$(node_name "$n"): engine at $(node_address "$n"), socket $(node_socket "$n")"; done
  form_swarm "$count"
  say "a swarm of $count engines; the manager is $(node_name 1)"
  say "point berth at it: berth serve --swarm-engine unix://$(node_socket 1), then berth nodes:add for each line of: npm run lab -- engines"
}

engines() {
  for n in $(nodes_up); do echo "unix://$(node_socket "$n")"; done
}

# A node dies as a host would: every process in its namespace (its engine, containerd, its containers) is SIGKILLed;
# its address stays, with nothing listening. The manager marks it down after its heartbeats stop.
kill_node() {
  local n=${1:-} name
  [[ "$n" =~ ^[1-9]$ ]] || die "kill takes a node number, e.g. npm run lab -- kill 3"
  require_root
  name=$(node_name "$n")
  ip netns list | grep -qw "$name" || die "$name is not up"
  local pids; pids=$(ip netns pids "$name")
  [ -n "$pids" ] && kill -9 $pids
  rm -f "$LAB_DIR/$name/docker.sock" "$LAB_DIR/$name/docker.pid"
  say "$name: every process in it was killed (its engine and containers)"
}

status() {
  [ -S "$(node_socket 1)" ] || die "no lab is up: npm run lab -- up 3"
  engine 1 node ls
}

down() {
  require_root
  for n in $(nodes_up); do engine "$n" swarm leave --force >/dev/null 2>&1 || true; done
  for pidfile in "$LAB_DIR/$NODE_PREFIX"*/docker.pid; do
    [ -f "$pidfile" ] || continue
    local pid; pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  for name in $(ip netns list | awk -v prefix="$NODE_PREFIX" 'index($1, prefix) == 1 {print $1}'); do ip netns del "$name"; done
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
  iptables -D "${FORWARD_RULE[@]}" 2>/dev/null || true
  # A killed engine leaves its containers' mounts behind.
  awk -v dir="$LAB_DIR/" 'index($2, dir) == 1 {print $2}' /proc/mounts | sort -r | while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
  rm -rf "$LAB_DIR"
  say "the lab is gone"
}

case "${1:-}" in
  up) up "${2:-3}" ;;
  engines) engines ;;
  status) status ;;
  kill) kill_node "${2:-}" ;;
  down) down ;;
  *) die "usage: npm run lab -- up [N] | engines | status | kill N | down (BERTH_LAB=1..9 for a separate lab)" ;;
esac
