#!/usr/bin/env bash
# Undoes scripts/setup.sh. Run as root from the repository: ./scripts/uninstall.sh [--purge]
#   - stops and disables the auditflow service and removes its unit (where setup.sh installed one):
#     the daemon, stopping, deletes the rules it loaded and gives up the kernel's audit daemon slot
#     (pid 0), putting back the audit state it found;
#   - removes auditflow's rules if a daemon that did not stop cleanly left them loaded
#     (`auditflow rules clear`: only the rules auditflow recorded as its own, and the self-exclusion
#     rule of a daemon that is gone);
#   - removes the installed package (npm's global prefix), its man page and its bash completion;
#   - removes /run/auditflow (the status file a killed daemon left);
#   - with --purge also /etc/auditflow (the config), /etc/default/auditflow, /var/lib/auditflow (the
#     spool: flows not yet sent to Redis are lost) and the service's user auditflow; without it they stay.
# Left alone: the Debian packages setup.sh installed (other software may use them; Redis keeps
# running). auditd, which the service stopped (Conflicts=auditd.service), is not started again here:
# the script says how when it is installed and not running.
# An auditflow of this install still holding the audit slot outside systemd (a foreground
# `auditflow run`) stops the uninstall before anything is removed: stop it first (Ctrl-C).
#   npm_config_prefix=DIR    the npm prefix the package was installed under (as install-package.sh)
#   DESTDIR=DIR              prefix of the system paths above (the tests use a scratch directory)
set -euo pipefail
cd "$(dirname "$0")/.."

purge=false
case ${1:-} in
  --purge) purge=true ;;
  '') ;;
  *)
    echo "usage: scripts/uninstall.sh [--purge]" >&2
    exit 2
    ;;
esac
if [[ $(id -u) != 0 ]]; then
  echo "run as root: the service, the kernel's audit rules and the installed files are root's (sudo ./scripts/uninstall.sh)" >&2
  exit 1
fi

root=${DESTDIR:-}
prefix=$(npm prefix --global)
package=$prefix/lib/node_modules/auditflow
bin=$prefix/bin/auditflow
unit=$root/etc/systemd/system/auditflow.service
state=$root/var/lib/auditflow

if [[ -x $bin ]]; then
  # The kernel's audit daemon, unless it is the service's (stopped below): a process of this install
  # must not keep the slot once its files are gone.
  # A kernel without usable audit (exit 4) has no holder and no rules to clear.
  holder=$("$bin" status --json | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).status.pid))') || holder=0
  service_pid=0
  [[ -e $unit ]] && service_pid=$(systemctl show --property MainPID --value auditflow.service)
  if [[ $holder != 0 && $holder != "$service_pid" ]] && tr '\0' ' ' <"/proc/$holder/cmdline" 2>/dev/null | grep -qF -e "$package" -e "$bin"; then
    echo "auditflow (pid $holder) of this install holds the kernel's audit daemon slot: stop it first (Ctrl-C where it runs, or kill $holder); nothing was removed" >&2
    exit 1
  fi
fi

if [[ -e $unit ]]; then
  systemctl disable --now auditflow.service
  rm -f "$unit" "$root/usr/lib/sysusers.d/auditflow.conf"
  systemctl daemon-reload
  echo "stopped and removed the auditflow service"
fi

# A daemon that did not stop cleanly (killed) left its rules loaded: the ones it recorded in the state
# directory and its self-exclusion rule. Nothing else is touched (other tools' rules stay).
if [[ -x $bin ]]; then
  if cleared=$("$bin" rules clear --state-dir "$state" 2>&1); then
    echo "auditflow's rules left loaded: $cleared"
  else
    echo "could not look for auditflow's rules left loaded (going on): $cleared" >&2
  fi
fi

# The status file of a daemon that is gone (systemd removes it with the service; a killed foreground
# run leaves it).
rm -rf "$root/run/auditflow"

# The man page and the completion go by the same prefix (install-package.sh put them there).
rm -f "$prefix/share/man/man8/auditflow.8" "$prefix/share/bash-completion/completions/auditflow"
if [[ -e $package || -L $package ]]; then
  npm uninstall --global --loglevel=error auditflow
  echo "removed $package and $bin"
fi

if $purge; then
  rm -rf "$root/etc/auditflow" "$root/etc/default/auditflow" "$state"
  echo "removed the configuration (/etc/auditflow, /etc/default/auditflow) and the state (/var/lib/auditflow)"
  # The service's user (install-service.sh made it); its files went with the state above.
  if [[ -e $root/etc/passwd ]] && grep -q '^auditflow:' "$root/etc/passwd"; then
    userdel --prefix "${root:-/}" auditflow
    echo "removed the user auditflow"
  fi
  if [[ -e $root/etc/group ]] && grep -q '^auditflow:' "$root/etc/group"; then
    groupdel --prefix "${root:-/}" auditflow
  fi
else
  kept=()
  for path in /etc/auditflow /etc/default/auditflow /var/lib/auditflow; do
    [[ -e $root$path ]] && kept+=("$path")
  done
  ((${#kept[@]} == 0)) || echo "kept ${kept[*]} (scripts/uninstall.sh --purge removes them; /var/lib/auditflow/spool holds flows not yet sent)"
fi

if command -v systemctl >/dev/null && systemctl list-unit-files --quiet auditd.service >/dev/null 2>&1 &&
  ! systemctl is-active --quiet auditd.service 2>/dev/null; then
  echo "auditd is installed and not running (the auditflow service stopped it: one audit daemon at a time); start it again with: systemctl enable --now auditd"
fi
