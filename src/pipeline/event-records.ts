// What the flow stage reads of an event, whichever path it came by: the generic one (records
// parsed into field maps, ./record.ts, grouped by ./reassembler.ts) or the fast one (fields read on
// demand from the batch's bytes, ./batch.ts and ./record-view.ts). Both answer with the same values,
// so one updateSockets and one toFlow serve both: a flow cannot depend on the path its event took.
import { numberField, proctitleArgv, type AuditRecord } from './record.js';
import type { AuditEvent } from './reassembler.js';
import type { SocketInfo } from './socket-kinds.js';
import { AUDIT_NETFILTER_PKT, AUDIT_PROCTITLE, AUDIT_SOCKADDR, AUDIT_SOCKETCALL, AUDIT_SYSCALL, AUDIT_URINGOP } from '../linux/record-types.js';

/** One record's fields, with the semantics of ./record.ts. */
export interface RecordFields {
  /** numberField(): undefined when absent or not a number. */
  number(key: string, radix?: 10 | 16): number | undefined;
  /** The value as parseFields() gives it: quotes removed, kernel hex-encoded strings decoded. */
  value(key: string): string | undefined;
  /** auditd's interpreted field (ENRICHED log format). */
  enriched(key: string): string | undefined;
}

/** The addon's early lookup of the socket an event's SYSCALL record names (src/native/socket-lookups.ts). */
export interface EarlyLookup {
  pid: number;
  fd: number;
  /** What it found; undefined for a socket that is not AF_INET/AF_INET6, or one already gone when it looked. */
  info: SocketInfo | undefined;
  /** Found gone (the process, the fd, or a socket on it): by then, µs since the epoch (0: not said). */
  goneByUs?: number;
}

export interface EventRecords {
  readonly node: string;
  readonly serial: number;
  /** Event time, ms (the first record's). */
  readonly time: number;
  /** The first SYSCALL record, the first SOCKETCALL record. */
  readonly syscall: RecordFields | undefined;
  readonly socketcall: RecordFields | undefined;
  /** The URINGOP record of an io_uring operation's event (./uring-ops.ts). */
  readonly uringop: RecordFields | undefined;
  /** A NETFILTER_PKT record: an event by itself (./packet-flow.ts). */
  readonly packet: RecordFields | undefined;
  /** The first SOCKADDR record's saddr: undefined without a SOCKADDR record, '' when it has no saddr. */
  readonly saddr: string | undefined;
  /** A lookup made for this event before it reached the pipeline, found (status 0); undefined otherwise. */
  readonly lookup: EarlyLookup | undefined;
  /** The first PROCTITLE record's argv (proctitleArgv), [] without one. */
  argv(): string[];
}

/** A string field with the kernel's `(null)` and auditd's `(none)` mapped to undefined (stringField()). */
export function stringValue(fields: RecordFields, key: string): string | undefined {
  const value = fields.value(key);
  return value === undefined || value === '(null)' || value === '(none)' ? undefined : value;
}

function recordFields(record: AuditRecord | undefined): RecordFields | undefined {
  if (record === undefined) return undefined;
  return {
    number: (key, radix) => numberField(record, key, radix),
    value: (key) => record.fields.get(key),
    enriched: (key) => record.enriched.get(key),
  };
}

/** The generic path's event as the flow stage reads it, with the early lookup made for its SYSCALL record. */
export function parsedEventRecords(event: AuditEvent, lookup: EarlyLookup | undefined): EventRecords {
  const first = (type: number): AuditRecord | undefined => event.records.find((record) => record.type === type);
  const sockaddr = first(AUDIT_SOCKADDR);
  const proctitle = first(AUDIT_PROCTITLE);
  return {
    node: event.node,
    serial: event.serial,
    time: event.time,
    syscall: recordFields(first(AUDIT_SYSCALL)),
    socketcall: recordFields(first(AUDIT_SOCKETCALL)),
    uringop: recordFields(first(AUDIT_URINGOP)),
    packet: recordFields(first(AUDIT_NETFILTER_PKT)),
    saddr: sockaddr === undefined ? undefined : (sockaddr.fields.get('saddr') ?? ''),
    lookup,
    argv: () => (proctitle === undefined ? [] : proctitleArgv(proctitle)),
  };
}
