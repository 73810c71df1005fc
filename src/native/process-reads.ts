// What the addon's lookup thread read of each process it opened (native/socket_lookup.cc
// ReadProcess), once per process, microseconds after the process's first audited syscall: its start
// and its cgroup file, before a short-lived process has exited. Handed to JavaScript with the batch
// whose records made the thread open the process. Entries follow one another, little-endian:
//
//   offset  size  field
//        0     4  pid
//        4     2  cgroup length  bytes of cgroup text after the header (0 when status is not 0)
//        6     2  status         0 = cgroup read; otherwise the errno that stopped it (E2BIG: the file
//                                is longer than the 1,024 bytes kept, native/process_cgroup.h; ESRCH:
//                                the process was gone before its read could be checked), positive
//        8     8  start          the process's start: /proc/<pid>/stat field 22, clock ticks after
//                                boot, a float64
//       16     8  read at        when the process was last seen alive (after its cgroup was read):
//                                CLOCK_REALTIME in microseconds, a float64
//       24     n  cgroup         /proc/<pid>/cgroup as read (man 7 cgroups), not parsed
//
// An entry is 24 bytes plus its cgroup text.
export const PROCESS_READ_HEADER_BYTES = 24;

export const ProcessReadOffset = {
  pid: 0,
  cgroupLength: 4,
  status: 6,
  startTicks: 8,
  readAt: 16,
  cgroup: 24,
} as const;

/** One entry, decoded. */
export interface ProcessRead {
  pid: number;
  /** Clock ticks after boot (as ProcStat.startTicks). */
  startTicks: number;
  /** When the process was last seen alive, ms since the epoch. */
  readAtMs: number;
  /** The cgroup file's text; null when it was not read (status not 0). */
  cgroup: string | null;
  /** 0, or the errno that kept the cgroup from being read. */
  status: number;
}

/** The entries of a processes buffer, in order; a truncated last entry is left out. */
export function readProcessReads(buffer: Buffer | null | undefined): ProcessRead[] {
  const reads: ProcessRead[] = [];
  if (!buffer) return reads;
  let at = 0;
  while (at + PROCESS_READ_HEADER_BYTES <= buffer.length) {
    const length = buffer.readUInt16LE(at + ProcessReadOffset.cgroupLength);
    const end = at + PROCESS_READ_HEADER_BYTES + length;
    if (end > buffer.length) break;
    const status = buffer.readUInt16LE(at + ProcessReadOffset.status);
    reads.push({
      pid: buffer.readUInt32LE(at + ProcessReadOffset.pid),
      startTicks: buffer.readDoubleLE(at + ProcessReadOffset.startTicks),
      readAtMs: buffer.readDoubleLE(at + ProcessReadOffset.readAt) / 1000,
      cgroup: status === 0 ? buffer.toString('utf8', at + ProcessReadOffset.cgroup, end) : null,
      status,
    });
    at = end;
  }
  return reads;
}

/** Writes entries in the addon's layout (tests). */
export function encodeProcessReads(reads: readonly ProcessRead[]): Buffer {
  return Buffer.concat(
    reads.map((read) => {
      const text = Buffer.from(read.status === 0 ? (read.cgroup ?? '') : '', 'utf8');
      const out = Buffer.alloc(PROCESS_READ_HEADER_BYTES + text.length);
      out.writeUInt32LE(read.pid, ProcessReadOffset.pid);
      out.writeUInt16LE(text.length, ProcessReadOffset.cgroupLength);
      out.writeUInt16LE(read.status, ProcessReadOffset.status);
      out.writeDoubleLE(read.startTicks, ProcessReadOffset.startTicks);
      out.writeDoubleLE(read.readAtMs * 1000, ProcessReadOffset.readAt);
      text.copy(out, ProcessReadOffset.cgroup);
      return out;
    }),
  );
}
