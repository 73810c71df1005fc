// Every setting of `auditflow run`: its key, default, how a value is read and what it means. The
// config file, the AUDITFLOW_* environment and the command line all go through this one table, so a
// setting has one name (`redis_url` in the file is AUDITFLOW_REDIS_URL in the environment) and one
// parser, and config/auditflow.conf documents exactly these keys (a test keeps the two in step).
import { OUTPUT_FORMATS, type OutputFormat } from '../schema/format.js';
import { parseRedisUrl } from '../sink/redis-client.js';
import { RedisConfigError } from '../sink/redis-errors.js';
import { ENTRY_MIN_BYTES } from './flow-bound.js';

export type Mode = 'unicast' | 'multicast';
export type SinkKind = 'redis' | 'stdout';
export type FullPolicy = 'block' | 'drop_newest';
export type FsyncPolicy = 'always' | 'interval' | 'never';
export type OnStop = 'remove' | 'keep';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
/** json: plain pino lines; journald: each line prefixed with its syslog priority (<4> for warn); auto: journald when the log goes to the journal. */
export type LogFormat = 'auto' | 'json' | 'journald';

export interface Settings {
  mode: Mode;
  sink: SinkKind;
  format: OutputFormat;
  host: string;
  redis_url: string;
  redis_password_file: string;
  redis_cluster_nodes: string[];
  redis_tls_ca: string;
  redis_tls_cert: string;
  redis_tls_key: string;
  redis_required: boolean;
  redis_command_timeout_ms: number;
  stream: string;
  stream_maxlen: number;
  stream_max_age_s: number;
  lag_check_interval_s: number;
  batch_size: number;
  batch_linger_ms: number;
  queue_limit: number;
  full_policy: FullPolicy;
  spool_dir: string;
  spool_max_bytes: number;
  spool_fsync: FsyncPolicy;
  apply_rules: boolean;
  rules: string;
  on_stop: OnStop;
  backlog_limit: number;
  backlog_wait_time: number;
  families: string[];
  aggregate_window_ms: number;
  flow_end: boolean;
  flow_end_namespaces: 'host' | 'all';
  local_wait_ms: number;
  process_context: boolean;
  process_cache_size: number;
  process_cache_max_bytes: number;
  reader_queue_max_bytes: number;
  reader_delivery_ms: number;
  argv_max_bytes: number;
  argv_max_args: number;
  entry_max_bytes: number;
  process_ttl_ms: number;
  process_lookup_timeout_ms: number;
  labels: LabelSetting[];
  dns_names: boolean;
  dns_entries: boolean;
  dns_cache_size: number;
  dns_min_ttl_s: number;
  dns_max_ttl_s: number;
  state_dir: string;
  runtime_dir: string;
  metrics_listen: string;
  stats_interval_s: number;
  kernel_poll_ms: number;
  log_level: LogLevel;
  log_format: LogFormat;
  shutdown_timeout_ms: number;
}

export type SettingKey = keyof Settings;

/** A process label rule: by audit rule key, or by executable path pattern. */
export interface LabelSetting {
  key?: string;
  exe?: string;
  label: string;
}

/** A value that does not parse; the caller adds where it was set. */
export class SettingValueError extends Error {
  override name = 'SettingValueError';
}

export interface SettingSpec<K extends SettingKey = SettingKey> {
  key: K;
  /** The default, as it would be written in the config file ('' = empty). */
  defaultText: string;
  parse: (text: string) => Settings[K];
  /** One line for the config example and `--help`. */
  doc: string;
  /** SIGHUP applies a change of this setting; others need a restart. */
  reloadable: boolean;
}

const oneOf =
  <T extends string>(...values: T[]) =>
  (text: string): T => {
    if ((values as string[]).includes(text)) return text as T;
    throw new SettingValueError(`"${text}" is not one of ${values.join(', ')}`);
  };

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (text: string): number => {
    if (!/^\d+$/.test(text)) throw new SettingValueError(`"${text}" is not a whole number`);
    const value = Number(text);
    if (value < min || value > max) throw new SettingValueError(`${value} is outside ${min}..${max}`);
    return value;
  };

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes, with an optional K, M or G suffix (powers of 1024). */
const size =
  (min: number) =>
  (text: string): number => {
    const match = /^(\d+)\s*([kmg]?)i?b?$/i.exec(text);
    if (!match) throw new SettingValueError(`"${text}" is not a size (bytes, or a number with K, M or G)`);
    const value = Number(match[1]) * (SIZE_UNITS[(match[2] ?? '').toLowerCase()] ?? 1);
    if (value < min) throw new SettingValueError(`${value} bytes is below the minimum of ${min}`);
    return value;
  };

const boolean = (text: string): boolean => {
  if (['true', 'yes', 'on', '1'].includes(text.toLowerCase())) return true;
  if (['false', 'no', 'off', '0'].includes(text.toLowerCase())) return false;
  throw new SettingValueError(`"${text}" is not true or false`);
};

const text = (text: string): string => text;

const nonEmpty = (text: string): string => {
  if (text === '') throw new SettingValueError('must not be empty');
  return text;
};

const list = (text: string): string[] =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/**
 * Checked by the sink's own parser, so the config refuses exactly the URLs the client would; a
 * user without a password passes here, for redis_password_file (the client refuses it without one).
 */
const redisUrl = (text: string): string => {
  try {
    parseRedisUrl(withPlaceholderPassword(text));
  } catch (error) {
    if (error instanceof RedisConfigError) throw new SettingValueError(error.message);
    throw error;
  }
  return text;
};

function withPlaceholderPassword(text: string): string {
  try {
    const url = new URL(text);
    if (url.username === '' || url.password !== '') return text;
    url.password = 'x';
    return url.toString();
  } catch {
    return text;
  }
}

const redisNodes = (text: string): string[] => list(text).map(redisUrl);

const families = (text: string): string[] => {
  const items = list(text);
  if (items.length === 0) throw new SettingValueError('names no family (inet, inet6, unix, netlink, ... or all)');
  if (items.includes('all') && items.length > 1) throw new SettingValueError('"all" cannot be combined with other families');
  return items;
};

/** `key:auditflow-connect=net, exe:/usr/bin/apt*=software_mgmt`: what to match, then the label. */
const labels = (text: string): LabelSetting[] =>
  list(text).map((item) => {
    const match = /^(key|exe):(.+)=([A-Za-z0-9_.-]+)$/.exec(item);
    if (!match) throw new SettingValueError(`"${item}" is not key:<rule key>=<label> or exe:<path pattern>=<label>`);
    const [, kind, pattern, label] = match as unknown as [string, 'key' | 'exe', string, string];
    return kind === 'key' ? { key: pattern, label } : { exe: pattern, label };
  });

const listenAddress = (text: string): string => {
  if (text === 'off') return text;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d+)$/.exec(text);
  if (!match || Number(match[2]) > 65535) throw new SettingValueError(`"${text}" is not host:port or off`);
  return text;
};

function spec<K extends SettingKey>(key: K, defaultText: string, parse: (text: string) => Settings[K], doc: string, reloadable = false): SettingSpec<K> {
  return { key, defaultText, parse, doc, reloadable };
}

/** The settings in the order the config example lists them. */
export const SETTINGS: readonly SettingSpec[] = [
  spec('mode', 'unicast', oneOf('unicast', 'multicast'), 'unicast: be the audit daemon (loads rules, takes the slot); multicast: read beside auditd, no rules, no slot'),
  spec('sink', 'redis', oneOf('redis', 'stdout'), 'where entries go: redis, or stdout as JSON lines (logs then go to stderr)'),
  spec('format', 'native', oneOf(...OUTPUT_FORMATS), "the stdout sink's JSON: native (docs/flow.schema.json), ecs or ocsf (docs/formats.md); the Redis stream keeps its flat fields"),
  spec('host', '', text, "the host name written into every entry and the stream key's <host>; empty = the system's host name"),
  spec('redis_url', 'redis://127.0.0.1:6379/0', redisUrl, 'redis://[user:password@]host:port[/db], rediss:// for TLS'),
  spec('redis_password_file', '', text, 'a file (mode 0600) whose first line is the Redis password, so it is in no URL or command line; when empty, $AUDITFLOW_REDIS_PASSWORD, else the systemd credential redis-password (LoadCredential=redis-password:FILE) gives it'),
  spec('redis_cluster_nodes', '', redisNodes, 'comma-separated seed node URLs of a Redis Cluster (redis_url is then not used)'),
  spec('redis_tls_ca', '', text, 'PEM file of the CA that signed the Redis server certificate (rediss://); empty = the system CAs'),
  spec('redis_tls_cert', '', text, 'PEM client certificate for TLS client authentication'),
  spec('redis_tls_key', '', text, 'PEM private key of redis_tls_cert'),
  spec('redis_required', 'false', boolean, 'true: refuse to start (exit 10) when Redis cannot be reached; false: start and spool until it answers'),
  spec('redis_command_timeout_ms', '5000', integer(100), 'a Redis command without an answer after this long fails and its batch is spooled'),
  spec('stream', 'auditflow:flows', nonEmpty, 'stream key; <host> is replaced: use auditflow:{<host>}:flows when several hosts share one Redis (one writer per stream)'),
  spec('stream_maxlen', '1000000', integer(0), 'XADD MAXLEN ~ n: the stream keeps about this many entries; 0 = no trimming'),
  spec('stream_max_age_s', '0', integer(0), 'XADD MINID ~: the stream keeps about this many seconds of entries; 0 = no age trimming (set stream_maxlen = 0 to use it)'),
  spec('lag_check_interval_s', '60', integer(0), "every this many seconds, warn in the log about consumer groups near or past the trim point; 0 = never"),
  spec('batch_size', '500', integer(1, 100_000), 'entries per pipelined XADD batch'),
  spec('batch_linger_ms', '5', integer(0, 10_000), 'how long a partial batch waits for more entries'),
  spec('queue_limit', '10000', integer(1), 'entries held in memory before new ones go to the spool'),
  spec('full_policy', 'block', oneOf('block', 'drop_newest'), 'spool full: block (stop reading; the kernel then blocks or drops, counted) or drop_newest (counted)'),
  spec('spool_dir', '', text, 'on-disk spool for entries while Redis is away or slow; empty = <state_dir>/spool'),
  spec('spool_max_bytes', '1G', size(1024 * 1024), 'spool size bound (K, M, G suffixes)'),
  spec('spool_fsync', 'interval', oneOf('always', 'interval', 'never'), 'when spooled entries are fsynced: always (each batch), interval (every second), never'),
  spec('apply_rules', 'true', boolean, 'load the ruleset at start (unicast only); false = use the rules already loaded'),
  spec('rules', '', text, 'comma-separated: rules files, directories of *.rules files (name order), default (the packaged rules/network.rules) or optional:<name> (a packaged rules/optional/<name>.rules, e.g. optional:udp-ingress); empty = default', true),
  spec('on_stop', 'remove', oneOf('remove', 'keep'), 'at stop: remove the rules auditflow added and restore enabled, or keep them loaded (as auditd does)', true),
  spec('backlog_limit', '8192', integer(1), "the kernel's backlog_limit: records it queues for the daemon before it blocks or drops"),
  spec('reader_queue_max_bytes', '128M', size(1024 * 1024), "records read from the kernel and not yet taken by the pipeline, at most (K, M, G suffixes); when full the reader stops up to 80 ms (the kernel's backlog throttles audited processes), then drops what does not fit, counted as reader_queue_full"),
  spec('reader_delivery_ms', '20', integer(0, 100), "how long records read from the kernel may wait for more before the pipeline takes them, ms: fewer, larger batches cost less CPU per event; 0 = at once"),
  spec('backlog_wait_time', '1000', integer(0, 600_000), 'kernel ticks an audited process may wait on a full backlog (auditctl --backlog_wait_time units; 1000 = 4 s at HZ=250); 0 = drop at once'),
  spec('families', 'inet,inet6', families, 'socket families kept as flows (inet, inet6, unix, netlink, ... or all); the rest is dropped and counted'),
  spec('aggregate_window_ms', '10000', integer(0), 'repeated sendto/sendmsg of one flow within this window become one entry with a count; 0 = off'),
  spec('flow_end', 'on', boolean, "close entries (op=close: duration, bytes, packets) and existing ones at start, from the kernel's socket destroy broadcasts and a socket dump (sock_diag, needs CAP_NET_ADMIN); off = none"),
  spec(
    'flow_end_namespaces',
    'host',
    oneOf('host', 'all'),
    "with flow_end: host = the close entries of the daemon's network namespace; all = also those of each other network namespace a flow's process is in (containers), up to 64, each read from inside it (needs CAP_SYS_ADMIN, which the packaged unit does not grant: docs/security.md)",
  ),
  spec('local_wait_ms', '300', integer(0, 10_000), "with flow_end: how long a connect, accept or send whose socket was closed before it could be looked up waits for its destroy broadcast's local end, ms; 0 = not at all"),
  spec('process_context', 'true', boolean, 'add the process context from /proc and the user database (user names, parent, cwd, container, unit, labels) to every flow'),
  spec('process_cache_size', '16384', integer(1), 'processes whose /proc context is cached'),
  spec('process_cache_max_bytes', '32M', size(1024 * 1024), 'estimated memory of the process cache, at most (K, M, G suffixes); the least recently used go first'),
  spec('argv_max_bytes', '4096', integer(128, 2 * 1024 * 1024), "bytes of a command line read from /proc (argv, parent_argv) when the kernel's 128-byte PROCTITLE was cut; longer ones are cut and flagged argv_truncated"),
  spec('argv_max_args', '64', integer(1, 1024 * 1024), 'arguments of a command line kept (argv, parent_argv, also from PROCTITLE); more are cut and flagged argv_truncated'),
  spec('entry_max_bytes', '64K', size(ENTRY_MIN_BYTES), "one flow entry's field names and values, at most (K, M suffixes); a bigger one is published cut (its longest texts, argv first, shortened), marked entry_truncated and counted as the loss entry_truncated"),
  spec('process_ttl_ms', '60000', integer(0), "a cached process's /proc context is read again after this long"),
  spec('process_lookup_timeout_ms', '250', integer(1, 60_000), "a flow waits at most this long for its process's cgroup and command line (read off the main thread)"),
  spec('labels', '', labels, 'process labels, comma-separated: key:<rule key>=<label> or exe:<path pattern>=<label> (* within a path segment, ** across); children inherit them'),
  spec('dns_names', 'on', boolean, 'capture the DNS answers this host receives (AF_PACKET, needs CAP_NET_RAW) and give flows remote_name/remote_cname (docs/dns.md); without the capability: off, with one warning'),
  spec('dns_entries', 'off', boolean, 'also write one kind=dns entry per DNS answer, with the querying process when its query was seen (docs/dns.md)'),
  spec('dns_cache_size', '16384', integer(1), 'addresses whose DNS names are remembered; the least recently used go first'),
  spec('dns_min_ttl_s', '60', integer(0), 'a DNS answer names its addresses at least this long, whatever its TTL (programs keep using an address past a short TTL)'),
  spec('dns_max_ttl_s', '3600', integer(1), 'and at most this long'),
  spec('state_dir', '/var/lib/auditflow', nonEmpty, 'the rules auditflow added (applied-rules.json) and the default spool'),
  spec('runtime_dir', '/run/auditflow', nonEmpty, "the running daemon's status file, read by auditflow status"),
  spec('metrics_listen', '127.0.0.1:9848', listenAddress, 'Prometheus metrics at http://<this>/metrics; off = no listener'),
  spec('stats_interval_s', '60', integer(0), 'a stats line in the log every this many seconds; 0 = none', true),
  spec('kernel_poll_ms', '5000', integer(100), "how often the kernel's lost counter and backlog are read"),
  spec('log_level', 'info', oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace'), 'log level', true),
  spec('log_format', 'auto', oneOf('auto', 'json', 'journald'), 'json: JSON lines; journald: each line starts with its syslog priority (<4> for warn: journalctl -p works), the JSON after it; auto: journald when the log goes to the journal ($JOURNAL_STREAM)'),
  spec('shutdown_timeout_ms', '10000', integer(100), 'a stop that takes longer exits at once (the spool keeps what Redis did not get)'),
];

export function settingSpec(key: string): SettingSpec | undefined {
  return SETTINGS.find((s) => s.key === key);
}

/** AUDITFLOW_REDIS_URL for redis_url. */
export function envName(key: string): string {
  return `AUDITFLOW_${key.toUpperCase()}`;
}
