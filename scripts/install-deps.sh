#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages auditflow needs to build and test, only those that
# are missing: a C++ toolchain and python3 for node-gyp, util-linux for flock/setpriv,
# redis-server (with redis-cli, for the Redis Cluster test) for the Redis sink, openssl to make the TLS
# tests' certificates, systemd for systemd-analyze (the unit file's test; it need not be the init
# system), prometheus for promtool (the metrics' lint test; its service is not started), liburing-dev
# for the io_uring workload, nftables and iproute2 for the netfilter test's network namespace,
# groff-base for groff (the man page's test), tmux for the live view's test (auditflow top). The
# container test's Docker engine is not installed here (setup.sh runs this): npm test installs it
# (scripts/install-test-deps.sh). Node.js itself must already be installed: 22 or 24
# (20.15 and later 20.x still work).
set -euo pipefail

packages=(build-essential python3 util-linux redis-server redis-tools openssl systemd prometheus liburing-dev nftables iproute2 groff-base tmux)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v node >/dev/null; then
  echo "auditflow needs Node.js 22 or 24 (or 20.15 and later; not installed); see https://nodejs.org/en/download/package-manager" >&2
  exit 1
fi
# zlib.crc32 (the spool's checksum) arrived in Node 20.15.
if ! node -e 'const [major, minor] = process.versions.node.split(".").map(Number); process.exit(major > 20 || (major === 20 && minor >= 15) ? 0 : 1)'; then
  echo "auditflow needs Node.js 22 or 24 (or 20.15 and later), found $(node --version)" >&2
  exit 1
fi

bash "$(dirname "$0")/fetch-auditd.sh"
