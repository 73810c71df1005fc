#!/usr/bin/env bash
# Builds the addon against the headers of the Node.js that runs it. Distribution and
# official builds ship them in <prefix>/include/node; using them avoids node-gyp's header
# download, which fails on machines without general internet access.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(node -p 'require("node:path").resolve(process.execPath, "../..")')
if [[ -z ${npm_config_nodedir:-} && -f $prefix/include/node/node.h ]]; then
  export npm_config_nodedir=$prefix
fi
exec npx --no-install node-gyp rebuild
