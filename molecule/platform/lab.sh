#!/usr/bin/env bash
# Host side of the "platform" Molecule scenario: systemd-nspawn containers on a cached
# debootstrap rootfs, wired into network namespaces this script creates.
#
#   lab.sh rootfs <cache-dir>                     build (once) and print the rootfs path
#   lab.sh up <state-dir> <rootfs> <name>=<ip> …  boot one container per name, wait for sshd
#   lab.sh down <state-dir>                       stop what `up` started, delete its namespaces
#
# Network rule of this project: the host namespace never sends to the lab addresses. Every
# lab packet stays between namespaces created here: "scmol-lan" holds a bridge and plays the
# video network (device, management and outsider source addresses), each container gets its
# own namespace joined to that bridge by a veth pair. Ansible reaches the containers with
# `ip netns exec scmol-lan ssh …` (the wrapper written to <state-dir>/ssh).
set -euo pipefail

LAN_NS=scmol-lan
PREFIX=16
# First address is the primary one: Ansible's SSH comes from the management subnet.
LAN_ADDRS=(10.250.2.10 10.250.1.10 10.250.3.10)  # mgmt, device, outsider
# Packages baked into the rootfs: containers have no route to a mirror, so everything the
# roles install must already be there (the roles then find it present: apt is a no-op).
ROOTFS_PACKAGES=systemd,systemd-sysv,dbus,netbase,python3,python3-venv,python3-apt,python3-packaging,iproute2,procps,chrony,nftables,rsyslog,logrotate,kamailio,openssh-server,sudo,ca-certificates,tzdata
SUITE=bookworm
MIRROR=${SAFECITY_DEBIAN_MIRROR:-http://deb.debian.org/debian}

die() { echo "lab.sh: $*" >&2; exit 1; }

cmd_rootfs() {
  local cache=$1 key rootfs tmp
  key=$(printf '%s %s %s' "$SUITE" "$ROOTFS_PACKAGES" v1 | sha256sum | cut -c1-12)
  rootfs="$cache/$SUITE-$key"
  if [[ ! -f "$rootfs/.safecity-complete" ]]; then
    mkdir -p "$cache"
    tmp="$rootfs.partial"
    rm -rf "$tmp"
    debootstrap --variant=minbase --include="$ROOTFS_PACKAGES" "$SUITE" "$tmp" "$MIRROR" >"$cache/debootstrap.log" 2>&1 \
      || die "debootstrap failed, see $cache/debootstrap.log"
    chroot "$tmp" systemctl enable ssh >/dev/null 2>&1
    chroot "$tmp" apt-get clean
    : >"$tmp/etc/machine-id"
    touch "$tmp/.safecity-complete"
    mv "$tmp" "$rootfs"
    # Older package sets are dead weight (~450 MB each).
    find "$cache" -mindepth 1 -maxdepth 1 -name "$SUITE-*" ! -name "$(basename "$rootfs")" -exec rm -rf {} +
  fi
  echo "$rootfs"
}

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

setup_lan() {
  ns_exists "$LAN_NS" && return 0
  ip netns add "$LAN_NS"
  ip -n "$LAN_NS" link set lo up
  ip -n "$LAN_NS" link add br0 type bridge
  ip -n "$LAN_NS" link set br0 up
  local a
  for a in "${LAN_ADDRS[@]}"; do ip -n "$LAN_NS" addr add "$a/$PREFIX" dev br0; done
}

# nspawn cleans up under /run/systemd/nspawn and refuses when that is not a tmpfs
# (this host has no systemd and /run on disk). Mount one, remember that we did.
ensure_nspawn_runtime() {
  local state=$1
  if [[ "$(stat -f -c %T /run)" != tmpfs ]] && ! mountpoint -q /run/systemd/nspawn; then
    mkdir -p /run/systemd/nspawn
    mount -t tmpfs -o mode=0755 safecity-molecule /run/systemd/nspawn
    touch "$state/mounted-nspawn-runtime"
  fi
}

start_container() {
  local state=$1 rootfs=$2 name=$3 addr=$4 ns="scmol-$3" dir="$state/$3"
  mkdir -p "$dir/ssh"
  chmod 0700 "$dir/ssh"
  cp "$state/id_ed25519.pub" "$dir/ssh/authorized_keys"
  chmod 0600 "$dir/ssh/authorized_keys"
  ns_exists "$ns" || ip netns add "$ns"
  if ! ip -n "$LAN_NS" link show "v-$name" >/dev/null 2>&1; then
    ip -n "$LAN_NS" link add "v-$name" type veth peer name eth0 netns "$ns"
    ip -n "$LAN_NS" link set "v-$name" master br0 up
    ip -n "$ns" addr add "$addr/$PREFIX" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  fi
  # --volatile=overlay: the cached rootfs stays pristine, every run starts clean.
  # No CAP_SYS_TIME: the clock is the host's; chrony runs with -x (set by the ntp role).
  setsid systemd-nspawn --quiet --directory="$rootfs" --boot --register=no --keep-unit \
    --volatile=overlay --machine="scmol-$name" --hostname="$name" \
    --network-namespace-path="/run/netns/$ns" --capability=CAP_NET_ADMIN \
    --bind-ro="$dir/ssh:/root/.ssh" --console=passive \
    >"$dir/console.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
}

wait_for_ssh() {
  local state=$1 name=$2 addr=$3 deadline=$((SECONDS + 90))
  until ip netns exec "$LAN_NS" timeout 2 bash -c "exec 3<>/dev/tcp/$addr/22 && head -c 4 <&3" 2>/dev/null | grep -q SSH; do
    kill -0 "$(cat "$state/$name/pid")" 2>/dev/null || die "$name: container exited, see $state/$name/console.log"
    ((SECONDS < deadline)) || die "$name: no sshd on $addr after 90 s"
    sleep 1
  done
}

cmd_up() {
  local state=$1 rootfs=$2; shift 2
  mkdir -p "$state"
  [[ -f "$state/id_ed25519" ]] || ssh-keygen -q -t ed25519 -N '' -C safecity-molecule -f "$state/id_ed25519"
  printf '#!/bin/sh\n# Ansible ssh_executable: run ssh inside the lab namespace.\nexec ip netns exec %s ssh "$@"\n' "$LAN_NS" >"$state/ssh"
  chmod 0755 "$state/ssh"
  ensure_nspawn_runtime "$state"
  setup_lan
  local spec
  for spec in "$@"; do start_container "$state" "$rootfs" "${spec%%=*}" "${spec#*=}"; done
  for spec in "$@"; do wait_for_ssh "$state" "${spec%%=*}" "${spec#*=}"; done
}

# Stop a container by the PID we recorded, only if that PID is still our nspawn.
stop_container() {
  local dir=$1 name pid i
  name=$(basename "$dir")
  [[ -f "$dir/pid" ]] || return 0
  pid=$(cat "$dir/pid")
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "systemd-nspawn.*--machine=scmol-$name "; then
    kill -TERM "$pid"  # nspawn asks the container's systemd to power off
    for i in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$dir/pid"
  ns_exists "scmol-$name" && ip netns del "scmol-$name"
  return 0
}

cmd_down() {
  local state=$1 dir
  if [[ -d "$state" ]]; then
    for dir in "$state"/*/; do [[ -d "$dir" ]] && stop_container "${dir%/}"; done
    if [[ -f "$state/mounted-nspawn-runtime" ]] && mountpoint -q /run/systemd/nspawn; then
      umount /run/systemd/nspawn
    fi
  fi
  ns_exists "$LAN_NS" && ip netns del "$LAN_NS"
  rm -rf "$state"
}

[[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, nspawn)"
case "${1:-}" in
  rootfs) cmd_rootfs "$2" ;;
  up) shift; cmd_up "$@" ;;
  down) cmd_down "$2" ;;
  *) die "usage: lab.sh rootfs <cache> | up <state> <rootfs> <name>=<ip>… | down <state>" ;;
esac
