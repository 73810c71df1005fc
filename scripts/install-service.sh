#!/usr/bin/env bash
# setup.sh's last steps, after install-package.sh: the config file, and where systemd is the init
# system the auditflow service, enabled and started. scripts/uninstall.sh undoes them.
#   - installs /etc/auditflow/auditflow.conf (every setting at its default, mode 0600) if there is none;
#   - with systemd: makes the service's system user `auditflow` (systemd/auditflow.sysusers, installed
#     in /usr/lib/sysusers.d, by systemd-sysusers(8)), gives the config to its group (0640 root:auditflow:
#     the daemon runs as that user), writes /etc/systemd/system/auditflow.service from
#     systemd/auditflow.service with ExecStart set to the installed command, and starts it (which
#     stops auditd: one audit daemon at a time, Conflicts=auditd.service). Prints "systemd" when it
#     did, else nothing.
#   npm_config_prefix=DIR    the npm prefix install-package.sh installed under
#   DESTDIR=DIR              installs under DIR (the tests); systemd counts as the init system when
#                            $DESTDIR/run/systemd/system exists (sd_booted(3))
set -euo pipefail
cd "$(dirname "$0")/.."

root=${DESTDIR:-}
bin=$(npm prefix --global)/bin/auditflow
conf=$root/etc/auditflow/auditflow.conf

# Root's alone (0600): it may hold the Redis password (redis_url), which no other user may read.
if [[ ! -e $conf ]]; then
  install -D -o root -g root -m 0600 config/auditflow.conf "$conf"
  echo "installed /etc/auditflow/auditflow.conf (defaults; edit it to change them)" >&2
elif [[ -n $(find "$conf" -perm /077) ]]; then
  chmod go= "$conf"
  echo "made /etc/auditflow/auditflow.conf readable by root only (it may hold the Redis password)" >&2
fi

if [[ -d $root/run/systemd/system ]]; then
  install -D -m 0644 systemd/auditflow.sysusers "$root/usr/lib/sysusers.d/auditflow.conf"
  if [[ -n $root ]]; then
    systemd-sysusers --root="$root" auditflow.conf >&2
  else
    systemd-sysusers auditflow.conf >&2
  fi
  # The group's number from the root's own group file (under DESTDIR the host does not know the name).
  gid=$(awk -F: '$1 == "auditflow" { print $3 }' "$root/etc/group")
  # Root's, and readable by the daemon's group only: it may hold the Redis password.
  chown "root:$gid" "$conf"
  chmod 0640 "$conf"
  mkdir -p "$root/etc/systemd/system"
  sed "s#^ExecStart=.*#ExecStart=$bin run#" systemd/auditflow.service >"$root/etc/systemd/system/auditflow.service"
  systemctl daemon-reload >&2
  systemctl enable --now auditflow.service >&2
  echo systemd
fi
