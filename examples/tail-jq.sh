#!/bin/sh
# Flows to one remote port, as compact JSON, with jq. `auditflow tail --json` prints each stream entry
# typed (docs/flow.schema.json): ports and pids are numbers and argv an array, so jq compares and
# indexes them directly. (`redis-cli XREAD STREAMS auditflow:flows 0` shows the same entries as the
# stream holds them: flat strings, "remote_port" "443", "argv" "[\"curl\",...]".)
#
#   examples/tail-jq.sh PORT [auditflow tail options: --redis URL --stream KEY --from 0 --count N ...]
#
# AUDITFLOW names the command (default: auditflow).
set -eu
port=${1:?usage: tail-jq.sh PORT [auditflow tail options]}
shift
${AUDITFLOW:-auditflow} tail --json "$@" |
  jq -c --argjson port "$port" 'select(.kind == "flow" and .remote_port == $port) | {time: (.ts / 1000 | todate), op, result, remote: "\(.remote_addr):\(.remote_port)", exe, args: .argv[1:], user}'
