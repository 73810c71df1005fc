// A batch of XADDs as the bytes Redis reads: for each entry `*<count>\r\n$4\r\nxadd\r\n`, the key, the
// trimming arguments, then the entry's own bytes (entry-bytes.ts: its ID and fields, encoded once when
// it was accepted). A request is an array of bulk strings
// (https://redis.io/docs/latest/develop/reference/protocol-spec/). The whole batch is one buffer, and
// ioredis gets one command per entry whose bytes are a view of it: ioredis's generic path
// (pipeline.xadd(...args)) copied a flow's ~70 arguments into new arrays and strings per entry, and
// joining them cost more than the whole pipeline spends on the event. Why ioredis still gets a
// command per entry, rather than one for the batch or a raw socket write: docs/sink.md, "One write
// per batch".
import { Command } from 'ioredis';
import { entryCount } from './entry-bytes.js';
import { bulkBytes } from './resp-writer.js';

/**
 * An XADD whose bytes are ready. Its arguments, as ioredis sees them, are the key alone: enough for
 * Redis Cluster to compute the slot (the key is XADD's first argument); a keyPrefix option would not
 * apply (the sink sets none).
 */
export class XaddCommand extends Command {
  constructor(
    key: string,
    private readonly bytes: Buffer,
  ) {
    super('xadd', [key]);
  }

  override toWritable(): Buffer {
    return this.bytes;
  }
}

/** One buffer with an XADD of `key` for each entry, and the offset where each XADD ends. */
export function encodeXaddBatch(key: string, trim: ReadonlyArray<string | number>, entries: readonly Buffer[]): { data: Buffer; ends: number[] } {
  const command = Buffer.concat([bulkBytes('xadd'), bulkBytes(key), ...trim.map((argument) => bulkBytes(String(argument)))]);
  const fixed = 2 + trim.length;
  const headers: string[] = [];
  let total = 0;
  for (const entry of entries) {
    const { count, bodyStart } = entryCount(entry);
    const header = `*${fixed + count}\r\n`;
    headers.push(header);
    total += header.length + command.length + entry.length - bodyStart;
  }
  const data = Buffer.allocUnsafe(total);
  const ends: number[] = [];
  let pos = 0;
  for (const [index, entry] of entries.entries()) {
    pos += data.write(headers[index] as string, pos, 'latin1');
    pos += command.copy(data, pos);
    pos += entry.copy(data, pos, entryCount(entry).bodyStart);
    ends.push(pos);
  }
  return { data, ends };
}
