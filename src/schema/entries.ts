// The schema of every entry auditflow writes: flows, loss reports and lifecycle events, one line per
// field. The Flow type (src/pipeline/flow.ts), the JSON Schema (docs/flow.schema.json), the field
// tables of docs/flows.md and the typed reading of stream entries (./typed.ts) all come from here.
// A new flow field is one line in FLOW_FIELDS (and its value in toFlow); a new op, one line in `op`.
import type { Op } from '../pipeline/socket-calls.js';
import { boolean, booleanOrNull, integer, integerOrNull, marker, oneOf, oneOfOrNull, optional, strings, stringsOrNull, text, textOrNull, type FieldTable, type Typed } from './field.js';

/** The flow schema's version: the `v` of every flow. */
export const FLOW_SCHEMA_VERSION = 1;

export const FLOW_FIELDS = {
  v: integer('schema version, `1`'),
  kind: oneOf({ flow: 'a flow' }, '`flow` (loss and lifecycle entries are below)'),
  node: textOrNull('the `node=` of an auditd log line (multi-host logs); `null` for the local kernel'),
  ts: integer('event time, ms since the epoch: when the syscall **started** (a blocking `accept` is stamped when it began waiting)'),
  serial: integer("the kernel's event serial (per boot, 32 bits, wraps to 1); `0` for `close` and `existing`, which come from no audit event"),
  op: oneOf<Op | 'packet' | 'close' | 'existing'>(
    {
      connect: 'connect(2)',
      accept: 'accept(2), accept4(2)',
      bind: 'bind(2)',
      sendto: 'sendto(2), send(2)',
      sendmsg: 'sendmsg(2), sendmmsg(2)',
      recvfrom: 'recvfrom(2), recv(2) (optional rules)',
      recvmsg: 'recvmsg(2), recvmmsg(2) (optional rules)',
      packet: 'a packet a netfilter rule logged',
      close: "a socket's end: its destroy broadcast (sock_diag), joined to the flow that opened it",
      existing: 'a connection or listener that existed when the daemon started (a sock_diag dump)',
    },
    '`connect`, `accept`, `bind`, `sendto`, `sendmsg`; `recvfrom`, `recvmsg` (UDP receives, with `optional:udp-ingress`); `packet` (a netfilter packet, see "Netfilter packets"); `close` (a connection\'s end, see "Close entries"); `existing` (open when the daemon started)',
  ),
  syscall: textOrNull(
    "the syscall's own name: also `accept4` (its `op` is `accept`); for an io_uring operation `io_uring_enter` when it ran inline in that call, `io_uring` when an io_uring worker or poll retry completed it; `null` for a packet",
  ),
  source: oneOf(
    { process: "a process's call", netfilter: 'a packet a netfilter rule logged', sock_diag: "the kernel's socket table (op `close`, `existing`)" },
    "`process`: a process's call (syscall or io_uring); `netfilter`: a packet a netfilter rule logged; `sock_diag`: the kernel's socket table (`close`, `existing`)",
  ),
  via: oneOfOrNull({ syscall: 'a syscall', io_uring: 'an io_uring operation' }, '`syscall` or `io_uring`: how the process made the call; `null` for a packet'),
  uring_op: textOrNull('the io_uring operation (`connect`, `accept`, `bind`, `sendmsg`, `sendmsg_zc`, `recvmsg`) when `via` is `io_uring`'),
  direction: oneOf(
    { egress: 'connect, sendto, sendmsg', ingress: 'accept, recvfrom, recvmsg', listen: 'bind', forward: 'a packet routed through this host', unknown: 'a close whose opener was not seen' },
    '`egress` (connect, sendto, sendmsg), `ingress` (accept, recvfrom, recvmsg), `listen` (bind); for a packet `egress`, `ingress` or `forward` (see "Netfilter packets"); for `close` its opener\'s, `unknown` when the opener was not seen',
  ),
  result: textOrNull(
    '`ok`; `inprogress` for a non-blocking connect (EINPROGRESS, EALREADY): started, not failed; otherwise the errno name (`ECONNREFUSED`, `ENETUNREACH`, `EAGAIN`, ...). For io_uring: `unknown` for an operation that ran (the kernel records whether it was issued, not its outcome; see "io_uring"), `ok` for an accept that returned its peer. For a packet the netfilter action (`accept`, `drop`, `reject`) where the kernel logs it (before 4.12), else `null`',
  ),
  family: text('`inet`, `inet6`; with `--all-families` also `unix`, `netlink`, `unknown`, ...'),
  proto: textOrNull('`tcp`, `udp`, `sctp`, `udplite`, `icmp`, `ipv6-icmp`, `raw`, ... or `null` when the socket is unknown (see below)'),
  proto_num: integerOrNull('the IANA protocol number (6, 17, 132, ...)'),
  local_addr: textOrNull(
    "this host's end: for bind the address asked for; for connect, send and accept from `/proc` while the socket is open (live), or from an earlier bind of the socket",
  ),
  local_port: integerOrNull("this host's port, from where `local_addr` comes from"),
  local_source: optional(
    oneOf(
      { socket: 'the socket itself, looked up microseconds after the syscall (or earlier events of it)', close: "the socket's destroy broadcast (sock_diag)" },
      'where a connect, accept, send or receive flow\'s local end came from: `socket` (the socket itself or earlier events of it), `close` (its destroy broadcast, for a socket closed before it could be looked up); absent when the local end is not known',
    ),
  ),
  remote_addr: textOrNull(
    "the other end: the SOCKADDR record (for accept: the peer), or the peer of the socket's earlier connect (a `send()` on a connected UDP socket), or `/proc`. For AF_UNIX (`--all-families`) the socket path (`@name` for an abstract one)",
  ),
  remote_port: integerOrNull("the other end's port, from where `remote_addr` comes from"),
  remote_source: optional(
    oneOf(
      { close: "the socket's destroy broadcast (sock_diag)" },
      '`close` when an accept\'s peer came from its socket\'s destroy broadcast: the accept copied no address out (`accept4(fd, NULL, ...)`, as libuv does) and the connection was closed before its socket could be looked up; absent when the peer came from the event or the socket',
    ),
  ),
  remote_name: textOrNull(
    'the name a DNS answer this host received gave `remote_addr` (the name the program asked for, the head of the CNAME chain), while the answer lives (its TTL, clamped); the answer to the same process\'s own query wins over other answers; `null` when no answer named it or `dns_names = off` (see docs/dns.md)',
  ),
  remote_cname: textOrNull('the end of the CNAME chain of that answer (the name the address record belongs to), when it differs from `remote_name`'),
  ipv4_mapped: boolean('the process used an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`); the addresses are then written as IPv4, `family` stays `inet6`'),
  scope_id: integerOrNull('IPv6 `sin6_scope_id` (interface index of a link-local address), when non-zero'),
  community_id: textOrNull(
    '[Community ID v1](https://github.com/corelight/community-id-spec), seed 0, when both ends (address and port) are known and the protocol has ports (tcp, udp, sctp, udplite); joins with Zeek, Suricata and flow logs',
  ),
  mark: integerOrNull("a packet's skb mark (netfilter)"),
  in_if: textOrNull("a packet's input interface, where the kernel names it (before 4.12)"),
  out_if: textOrNull("a packet's output interface, likewise"),
  pid: integerOrNull('the process, as the SYSCALL record names it'),
  ppid: integerOrNull('its parent, as the SYSCALL record names it'),
  uid: integerOrNull('real user id'),
  user: textOrNull("the real user's name"),
  euid: integerOrNull('effective user id'),
  euser: textOrNull("the effective user's name"),
  gid: integerOrNull('real group id'),
  group: textOrNull("the real group's name"),
  auid: integerOrNull('login user id (4294967295 = unset: a daemon not started from a login)'),
  auser: textOrNull("the login user's name (`unset` for 4294967295)"),
  ses: integerOrNull('login session (4294967295 = unset)'),
  tty: textOrNull('controlling terminal, `null` for none'),
  comm: textOrNull('the process name (at most 15 bytes; decoded when the kernel hex-encoded it)'),
  exe: textOrNull("the executable's path, as the process sees it (inside a container: the container's path)"),
  argv: strings(
    'the command line from PROCTITLE; where the kernel cut it (it keeps 128 bytes), the one from `/proc/<pid>/cmdline` when the process could still be read, up to `argv_max_bytes` (4096; its arguments joined by NUL) and `argv_max_args` (64) arguments; the count bounds PROCTITLE\'s argv too (128 bytes can hold 128 empty arguments)',
  ),
  cwd: textOrNull("the process's working directory (`/proc/<pid>/cwd`)"),
  proc_start: integerOrNull('when the process started, ms since the epoch (10 ms resolution); with `pid` it names the process for the whole boot'),
  proc_gone: booleanOrNull(
    '`true`: the process had exited (or its pid belonged to another process) before `/proc` could be read, so only the record\'s fields are there; `false`: read; `null`: not looked up (replay)',
  ),
  parent_exe: textOrNull("the parent's executable (`/proc/<ppid>`), when the parent still runs and is the event's"),
  parent_comm: textOrNull("the parent's name, likewise"),
  parent_argv: stringsOrNull("the parent's command line, likewise, up to `argv_max_bytes` and `argv_max_args`"),
  argv_truncated: marker(
    '`true` only when `argv` is cut at `argv_max_bytes` or `argv_max_args` (or to fit `entry_max_bytes`): the command line is longer (a 128-byte argv from PROCTITLE alone may be the kernel\'s cut and is not marked)',
  ),
  parent_argv_truncated: marker('`true` only when `parent_argv` is cut at `argv_max_bytes` or `argv_max_args` (or to fit `entry_max_bytes`)'),
  entry_truncated: marker(
    '`true` only when the entry was cut to fit `entry_max_bytes` (64 KiB of field names and values): its longest texts shortened, argv and parent_argv first (their own markers say so), then paths; each such entry is counted as the loss `entry_truncated`',
  ),
  container_id: textOrNull(
    'the container the process runs in, from `/proc/<pid>/cgroup`: the 64-hex id for docker, containerd, cri-o, podman; the machine name for systemd-nspawn and other machines',
  ),
  container_runtime: textOrNull('`docker`, `containerd`, `cri-o`, `podman`, `systemd-nspawn`, `machine`, or `null` (no container, or a Kubernetes cgroupfs path that does not say)'),
  pod_uid: textOrNull("the Kubernetes pod's uid, from kubelet's `kubepods` cgroup path"),
  unit: textOrNull('the systemd unit of a host process (`ssh.service`, `session-3.scope`); `null` inside a container'),
  netns: optional(
    integer(
      "the inode of the process's network namespace (`/proc/<pid>/ns/net`, as `ip netns identify` and `lsns -t net` show it), only when it is not the daemon's own (a container, an `ip netns`): the same addresses and ports mean different sockets in two namespaces. For a process gone before it was read, its parent's when that is in another namespace. On `close` entries the namespace whose destroy broadcast it was (`flow_end_namespaces = all`)",
    ),
  ),
  labels: strings("the process's labels (see \"Process context\"), sorted; `[]` for none"),
  key: textOrNull("the audit rule's key (`-k`); several keys joined with `,`"),
  fd: integerOrNull("the socket's file descriptor; for accept the new connection's; `null` for io_uring and packets"),
  open_serial: optional(integer('`close`: the `serial` of the flow that opened the connection (connect, accept; for UDP the first flow of the socket); absent when it was not seen')),
  duration_ms: optional(integer('`close`: ms from the opening flow\'s `ts` (for `existing` ones, the daemon\'s start) to the socket\'s destroy')),
  bytes_out: optional(integer('`close` (TCP): payload bytes sent (tcpi_bytes_sent, retransmissions not counted twice), exact')),
  bytes_in: optional(integer('`close` (TCP): payload bytes received (tcpi_bytes_received); one over when the peer closed first (its FIN counts one), see "Close entries"')),
  packets_out: optional(integer('`close` (TCP): segments sent (tcpi_segs_out, SYN, FIN and ACKs included)')),
  packets_in: optional(integer('`close` (TCP): segments received (tcpi_segs_in)')),
  retransmits: optional(integer('`close` (TCP): segments retransmitted (tcpi_total_retrans)')),
  rtt_us: optional(integer('`close` (TCP): smoothed round-trip time, µs (tcpi_rtt)')),
  socket_cookie: optional(text('`close`, `existing`: the kernel\'s socket cookie (16 hex digits), unique while the host runs: joins an `existing` entry to its `close`')),
  count: integer('syscalls this flow stands for: `1`, or more for an aggregate (see "Aggregation")'),
  first_ts: integer('time of the first syscall counted (`ts` for a single one)'),
  last_ts: integer('time of the last syscall counted (`ts` for a single one)'),
} as const satisfies FieldTable;

/** One flow: docs/flows.md, "Fields". */
export type Flow = Typed<typeof FLOW_FIELDS>;

/** A `kind=loss` entry: a hole in the view, see docs/flows.md, "Loss". */
export const LOSS_FIELDS = {
  v: integer('schema version of loss and lifecycle entries, `1`'),
  reason: text('why: `kernel_lost`, `serial_gap`, `spool_full`, ... (docs/observability.md lists every reason)'),
  count: integer('how many records, events or entries were lost'),
  first_ts: integer('time (ms since the epoch) of the first loss this entry covers'),
  last_ts: integer('time of the last loss this entry covers'),
  first_serial: integerOrNull('the first serial of the lost events, where known (serial gaps, downtime)'),
  last_serial: integerOrNull('the last serial of the lost events, where known'),
  detail: textOrNull('reason-specific context (a family, an error kind), kept short'),
} as const satisfies FieldTable;

/** A `kind=lifecycle` entry: the daemon started or stopped. */
export const LIFECYCLE_FIELDS = {
  v: integer('schema version of loss and lifecycle entries, `1`'),
  event: oneOf({ start: 'the daemon started', stop: 'the daemon stopped' }, '`start` or `stop`'),
  ts: integer('time of the event, ms since the epoch'),
  version: text("the daemon's version"),
  pid: integer("the daemon's pid"),
  reason: textOrNull('for `stop`: why (a signal name, `error`, ...)'),
  mode: oneOfOrNull({ unicast: 'the audit daemon', multicast: 'a listener beside auditd' }, 'for `start`: the `mode` setting'),
  down_since: integerOrNull('for `start` after a run that did not stop cleanly: when that run was last known alive (ms since the epoch); its `daemon_down` loss entry follows'),
} as const satisfies FieldTable;

/** A `kind=dns` entry: one DNS answer the host received (`dns_entries = on`, docs/dns.md). */
export const DNS_FIELDS = {
  v: integer('schema version of dns entries, `1`'),
  ts: integer('when the answer was read, ms since the epoch'),
  name: text('the name asked for (the question), lower-cased, without the trailing dot'),
  cname: textOrNull('the end of its CNAME chain, when the addresses belong to another name'),
  addresses: strings('the A and AAAA addresses the answer gave the name'),
  ttl: integer('the smallest TTL of those records, seconds'),
  transport: oneOf({ udp: 'UDP', tcp: 'TCP (an answer whole in one segment)' }, '`udp` or `tcp`'),
  server: text('the address the answer came from (the resolver)'),
  server_port: integer('its port, `53`'),
  client: text('the address the answer went to (the asking socket)'),
  client_port: integer("the asking socket's port"),
  pid: integerOrNull("the process that asked: its query (a connect or send to port 53 from `client_port`) was audited as a flow; `null` when it was not seen"),
  comm: textOrNull("that process's name"),
  exe: textOrNull("that process's executable"),
  uid: integerOrNull("that process's real user id"),
} as const satisfies FieldTable;

/** One `kind=dns` entry. */
export type DnsEntry = Typed<typeof DNS_FIELDS>;

/**
 * What the sink and the daemon add to every entry, in front of its own fields. Absent, not null,
 * where an entry did not pass through them: `replay` prints flows with none of these, `run --stdout`
 * without `id`, `tail --json` with all.
 */
export const ENVELOPE_FIELDS = {
  id: text('the stream entry ID (`tail --json` only)'),
  kind: oneOf({ flow: 'a flow', loss: 'a loss report', lifecycle: 'the daemon started or stopped', dns: 'a DNS answer (dns_entries)' }, 'what the entry is'),
  boot_id: text("the kernel's boot id: entries of one boot share it"),
  seq: integer('1, 2, 3, ... per `boot_id`'),
  host: text('the `host` setting of the daemon that wrote the entry'),
} as const satisfies FieldTable;

export type EntryKind = 'flow' | 'loss' | 'lifecycle' | 'dns';

/** Each kind's own fields, after the envelope. */
export const ENTRY_FIELDS: Readonly<Record<EntryKind, FieldTable>> = { flow: FLOW_FIELDS, loss: LOSS_FIELDS, lifecycle: LIFECYCLE_FIELDS, dns: DNS_FIELDS };

export const isEntryKind = (kind: unknown): kind is EntryKind => kind === 'flow' || kind === 'loss' || kind === 'lifecycle' || kind === 'dns';
