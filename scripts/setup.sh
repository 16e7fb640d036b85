#!/usr/bin/env bash
# Brings a fresh machine to the point where berth can run: Debian's docker.io and nginx,
# a running Docker engine, the npm packages, the TypeScript build and the `berth` command. Every step is skipped
# when it is already done, so `npm start` and `npm test` can call this each time.
# Usage: setup.sh [serve|test|bench]: the tests also need Debian's pebble (a test ACME server),
# the bench also Caddy (one of the proxies it compares).
set -euo pipefail
PURPOSE="${1:-serve}"
cd "$(dirname "$0")/.."

say() { echo "[setup] $*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root for: $*  (run as root or install sudo)"; exit 1; fi
}

install_debian_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
  # berth's edge routes from memory with OpenResty's Lua module (it brings lua-resty-core and the
  # NDK); Debian ships it separately, and berth's own nginx.conf loads it.
  [ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || missing+=(libnginx-mod-http-lua)
  # The edge's placeholder TLS certificate is made with the openssl command.
  command -v openssl >/dev/null || missing+=(openssl)
  # busybox-static and wrk are what the tests and the bench use to make offline images and load.
  [ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || missing+=(busybox-static)
  command -v wrk >/dev/null || missing+=(wrk)
  # The git hooks reach berth with curl and print its lines with awk.
  command -v curl >/dev/null || missing+=(curl)
  command -v mawk >/dev/null || command -v awk >/dev/null || missing+=(mawk)
  # berth makes the git port's self-signed certificate with openssl.
  command -v openssl >/dev/null || missing+=(openssl)
  # The registry berth runs for its swarm nodes (berth starts it itself; see stop_packaged_registry).
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  [ "$PURPOSE" != test ] || command -v pebble >/dev/null || missing+=(pebble)
  [ "$PURPOSE" != bench ] || command -v caddy >/dev/null || missing+=(caddy)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} from Debian"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    [[ " ${missing[*]} " != *" docker-registry "* ]] || stop_packaged_registry
  fi
}

# The package starts a registry service of its own on port 5000 (storage in /var/lib/docker-registry);
# berth runs docker-registry itself, with its storage in berth's data dir, on --registry-port (5000).
# So the service berth's install just started is stopped and kept from starting at boot.
stop_packaged_registry() {
  say "stopping and disabling the docker-registry service the package started (berth runs its own registry)"
  if [ -d /run/systemd/system ]; then
    as_root systemctl disable --now docker-registry >/dev/null 2>&1 || true
  else
    as_root service docker-registry stop >/dev/null 2>&1 || true
    as_root update-rc.d docker-registry disable >/dev/null 2>&1 || true
  fi
}

engine_answers() {
  curl -s --max-time 2 --unix-socket /var/run/docker.sock http://localhost/_ping 2>/dev/null | grep -q OK
}

start_docker_engine() {
  engine_answers && return 0
  if [ -f /var/run/docker.pid ]; then
    local pid; pid=$(cat /var/run/docker.pid 2>/dev/null || true)
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
      say "removing stale /var/run/docker.pid (pid ${pid:-?} is not running)"
      as_root rm -f /var/run/docker.pid
    fi
  fi
  if ! pgrep -x dockerd >/dev/null; then
    # --live-restore: restarting the engine (an upgrade, a crash) leaves the apps' containers serving.
    # Each app has a bridge network of its own; Docker's default pools hold about 30, this one 256.
    say "starting dockerd --live-restore --default-address-pool base=10.200.0.0/16,size=24 (log: /var/log/berth-dockerd.log)"
    as_root bash -c 'setsid nohup dockerd --live-restore --default-address-pool base=10.200.0.0/16,size=24 >/var/log/berth-dockerd.log 2>&1 </dev/null &'
  fi
  for _ in $(seq 1 150); do
    engine_answers && { say "Docker engine is up"; return 0; }
    sleep 0.2
  done
  say "the Docker engine did not answer within 30 s; see /var/log/berth-dockerd.log"
  exit 1
}

install_npm_packages() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

build() {
  say "building (tsc)"
  # A clean build: tsc never deletes the output of a source file that is gone.
  rm -rf dist
  npm run --silent build
}

# The berth command on the PATH, as npm installs any CLI: a link from npm's global bin folder to
# this checkout, so a rebuild needs no reinstall. Skipped when it already points here.
install_cli() {
  local entry; entry="$(pwd -P)/dist/src/cli/main.js"
  local installed; installed=$(command -v berth || true)
  if [ -n "$installed" ] && [ "$(readlink -f "$installed")" = "$entry" ]; then return 0; fi
  say "installing the berth command (npm install -g of this checkout)"
  as_root npm install -g --no-audit --no-fund --loglevel=error "$(pwd -P)"
  installed=$(command -v berth || true)
  if [ -z "$installed" ] || [ "$(readlink -f "$installed")" != "$entry" ]; then
    say "berth is installed in $(npm prefix -g)/bin, which is not first on your PATH for berth; add it: export PATH=\"$(npm prefix -g)/bin:\$PATH\""
    exit 1
  fi
  say "berth command: $installed"
}

install_debian_packages
start_docker_engine
install_npm_packages
build
install_cli
