#!/usr/bin/env bash
# Installs the server binaries the store tests and benchmarks start themselves: redis-server (with
# redis-benchmark) and PostgreSQL (initdb, pg_ctl under /usr/lib/postgresql/<version>/bin).
# Idempotent and fast when both are present. Never relies on, or leaves running, the OS services:
# test fixtures start their own throw-away servers on free loopback ports.
set -euo pipefail

have_redis() { command -v redis-server >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1; }
have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null; }

packages=()
have_redis || packages+=(redis-server redis-tools)
have_postgres || packages+=(postgresql)

if [ ${#packages[@]} -eq 0 ]; then
  echo "install-servers: redis-server and PostgreSQL already installed."
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-servers: need root (or sudo) to install: ${packages[*]}" >&2; exit 1; }
  sudo=(sudo)
fi

# Keep package scripts from starting the OS services (Debian's policy-rc.d convention); restore
# whatever policy was there before.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" -eq 1 ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
echo "install-servers: installing ${packages[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${packages[@]}" >/dev/null

# If a package script started a service anyway (no policy-rc.d honoured), stop it: nothing may depend on it.
if command -v service >/dev/null 2>&1; then
  "${sudo[@]}" service redis-server stop >/dev/null 2>&1 || true
  "${sudo[@]}" service postgresql stop >/dev/null 2>&1 || true
fi

have_redis || { echo "install-servers: redis-server still missing after install" >&2; exit 1; }
have_postgres || { echo "install-servers: PostgreSQL initdb/pg_ctl still missing after install" >&2; exit 1; }
echo "install-servers: done."
