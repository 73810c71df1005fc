#!/usr/bin/env bash
# The README's first command: sets auditflow up on a fresh Debian/Ubuntu machine and runs it.
# Run as root from the repository: ./scripts/setup.sh
#   - installs the build dependencies and redis-server, builds, installs the `auditflow` command as a
#     packed copy (scripts/install-package.sh; running setup again replaces it with the new build);
#   - installs /etc/auditflow/auditflow.conf (every setting at its default, mode 0600) if there is none;
#   - makes sure a Redis answers on 127.0.0.1:6379;
#   - where systemd is the init system: installs and starts the auditflow service (which stops
#     auditd: one audit daemon at a time) and prints `auditflow status`;
#   - elsewhere (containers, minimal VMs): runs `auditflow run` in the foreground; Ctrl-C stops it
#     and puts the kernel's audit state back.
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

# Root's alone (0600): it may hold the Redis password (redis_url), which no other user may read.
if [[ ! -e /etc/auditflow/auditflow.conf ]]; then
  install -D -o root -g root -m 0600 config/auditflow.conf /etc/auditflow/auditflow.conf
  echo "installed /etc/auditflow/auditflow.conf (defaults; edit it to change them)"
elif [[ -n $(find /etc/auditflow/auditflow.conf -perm /077) ]]; then
  chmod go= /etc/auditflow/auditflow.conf
  echo "made /etc/auditflow/auditflow.conf readable by root only (it may hold the Redis password)"
fi

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

if $systemd; then
  sed "s#^ExecStart=.*#ExecStart=$bin run#" systemd/auditflow.service >/etc/systemd/system/auditflow.service
  systemctl daemon-reload
  systemctl enable --now auditflow
  auditflow status
  echo "auditflow runs as a service: journalctl -u auditflow -f; flows: auditflow tail"
else
  echo "systemd is not the init system here: running auditflow in the foreground (Ctrl-C stops it)"
  exec "$bin" run
fi
