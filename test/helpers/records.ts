// Just enough record reading for the foundation tests; src/pipeline does the real parsing.
import type { AuditMessage } from '../../src/audit/socket.js';

export { AUDIT_EOE, AUDIT_SOCKADDR, AUDIT_SYSCALL } from '../../src/linux/record-types.js';

export interface SimpleRecord {
  type: number;
  serial: number;
  text: string;
}

export function simpleRecord(message: AuditMessage): SimpleRecord {
  const text = message.payload.toString('latin1').replace(/\0+$/, '');
  const match = /^audit\(\d+\.\d+:(\d+)\):/.exec(text);
  return { type: message.type, serial: match ? Number(match[1]) : -1, text };
}

export function field(text: string, name: string): string | undefined {
  return new RegExp(`(?:^| )${name}=("[^"]*"|\\S+)`).exec(text)?.[1];
}
