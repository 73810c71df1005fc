// A DNS answer as a `kind=dns` stream entry (src/schema/entries.ts, DNS_FIELDS): flat strings like a
// flow's, the address list as a JSON array, unknown values left out.
import type { SinkEntry } from '../sink/index.js';
import type { DnsEntry } from '../schema/entries.js';
import type { DnsAnswer, QueryProcess } from './dns-names.js';

/** Schema version of dns entries. */
export const DNS_ENTRY_VERSION = 1;

export function dnsEntryFields(answer: DnsAnswer, asker: QueryProcess | undefined): DnsEntry {
  const first = answer.resolutions[0];
  const { segment } = answer;
  return {
    v: DNS_ENTRY_VERSION,
    ts: answer.ts,
    name: first?.name ?? '',
    cname: first?.cname ?? null,
    addresses: [...new Set(answer.resolutions.map((r) => r.address))],
    ttl: Math.min(...answer.resolutions.map((r) => r.ttl)),
    transport: segment.transport,
    server: segment.server,
    server_port: segment.serverPort,
    client: segment.client,
    client_port: segment.clientPort,
    pid: asker?.pid ?? null,
    comm: asker?.comm ?? null,
    exe: asker?.exe ?? null,
    uid: asker?.uid ?? null,
  };
}

export function dnsEntry(answer: DnsAnswer, asker: QueryProcess | undefined, host: string): SinkEntry {
  const fields: Record<string, string> = { host };
  const typed = dnsEntryFields(answer, asker);
  for (const name in typed) {
    const value = typed[name as keyof DnsEntry];
    if (value === null) continue;
    fields[name] = typeof value === 'string' ? value : Array.isArray(value) ? JSON.stringify(value) : String(value);
  }
  return { kind: 'dns', fields };
}
