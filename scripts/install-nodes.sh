#!/usr/bin/env bash
# Installs the Node.js majors auditflow is tested on besides the machine's own, from the npm
# registry (the `node` package fetches the official binary for this platform; no other download
# site is needed): one directory per major under the cache, reused while it works.
#   scripts/install-nodes.sh [MAJOR...]      default: 22 24
# The binaries end up at $AUDITFLOW_NODE_CACHE/<major>/node_modules/node/bin/node, where
# test/unit/node-versions.test.ts looks for them. Measured here: about 20 s per major, run in parallel.
set -euo pipefail

cache=${AUDITFLOW_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/auditflow/node}
majors=("$@")
((${#majors[@]} > 0)) || majors=(22 24)

install_major() {
  local major=$1 dir=$cache/$1
  local binary=$dir/node_modules/node/bin/node
  if [[ -x $binary ]] && [[ $("$binary" -p 'process.versions.node.split(".")[0]' 2>/dev/null) == "$major" ]]; then
    echo "node $major: $("$binary" --version) (cached in $dir)"
    return
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  # Its own directory with an empty package.json, so npm does not climb into an enclosing project.
  echo '{"private":true}' >"$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "node@$major" >/dev/null
  echo "node $major: $("$binary" --version) (installed in $dir)"
}

pids=()
for major in "${majors[@]}"; do
  install_major "$major" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
