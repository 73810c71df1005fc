#!/usr/bin/env bash
# Fetches Debian's auditctl and auditd as test oracles, without installing them: the auditd
# .deb is downloaded (apt-get download, no dpkg -i) and unpacked with dpkg -x into
# .cache/auditd/, so .cache/auditd/sbin/{auditctl,auditd} exist and nothing on the system
# changes. auditctl links libaudit1 (installed on Debian by default) and libauparse0 (not);
# auditd also links libwrap0 (not installed by default): the libraries are unpacked beside
# them, and whoever runs them (this script, test/helpers/auditctl.ts, test/helpers/auditd.ts)
# sets LD_LIBRARY_PATH to the cache. Only tests start the unpacked auditd, in the foreground
# with a private config; auditflow never needs either at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${AUDITFLOW_AUDITD_CACHE:-.cache/auditd}
auditctl="$cache/sbin/auditctl"
auditd="$cache/sbin/auditd"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$(uname -m)-linux-gnu")
export LD_LIBRARY_PATH="$PWD/$cache/lib/$multiarch:$PWD/$cache/usr/lib/$multiarch"

# Both run: auditctl answers -v, and the loader finds every library auditd links (auditd has
# no harmless option to try, so the loader is asked to list them without running it).
runs() {
  [[ -x $auditctl ]] && "$auditctl" -v >/dev/null 2>&1 &&
    [[ -x $auditd ]] && LD_TRACE_LOADED_OBJECTS=1 "$auditd" 2>&1 | { ! grep -q 'not found'; }
}
if runs; then
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

download auditd libauparse0 libwrap0
unpack
if ! runs; then
  download libaudit1 libcap-ng0
  unpack
fi
if ! runs; then
  echo "fetch-auditd: $auditctl or $auditd does not run:" >&2
  "$auditctl" -v >&2 || true
  LD_TRACE_LOADED_OBJECTS=1 "$auditd" 2>&1 | grep 'not found' >&2 || true
  exit 1
fi
"$auditctl" -v
