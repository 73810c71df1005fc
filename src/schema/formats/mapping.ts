// A mapping from the native typed entry to another schema (ECS, OCSF) as a list of rows: the target
// field, the native fields it is made from, and how. The rows build the mapped object, and they
// are the mapping tables of docs/formats.md (`npm run schema` writes them; a test compares), so the
// documentation cannot drift from the code.
import { ENVELOPE_FIELDS, type Flow } from '../entries.js';
import type { FieldTable } from '../field.js';

/** The envelope the sink, the daemon and the stream add (absent in `replay`). */
export interface Envelope {
  id?: string;
  boot_id?: string;
  seq?: number;
  host?: string;
}

export type FlowEntry = Flow & Envelope;

export interface LossEntry extends Envelope {
  kind: 'loss';
  v: number;
  reason: string;
  count: number;
  first_ts: number;
  last_ts: number;
  first_serial: number | null;
  last_serial: number | null;
  detail: string | null;
}

export interface LifecycleEntry extends Envelope {
  kind: 'lifecycle';
  v: number;
  event: 'start' | 'stop';
  ts: number;
  version: string;
  pid: number;
  reason: string | null;
  mode: 'unicast' | 'multicast' | null;
  down_since: number | null;
}

export interface Row<E> {
  /** The target field as a dotted path (`source.ip`); `@timestamp` is one name. */
  to: string;
  /** The native fields it reads (none: a constant). */
  uses: ReadonlyArray<string>;
  /** How, for the table: left empty when the value is the native one as it is. */
  how?: string;
  /** The value; null or undefined leaves the target field out. */
  value: (entry: E) => unknown;
}

/** Shorthand for a row that copies one native field as it is. */
export function copy<E>(to: string, from: keyof E & string): Row<E> {
  return { to, uses: [from], value: (entry) => entry[from] };
}

/**
 * The rows, and after them one for each field of the envelope and of `table` that no row reads,
 * copying it as it is to `<namespace>.<name>` (ECS's `auditflow.*`, OCSF's `unmapped.*`): a field
 * added to the schema reaches every format without a line here, until it gets a mapping of its own.
 */
export function withRest<E>(rows: ReadonlyArray<Row<E>>, table: FieldTable, namespace: string): ReadonlyArray<Row<E>> {
  const read = new Set(rows.flatMap((row) => row.uses));
  const rest = [...new Set([...Object.keys(ENVELOPE_FIELDS), ...Object.keys(table)])].filter((name) => name !== 'kind' && !read.has(name));
  return [...rows, ...rest.map((name) => copy<E>(`${namespace}.${name}`, name as keyof E & string))];
}

/** Shorthand for a row that writes a constant. */
export function constant<E>(to: string, value: unknown): Row<E> {
  return { to, uses: [], how: `\`${JSON.stringify(value)}\``, value: () => value };
}

// Each target's path, split once: the rows are fixed, and this runs per entry and row.
const PATHS = new Map<string, string[]>();
const pathOf = (to: string): string[] => PATHS.get(to) ?? (PATHS.set(to, to.startsWith('@') ? [to] : to.split('.')).get(to) as string[]);

/** The object the rows make from one entry: nested at the dots; a null value leaves its field out. */
export function applyRows<E>(rows: ReadonlyArray<Row<E>>, entry: E): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const row of rows) {
    const value = row.value(entry);
    if (value === null || value === undefined) continue;
    const path = pathOf(row.to);
    let at = out;
    for (const step of path.slice(0, -1)) {
      const next = (at[step] ??= {}) as Record<string, unknown>;
      at = next;
    }
    at[path[path.length - 1] as string] = value;
  }
  return out;
}

/** The rows as a Markdown table: target, native fields, how. */
export function rowsTable<E>(rows: ReadonlyArray<Row<E>>, header: string): string {
  const cell = (text: string): string => text.replaceAll('|', '\\|');
  const lines = [`| ${header} | from | how |`, '|---|---|---|'];
  for (const row of rows) {
    const from = row.uses.length === 0 ? '(constant)' : row.uses.map((name) => `\`${name}\``).join(', ');
    lines.push(`| \`${row.to}\` | ${from} | ${cell(row.how ?? 'as it is')} |`);
  }
  return lines.join('\n');
}

/** Milliseconds since the epoch as ISO 8601 UTC, or undefined for what is no time. */
export function isoTime(ms: unknown): string | undefined {
  return typeof ms === 'number' && Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : undefined;
}

/** A number as text (ECS keeps ids as keywords, OCSF user ids as strings); null stays null. */
export const asText = (value: unknown): string | undefined => (value === null || value === undefined ? undefined : String(value));

/** The command line as one string: the arguments joined by spaces (lossy; the arrays stay too). */
export const commandLine = (argv: unknown): string | undefined => (Array.isArray(argv) && argv.length > 0 ? argv.join(' ') : undefined);

/** The last part of a path (`/usr/bin/curl` → `curl`). */
export const baseName = (path: unknown): string | undefined => (typeof path === 'string' && path !== '' ? path.slice(path.lastIndexOf('/') + 1) : undefined);

export type Outcome = 'success' | 'failure' | 'unknown';

/**
 * What a flow's result says: `ok` and a packet netfilter accepted succeeded; an errno name and a
 * packet dropped or rejected failed; a connect in progress, an io_uring operation whose outcome the
 * record does not carry (`unknown`) and a packet without an action are not known.
 */
export function outcomeOf(result: string | null): Outcome {
  if (result === 'ok' || result === 'accept') return 'success';
  return result === null || result === 'inprogress' || result === 'unknown' ? 'unknown' : 'failure';
}

/** The errno name of a failed call (`ECONNREFUSED`), not a packet's action. */
export const errnoOf = (result: string | null): string | undefined => (result !== null && /^E[A-Z0-9]+$/.test(result) ? result : undefined);

export type End = { addr: string | null; port: number | null };

/**
 * The two ends as the initiator (source) and the responder (destination): egress goes from the local
 * end, ingress comes from the remote one; a forwarded packet's `local_*` is its sender; a bind (listen)
 * has only its local end, which is where connections will arrive, so it is the destination. Only
 * inet and inet6 ends are IP ends.
 */
export function flowEnds(flow: Flow): { source: End | undefined; destination: End | undefined } {
  if (flow.family !== 'inet' && flow.family !== 'inet6') return { source: undefined, destination: undefined };
  const local = { addr: flow.local_addr, port: flow.local_port };
  const remote = { addr: flow.remote_addr, port: flow.remote_port };
  switch (flow.direction) {
    case 'egress':
    case 'forward':
      return { source: local, destination: remote };
    case 'ingress':
      return { source: remote, destination: local };
    default:
      return { source: undefined, destination: local };
  }
}

/** `ipv4` or `ipv6` as the addresses are written (an IPv4-mapped address is written as IPv4). */
export function ipVersion(flow: Flow): 4 | 6 | undefined {
  if (flow.family === 'inet') return 4;
  if (flow.family === 'inet6') return flow.ipv4_mapped ? 4 : 6;
  return undefined;
}
