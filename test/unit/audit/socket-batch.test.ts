// AuditSocket hands each read of the addon on as it came: the batch (with the addon's early socket
// lookups and process reads) to onBatch when it holds a kernel record, each control reply in it to onReply; and it asks
// the addon for early lookups only when told which calls to look up. The addon is a stand-in binding
// that records what it was given and delivers what the test says (src/native/binding.ts's shape).
import { describe, expect, it } from 'vitest';
import { AuditSocket, type AuditMessage } from '../../../src/audit/socket.js';
import type { AuditBinding, NativeSocketOptions } from '../../../src/native/binding.js';
import { encodeLookups } from '../../../src/native/socket-lookups.js';
import { encodeProcessReads, readProcessReads } from '../../../src/native/process-reads.js';
import type { RecordBatch } from '../../../src/native/record-batch.js';
import { recordBatch } from '../pipeline/fixtures.js';

type Deliver = (data: Buffer, meta: Uint32Array, error: null, lookups: Buffer | null, processes: Buffer | null) => void;

function standIn(): { binding: AuditBinding; deliver: () => Deliver; options: () => NativeSocketOptions } {
  let deliver: Deliver | undefined;
  let options: NativeSocketOptions | undefined;
  const binding = {
    AuditSocket: class {
      readonly portId = 1;
      readonly receiveBufferSize = 0;
      constructor(given: NativeSocketOptions, onBatch: (...args: unknown[]) => void) {
        options = given;
        deliver = onBatch as Deliver;
      }
      send = (): number => 1;
      close = (): void => {};
      ref = (): void => {};
      unref = (): void => {};
      stats = () => ({ datagrams: 0, records: 0, bytes: 0, batches: 0, enobufs: 0, droppedRecords: 0, truncated: 0, malformed: 0 });
    },
    sdNotify: () => false,
    flock: () => true,
    socketEnds: () => null,
  } as unknown as AuditBinding;
  return { binding, deliver: () => deliver as Deliver, options: () => options as NativeSocketOptions };
}

const record = { type: 1300, payload: Buffer.from('audit(1795252393.149:711763): arch=c000003e syscall=42') };
const reply = { type: 1000, payload: Buffer.alloc(40, 7) };

describe('AuditSocket batches', () => {
  it('hands the read to onBatch with its lookups and process reads, and each control reply in it to onReply', () => {
    const addon = standIn();
    const batches: RecordBatch[] = [];
    const replies: AuditMessage[] = [];
    const socket = new AuditSocket({ binding: addon.binding, onBatch: (batch) => batches.push(batch) });
    socket.onReply = (message) => replies.push(message);
    const lookups = encodeLookups([{ record: 1, pid: 7, fd: 3, status: 0, family: 2, type: 1, protocol: 6, flags: 0, local: null, remote: null }]);
    const processes = encodeProcessReads([{ pid: 7, startTicks: 123_456, readAtMs: 1795252393149.25, cgroup: '0::/system.slice/cron.service\n', status: 0 }]);
    const read = recordBatch([reply, record], lookups);
    addon.deliver()(read.data, read.meta, null, lookups, processes);
    expect(batches).toEqual([{ data: read.data, meta: read.meta, lookups, processes }]);
    expect(replies.map((message) => [message.type, message.payload])).toEqual([[reply.type, reply.payload]]);
  });

  it('gives onBatch nothing for a read of control replies only, and null lookups when the addon gave none', () => {
    const addon = standIn();
    const batches: RecordBatch[] = [];
    new AuditSocket({ binding: addon.binding, onBatch: (batch) => batches.push(batch) });
    const replies = recordBatch([reply, reply]);
    addon.deliver()(replies.data, replies.meta, null, null, null);
    expect(batches).toEqual([]);
    const records = recordBatch([record]);
    (addon.deliver() as unknown as (data: Buffer, meta: Uint32Array, error: null) => void)(records.data, records.meta, null);
    expect(batches).toEqual([{ data: records.data, meta: records.meta, lookups: null, processes: null }]);
  });

  it('reads process entries of the layout in src/native/process-reads.ts, each header followed by its cgroup text', () => {
    const reads = [
      { pid: 7, startTicks: 2 ** 40 + 3, readAtMs: 1795252393149.25, cgroup: '0::/af-test.slice/af-test-7.service\n', status: 0 },
      { pid: 8, startTicks: 99, readAtMs: 1795252393150.5, cgroup: null, status: 7 },
      { pid: 9, startTicks: 100, readAtMs: 1795252393151, cgroup: '0::/\n', status: 0 },
    ];
    const bytes = encodeProcessReads(reads);
    expect(bytes.length).toBe(3 * 24 + reads[0]!.cgroup!.length + 5);
    // As the addon writes them: pid, cgroup length, status, start ticks, read at (µs), text.
    expect([bytes.readUInt32LE(0), bytes.readUInt16LE(4), bytes.readUInt16LE(6), bytes.readDoubleLE(8), bytes.readDoubleLE(16)]).toEqual([7, 36, 0, 2 ** 40 + 3, 1795252393149250]);
    expect(bytes.toString('utf8', 24, 60)).toBe(reads[0]!.cgroup);
    expect(readProcessReads(bytes)).toEqual(reads);
    // A cut last entry is left out, never read past the buffer.
    expect(readProcessReads(bytes.subarray(0, bytes.length - 1))).toEqual(reads.slice(0, 2));
    expect(readProcessReads(null)).toEqual([]);
  });

  it('asks the addon for early lookups only of the calls it is given', () => {
    const without = standIn();
    new AuditSocket({ binding: without.binding });
    expect(without.options()).not.toHaveProperty('lookupCalls');
    const withCalls = standIn();
    const calls = Uint32Array.from([0xc000003e, 42, 1]);
    new AuditSocket({ binding: withCalls.binding, lookupCalls: calls, selfPid: 99 });
    expect(withCalls.options()).toMatchObject({ lookupCalls: calls, selfPid: 99 });
  });
});
