#!/usr/bin/env bash
# Builds a minimal Node base image from the host's own node binary and static busybox, so
# tests and the bench never need a registry. Usage: scripts/make-base-image.sh NAME:TAG
set -euo pipefail

say() { echo "[make-base-image] $*"; }
fail() { say "error: $*" >&2; exit 1; }

readonly IMAGE="${1:-}"
readonly NODE_BINARY=/usr/bin/node
readonly BUSYBOX_BINARY=/bin/busybox
# Only applets that work without DNS or NSS libraries; wget and nslookup crash in this image.
readonly BUSYBOX_APPLETS=(sh ls cat echo sleep env mkdir rm cp mv ps kill true false)

check_prerequisites() {
  [ -n "$IMAGE" ] || fail "usage: $0 NAME:TAG"
  [ -x "$NODE_BINARY" ] || fail "$NODE_BINARY not found"
  [ -x "$BUSYBOX_BINARY" ] || fail "$BUSYBOX_BINARY not found (install busybox-static)"
  command -v docker >/dev/null || fail "docker CLI not found"
}

image_exists() {
  docker image inspect "$IMAGE" >/dev/null 2>&1
}

shared_libraries_of() {
  ldd "$1" | grep -o '/[^ ]*' || true
}

copy_to_same_path() {
  local source=$1 root=$2
  mkdir -p "$root$(dirname "$source")"
  cp -L "$source" "$root$source"
}

add_node() {
  local root=$1 library
  copy_to_same_path "$NODE_BINARY" "$root"
  for library in $(shared_libraries_of "$NODE_BINARY"); do
    copy_to_same_path "$library" "$root"
  done
}

add_busybox() {
  local root=$1 applet
  mkdir -p "$root/bin"
  cp "$BUSYBOX_BINARY" "$root/bin/busybox"
  for applet in "${BUSYBOX_APPLETS[@]}"; do
    ln -s busybox "$root/bin/$applet"
  done
}

add_system_files() {
  local root=$1
  mkdir -p "$root/tmp" "$root/etc"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
}

import_image() {
  local root=$1
  tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/bin:/bin' \
    -c 'LABEL berth.test=base' \
    - "$IMAGE" >/dev/null
}

main() {
  check_prerequisites
  if image_exists; then
    say "image $IMAGE already exists"
    exit 0
  fi
  local root
  root=$(mktemp -d)
  # Expanded now: main's local is gone by the time the EXIT trap runs.
  trap "rm -rf -- '$root'" EXIT
  say "building $IMAGE from $NODE_BINARY ($("$NODE_BINARY" --version)) and $BUSYBOX_BINARY"
  add_node "$root"
  add_busybox "$root"
  add_system_files "$root"
  import_image "$root"
  say "imported $IMAGE"
}

main
