#!/usr/bin/env bash
# What only the tests need beyond scripts/install-deps.sh, installed by `npm test` (pretest) when
# missing: Debian's docker.io and busybox-static for the container test (test/kernel/
# docker-container.test.ts: an image made by `docker import` of busybox, no registry). Kept out of
# setup.sh so that installing the daemon never installs a container engine. Under systemd the
# package starts its own docker service; the test uses a running engine as it is, and otherwise
# starts dockerd itself and stops it again by its pid. `apt-get purge docker.io` removes it.
set -euo pipefail

packages=(docker.io busybox-static)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "the tests need ${missing[*]} (apt-get install ${missing[*]}, as root)" >&2
    exit 1
  fi
  echo "installing for the container test: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
