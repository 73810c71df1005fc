#!/usr/bin/env bash
# The README's first command: sets auditflow up on a fresh Debian/Ubuntu machine and runs
# it. Run as root from the repository: sudo ./scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) != 0 ]]; then
  echo "run as root: kernel audit needs CAP_AUDIT_CONTROL (sudo ./scripts/setup.sh)" >&2
  exit 1
fi
bash scripts/install-deps.sh
export npm_config_nodedir=${npm_config_nodedir:-/usr}
npm ci --no-audit --no-fund
npm run build
npm install --global --no-audit --no-fund .
auditflow status
