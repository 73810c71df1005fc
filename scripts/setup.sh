#!/usr/bin/env bash
# The README's first command: sets auditflow up on a fresh Debian/Ubuntu machine and runs it.
# Run as root from the repository: ./scripts/setup.sh
#   - installs the build dependencies and redis-server, builds, installs the `auditflow` command as a
#     packed copy (scripts/install-package.sh; running setup again replaces it with the new build);
#     with its man page auditflow(8) and bash completion;
#   - makes sure a Redis answers on 127.0.0.1:6379;
#   - installs /etc/auditflow/auditflow.conf (every setting at its default, mode 0600) if there is none,
#     and where systemd is the init system makes the service's user auditflow (the config then 0640
#     root:auditflow), installs and starts the auditflow service (which stops
#     auditd: one audit daemon at a time) and prints `auditflow status` (scripts/install-service.sh);
#   - elsewhere (containers, minimal VMs): runs `auditflow run` in the foreground; Ctrl-C stops it
#     and puts the kernel's audit state back.
# scripts/uninstall.sh undoes it.
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
# A packed copy under npm's global prefix, not a link into this clone (ProtectHome=yes hides /root and /home).
bash scripts/install-package.sh
bin=$(npm prefix --global)/bin/auditflow

systemd=false
[[ -d /run/systemd/system ]] && systemd=true

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  if $systemd; then
    systemctl enable --now redis-server
  else
    redis-server /etc/redis/redis.conf --daemonize yes
  fi
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# The config file, and with systemd the service, started.
service=$(bash scripts/install-service.sh)
if [[ $service == systemd ]]; then
  "$bin" status
  echo "auditflow runs as a service: journalctl -u auditflow -f; flows: auditflow tail"
else
  echo "systemd is not the init system here: running auditflow in the foreground (Ctrl-C stops it)"
  exec "$bin" run
fi
