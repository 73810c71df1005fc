#!/usr/bin/env bash
# Runs before `npm test` (npm's pretest): the kernel has one audit daemon slot, and the tests take it.
# On a host where setup.sh installed the auditflow service, that service holds the slot, so the
# tests would all fail on it: stop the service first, and say how to start it again. Without
# systemd, or with the service not running, this does nothing.
set -euo pipefail
if command -v systemctl >/dev/null && systemctl is-active --quiet auditflow.service 2>/dev/null; then
  echo "npm test: stopping the auditflow service (it holds the kernel's one audit daemon slot, which the tests take); start it again with: systemctl start auditflow" >&2
  systemctl stop auditflow.service
fi
