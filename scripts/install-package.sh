#!/usr/bin/env bash
# Installs the built package (run `npm run build` first) as a real copy, never a link into this clone:
# `npm pack` makes the tarball npm would publish, and `npm install --global` unpacks it under npm's
# global prefix (/usr/lib/node_modules/auditflow with Debian's Node, /usr/local/lib/node_modules with a
# Node from nodejs.org), installs its dependencies there and builds the addon for it (node-gyp, from
# the shipped native/ sources). The service's sandbox hides /root and /home (ProtectHome=yes), so
# code it runs must not live in a clone there. Run again after a rebuild: the new copy replaces the
# old one (or the link an earlier `npm install --global .` left). scripts/uninstall.sh removes it.
#   npm_config_prefix=DIR scripts/install-package.sh    installs under DIR instead (the tests do)
set -euo pipefail
cd "$(dirname "$0")/.."

export npm_config_nodedir=${npm_config_nodedir:-/usr}
pack_dir=$(mktemp -d)
trap 'rm -rf "$pack_dir"' EXIT
tarball=$(npm pack --silent --pack-destination "$pack_dir" | tail -n 1)
# The tarball carries the dependencies `npm ci` installed from package-lock.json (bundleDependencies):
# `npm install --global` ignores lock files and would otherwise take the newest versions the ranges
# allow (measured: ioredis 6.1.0 instead of the locked 6.0.0, with which `auditflow status` exited 13,
# an unsettled promise, when Redis was down). It needs no registry either.
npm install --global --no-audit --no-fund --loglevel=error "$pack_dir/$tarball"
prefix=$(npm prefix --global)
# The man page and the bash completion under the same prefix: man(1) searches <prefix>/share/man
# (manpath(5)), bash-completion <prefix>/share/bash-completion/completions for /usr and /usr/local
# (XDG_DATA_DIRS). Generated from the command's definitions (scripts/generate-manual.ts).
install -D -m 0644 man/auditflow.8 "$prefix/share/man/man8/auditflow.8"
install -D -m 0644 completion/auditflow.bash "$prefix/share/bash-completion/completions/auditflow"
echo "installed $prefix/lib/node_modules/auditflow (from $tarball), auditflow(8) and its bash completion"
