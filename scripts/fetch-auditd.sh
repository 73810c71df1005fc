#!/usr/bin/env bash
# Fetches Debian's auditctl as a test oracle, without installing or starting auditd: the
# auditd .deb is downloaded (apt-get download, no dpkg -i) and unpacked with dpkg -x into
# .cache/auditd/, so .cache/auditd/sbin/auditctl exists and nothing on the system changes.
# auditctl links libaudit1 (installed on Debian by default) and libauparse0 (not): the
# libraries are unpacked beside it, and whoever runs it (this script, test/helpers/auditctl.ts)
# sets LD_LIBRARY_PATH to the cache. auditflow never needs auditctl at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${AUDITFLOW_AUDITD_CACHE:-.cache/auditd}
auditctl="$cache/sbin/auditctl"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")
export LD_LIBRARY_PATH="$PWD/$cache/lib/$multiarch:$PWD/$cache/usr/lib/$multiarch"

if [[ -x $auditctl ]] && "$auditctl" -v >/dev/null 2>&1; then
  exit 0
fi

mkdir -p "$cache/debs"
download() {
  # apt-get download writes into the current directory; the package lists may be missing
  # on a fresh machine, so the first failure runs apt-get update once.
  (cd "$cache/debs" && apt-get download -qq "$@" 2>/dev/null) ||
    { apt-get update -qq && (cd "$cache/debs" && apt-get download -qq "$@"); }
}
unpack() {
  for deb in "$cache"/debs/*.deb; do dpkg -x "$deb" "$cache"; done
}

download auditd libauparse0
unpack
if ! "$auditctl" -v >/dev/null 2>&1; then
  download libaudit1 libcap-ng0
  unpack
fi
if ! "$auditctl" -v; then
  echo "fetch-auditd: $auditctl does not run" >&2
  exit 1
fi
