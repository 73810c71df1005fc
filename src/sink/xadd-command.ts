// A batch of XADDs as the bytes Redis reads: for each entry `*<count>\r\n$4\r\nxadd\r\n`, the key, the
// trimming arguments, then the entry's own bytes (entry-bytes.ts: its ID and fields, encoded once when
// it was accepted). A request is an array of bulk strings
// (https://redis.io/docs/latest/develop/reference/protocol-spec/). The whole batch is one buffer and
// one socket write.
//
// How ioredis sends it (measured, docs/sink.md "One write per batch"): a Command per entry in a
// Pipeline cost 11-16 µs of CPU per entry (a promise, a command-timeout timer, a queue item and a
// result pair each); one Command for the whole batch that takes its N replies costs 2-3. A Command
// that takes more than one reply is what ioredis itself does for SUBSCRIBE (DataHandler.returnReply
// puts the command back at the head of the connection's commandQueue until its replies are in); the
// batch command does the same, so the queue stays in step with Redis whatever the replies are. It needs
// the one connection's queue, so a Redis Cluster client (whose commands a node's connection sends,
// with MOVED/ASK handled per command) keeps a Command per entry.
import { Command, type Redis } from 'ioredis';
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

/**
 * The XADDs of a whole batch as one command. It resolves with one slot per entry, in order: null for
 * an entry Redis took, the error it answered for one it refused. It rejects only when the batch as a
 * whole failed (the connection closed, the command timeout): then no slot is trusted.
 */
export class XaddBatchCommand extends Command {
  private readonly replies: Array<Error | null> = [];

  constructor(
    key: string,
    private readonly bytes: Buffer,
    count: number,
    client: Redis,
  ) {
    super('xadd', [key]);
    const resolveBatch = this.resolve;
    const rejectBatch = this.reject;
    const next = (error: Error | null): void => {
      this.replies.push(error);
      // Back at the head of the queue until every reply is in, even after a timeout settled the batch:
      // the replies still on their way must not be taken for those of the commands behind it.
      if (this.replies.length < count) client.commandQueue.unshift({ command: this, stream: undefined as never, select: client.condition?.select ?? 0 });
      else resolveBatch(this.replies as never);
    };
    this.resolve = () => next(null);
    this.reject = (error: Error) => (error.name === 'ReplyError' ? next(error) : rejectBatch(error));
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
