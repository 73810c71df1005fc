// The addon's early socket lookups as tests see them: the native architecture's syscall numbers, the
// real addon with its batches observed, and the entries decoded.
import { archInfo, machineFromNodeArch } from '../../src/linux/arch.js';
import { nativeBinding, type AuditBinding, type NativeBatchCallback } from '../../src/native/binding.js';
import { LOOKUP_ENTRY_BYTES, LOOKUP_SOCKADDR_BYTES, LookupOffset, lookupCount } from '../../src/native/socket-lookups.js';

export function nativeSyscallNumber(name: string): number {
  const number = archInfo(machineFromNodeArch()).table.byName.get(name);
  if (number === undefined) throw new Error(`no syscall ${name} here`);
  return number;
}

/** The real addon, with every batch it delivers also shown to `observe` first. */
export function observedBinding(observe: NativeBatchCallback): AuditBinding {
  const real = nativeBinding();
  const RealSocket = real.AuditSocket;
  const Observed = function (this: unknown, ...[options, onBatch, onClosed]: ConstructorParameters<AuditBinding['AuditSocket']>) {
    return new RealSocket(
      options,
      (data, meta, error, lookups, processes) => {
        observe(data, meta, error, lookups, processes);
        onBatch(data, meta, error, lookups, processes);
      },
      onClosed,
    );
  } as unknown as AuditBinding['AuditSocket'];
  return { ...real, AuditSocket: Observed };
}

export interface DecodedLookup {
  record: number;
  pid: number;
  fd: number;
  status: number;
  family: number;
  type: number;
  protocol: number;
  flags: number;
  /** The port of getsockname's / getpeername's address (network byte order in struct sockaddr_in/in6), null when absent. */
  localPort: number | null;
  remotePort: number | null;
  /** The sockaddr's own family field. */
  localFamily: number | null;
}

function port(entry: Buffer, lengthAt: number, at: number): number | null {
  const length = entry.readUInt32LE(lengthAt);
  return length >= 4 && length <= LOOKUP_SOCKADDR_BYTES ? entry.readUInt16BE(at + 2) : null;
}

export function decodeLookups(lookups: Buffer | null): DecodedLookup[] {
  const decoded: DecodedLookup[] = [];
  for (let index = 0; index < lookupCount(lookups); index++) {
    const entry = (lookups as Buffer).subarray(index * LOOKUP_ENTRY_BYTES, (index + 1) * LOOKUP_ENTRY_BYTES);
    decoded.push({
      record: entry.readUInt32LE(LookupOffset.record),
      pid: entry.readUInt32LE(LookupOffset.pid),
      fd: entry.readInt32LE(LookupOffset.fd),
      status: entry.readInt32LE(LookupOffset.status),
      family: entry.readUInt16LE(LookupOffset.family),
      type: entry.readUInt16LE(LookupOffset.type),
      protocol: entry.readUInt16LE(LookupOffset.protocol),
      flags: entry.readUInt8(LookupOffset.flags),
      localPort: port(entry, LookupOffset.localLength, LookupOffset.local),
      remotePort: port(entry, LookupOffset.remoteLength, LookupOffset.remote),
      localFamily: entry.readUInt32LE(LookupOffset.localLength) >= 2 ? entry.readUInt16LE(LookupOffset.local) : null,
    });
  }
  return decoded;
}
