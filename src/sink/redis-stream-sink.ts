// The Redis Streams publisher. Entries flow: publish → memory queue → pipelined XADD batches, one batch
// in flight. When Redis fails a batch, or the queue is full (Redis slower than the producer), the sink
// switches to spooling: new entries go to the on-disk spool, which is replayed in order once Redis keeps
// up again. Order is kept by one rule: a batch from the queue is older than anything in the spool, so the
// queue is always sent first, and a failed queue batch is put in front of the spool (Spool.prepend).
import { LossTally, SINK_LOSS_REASONS } from './entries.js';
import { decodeEntry, EntryStamper, readSpooled } from './entry-bytes.js';
import { connectRedis, describeRedisClient, reconnectDelay, type RedisClient } from './redis-client.js';
import { classifyRefusal, refusedError, RedisRefusedError, RedisUnreachableError } from './redis-errors.js';
import { RECORD_HEADER_BYTES } from './spool-format.js';
import type { Spool } from './spool.js';
import { formatStreamId, parseStreamId, StreamIdClock } from './stream-id.js';
import { emptyCounters, type EncodableEntry, type FlowSink, type FullPolicy, type SinkCounters, type SinkEntry, type SinkHealth, type StampedEntry } from './types.js';
import { startSeq, trimArgs, writeBatch, type TrimPolicy } from './xadd.js';

/** After `closeTimeoutMs`, how long `close` waits for the dropped connection to fail the batch in flight. */
const CLOSE_GRACE_MS = 250;

export interface RedisStreamSinkOptions {
  /** From createRedisClient (not yet connected): a single server or a Cluster. */
  client: RedisClient;
  key: string;
  host: string;
  /** The kernel's boot id (/proc/sys/kernel/random/boot_id): with `seq` it names each entry. */
  bootId: string;
  /** Trimming on every XADD (`MAXLEN ~ n` or `MINID ~ now-age`); none when absent. */
  trim?: TrimPolicy;
  /** `open` throws RedisUnreachableError instead of spooling when Redis does not answer at start. */
  requireConnection?: boolean;
  batchSize?: number;
  /** How long a partial batch waits for more entries. */
  lingerMs?: number;
  /** Entries held in memory before the sink spools (or, without a spool, applies `fullPolicy`). */
  queueLimit?: number;
  spool?: Spool;
  fullPolicy: FullPolicy;
  /**
   * How long `close` keeps trying to deliver before it leaves the rest in the spool (default 5 s); it
   * then drops the connection and returns within CLOSE_GRACE_MS more, whatever Redis does.
   */
  closeTimeoutMs?: number;
  now?: () => number;
  /**
   * Told, for each entry with an event time (`EncodableEntry.eventMs`), when Redis acknowledged its
   * XADD: the time from the kernel to Redis. Entries sent from the spool are not told of: their wait
   * there is Redis's outage, not the daemon's latency.
   */
  onWritten?: (eventMs: number, nowMs: number) => void;
}

/** Entries are held as the bytes they are written with (entry-bytes.ts), from `publish` to Redis. */
type Source = { from: 'queue'; entries: Buffer[]; eventMs: number[] } | { from: 'spool'; entries: Buffer[]; next: ReturnType<Spool['read']>['next'] };

export class RedisStreamSink implements FlowSink {
  private readonly queue: Buffer[] = [];
  /** The event time of each entry of `queue`, at the same index (NaN: none, a loss or lifecycle entry). */
  private readonly queueEventMs: number[] = [];
  private spooling = false;
  /** The batch sent and not yet answered (one at a time). */
  private inFlight: Source | undefined;
  /** Failed batches in a row; spaces out retries against a Redis that answers with errors. */
  private failures = 0;
  /**
   * The sink dropped the connection after a failed batch: the client stays 'ready' until the socket has
   * closed, and nothing is sent on it meanwhile. The next 'ready' (the reconnect) clears it.
   */
  private dropping = false;
  /** Spool bytes the last refused entry needed: `writable` waits until that much is free. */
  private neededBytes = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly ids: StreamIdClock;
  private readonly stamper: EntryStamper;
  private seq: number;
  private readonly counters: SinkCounters = emptyCounters();
  private readonly losses = new LossTally();
  private lastError: string | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  private waiters: Array<() => void> = [];
  private readonly now: () => number;
  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly queueLimit: number;

  private constructor(private readonly options: RedisStreamSinkOptions) {
    this.now = options.now ?? Date.now;
    this.batchSize = options.batchSize ?? 500;
    this.lingerMs = options.lingerMs ?? 5;
    this.queueLimit = options.queueLimit ?? 10_000;
    this.ids = new StreamIdClock(this.now);
    this.stamper = new EntryStamper(options.bootId);
    this.seq = 1;
    const spool = options.spool;
    if (spool !== undefined) {
      this.counters.spoolCorrupt = spool.corrupt;
      this.counters.spoolTornBytes = spool.opened.tornBytes;
      if (spool.corrupt > 0) this.losses.add(SINK_LOSS_REASONS.spoolCorrupt, spool.corrupt, this.now());
      const newestBytes = spool.opened.newest === undefined ? undefined : readSpooled(spool.opened.newest);
      const newest = newestBytes === undefined ? undefined : decodeEntry(newestBytes);
      if (newest !== undefined) this.continueAfter(newest);
      this.spooling = !spool.drained;
    }
    options.client.on('ready', () => {
      this.dropping = false;
      this.schedule(this.failures === 0 ? 0 : reconnectDelay(this.failures - 1, 100, 5000));
    });
    options.client.on('error', (error: Error) => (this.lastError = error.message));
  }

  /**
   * Connects, and continues IDs and `seq` after the stream's newest entry so a restarted daemon never
   * writes an ID Redis would refuse. Throws RedisRefusedError for what a person must fix (wrong
   * password, a missing ACL permission, a TLS certificate not accepted), after disconnecting the client;
   * the spool stays open for the caller to close. An unreachable Redis is not fatal: the sink spools
   * until it answers (unless `requireConnection`: RedisUnreachableError).
   */
  static async open(options: RedisStreamSinkOptions): Promise<RedisStreamSink> {
    const sink = new RedisStreamSink(options);
    try {
      await connectRedis(options.client);
      await sink.continueAfterStreamTop();
    } catch (error) {
      if (error instanceof RedisRefusedError) throw error;
      // Connected, and then refused: XREVRANGE needs a permission the ACL user lacks.
      const refusal = classifyRefusal(error);
      if (refusal !== undefined) {
        options.client.disconnect();
        throw refusedError(refusal, error as Error, describeRedisClient(options.client));
      }
      sink.lastError = (error as Error).message;
      if (options.requireConnection) {
        options.client.disconnect();
        throw error instanceof RedisUnreachableError ? error : new RedisUnreachableError(`Redis (${describeRedisClient(options.client)}): ${sink.lastError}`);
      }
    }
    sink.schedule(0);
    return sink;
  }

  publish(entry: SinkEntry | EncodableEntry): boolean {
    if (this.closed || this.closing !== undefined) throw new Error('sink is closed');
    // With Redis away, entries go straight to disk, where a crash cannot take them.
    if (!this.spooling && this.options.spool !== undefined && (this.queue.length >= this.queueLimit || !this.connected())) {
      this.spooling = true;
    }
    if (!this.spooling) {
      if (this.queue.length >= this.queueLimit) return this.refuse();
      this.queue.push(this.stamp(entry));
      this.queueEventMs.push(('eventMs' in entry ? entry.eventMs : undefined) ?? Number.NaN);
      this.counters.accepted++;
      this.schedule(this.queue.length >= this.batchSize ? 0 : this.lingerMs);
      return true;
    }
    const spool = this.options.spool as Spool;
    const payload = this.stampPreview(entry);
    if (spool.append([payload]) === 0) {
      this.neededBytes = RECORD_HEADER_BYTES + payload.length;
      return this.refuse();
    }
    this.neededBytes = 0;
    this.commitStamp();
    this.counters.accepted++;
    this.schedule(0);
    return true;
  }

  writable(): Promise<void> {
    return this.waitFor(() => this.closed || this.hasRoom());
  }

  flush(): Promise<void> {
    return this.waitFor(() => this.closed || this.idle());
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  health(): SinkHealth {
    const ready = this.connected();
    return {
      state: this.closed ? 'closed' : this.spooling ? 'spooling' : ready ? 'ready' : 'connecting',
      lastError: this.lastError,
      queued: this.queue.length + (this.inFlight?.from === 'queue' ? this.inFlight.entries.length : 0),
      spoolBytes: this.options.spool?.bytes ?? 0,
      counters: { ...this.counters },
    };
  }

  private async shutdown(): Promise<void> {
    const client = this.options.client;
    const flushed = await withDeadline(this.flush(), this.options.closeTimeoutMs ?? 5000);
    if (!flushed) {
      // Redis is away or too slow. Dropping the connection fails the batch in flight now instead of
      // after the command timeout; its entries then go to the spool like any failed batch.
      client.disconnect();
      await withDeadline(this.waitFor(() => this.inFlight === undefined), CLOSE_GRACE_MS);
    }
    clearTimeout(this.lingerTimer);
    this.closed = true;
    // A batch still unanswered is given up on: from the queue, its entries are kept with the queue (if
    // Redis wrote them after all, their IDs make the next run's copy a refused duplicate); from the
    // spool, its records are still on disk, unacknowledged.
    const unanswered = this.inFlight?.from === 'queue' ? this.inFlight.entries : [];
    const spool = this.options.spool;
    // Entries still in memory are older than the spool's: they go in front of it for the next run.
    const left = [...unanswered, ...this.queue.splice(0)];
    this.queueEventMs.length = 0;
    if (spool !== undefined && left.length > 0) spool.prepend(left);
    spool?.close();
    this.wake();
    if (flushed && client.status === 'ready') await withDeadline(client.quit().then(() => undefined), CLOSE_GRACE_MS);
    if (client.status !== 'end') client.disconnect();
  }

  private connected(): boolean {
    return !this.dropping && this.options.client.status === 'ready';
  }

  /** Spool records whose CRC held but whose payload is no entry: lost like a damaged record, and counted so. */
  private countCorrupt(count: number): void {
    this.counters.spoolCorrupt += count;
    this.losses.add(SINK_LOSS_REASONS.spoolCorrupt, count, this.now());
  }

  private refuse(): false {
    if (this.options.fullPolicy === 'block') this.counters.blocked++;
    else {
      this.counters.droppedFull++;
      this.losses.add(SINK_LOSS_REASONS.spoolFull, 1, this.now());
    }
    return false;
  }

  private hasRoom(): boolean {
    if (!this.spooling) return this.queue.length < this.queueLimit || this.options.spool !== undefined;
    // Room for the entry refused last, which a blocked producer offers again.
    const spool = this.options.spool;
    return spool !== undefined && spool.bytes + this.neededBytes <= spool.maxBytes;
  }

  private idle(): boolean {
    return this.inFlight === undefined && this.queue.length === 0 && (this.options.spool?.drained ?? true) && this.losses.size === 0;
  }

  private pendingStamp: { id: string; seq: number } | undefined;

  /** The entry's bytes with its envelope and a new ID; `seq` moves on only when `commitStamp` follows. */
  private stampPreview(entry: SinkEntry | EncodableEntry): Buffer {
    const id = formatStreamId(this.ids.next());
    this.pendingStamp = { id, seq: this.seq };
    return this.stamper.stamp(id, this.seq, entry);
  }

  private commitStamp(): void {
    if (this.pendingStamp !== undefined) this.seq = this.pendingStamp.seq + 1;
    this.pendingStamp = undefined;
  }

  private stamp(entry: SinkEntry | EncodableEntry): Buffer {
    const stamped = this.stampPreview(entry);
    this.commitStamp();
    return stamped;
  }

  private async continueAfterStreamTop(): Promise<void> {
    const top = await this.options.client.xrevrange(this.options.key, '+', '-', 'COUNT', 1);
    const newest = top[0];
    if (newest === undefined) return;
    const [id, flat] = newest;
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
    this.continueAfter({ id, fields });
  }

  private continueAfter(entry: StampedEntry): void {
    const id = parseStreamId(entry.id);
    if (id !== undefined) this.ids.observe(id);
    if (entry.fields.boot_id === this.options.bootId) this.seq = Math.max(this.seq, startSeq(entry.fields.seq));
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.inFlight !== undefined) return;
    if (delayMs > 0 && this.lingerTimer !== undefined) return;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      void this.pump();
    }, delayMs);
  }

  private take(): Source | undefined {
    if (this.queue.length > 0) return { from: 'queue', entries: this.queue.splice(0, this.batchSize), eventMs: this.queueEventMs.splice(0, this.batchSize) };
    const spool = this.options.spool;
    if (spool !== undefined && !spool.caughtUp) {
      const { payloads, next } = spool.read(this.batchSize);
      const entries: Buffer[] = [];
      for (const payload of payloads) {
        const bytes = readSpooled(payload);
        if (bytes !== undefined) entries.push(bytes);
        else this.countCorrupt(1);
      }
      return { from: 'spool', entries, next };
    }
    return undefined;
  }

  private async pump(): Promise<void> {
    if (this.inFlight !== undefined || this.closed) return;
    if (this.spooling && this.options.spool?.drained !== false && this.queue.length === 0) this.spooling = false;
    if (!this.spooling && this.losses.size > 0 && this.connected()) {
      for (const loss of this.losses.drain(this.options.host)) {
        this.queue.push(this.stamp(loss));
        this.queueEventMs.push(Number.NaN);
        this.counters.accepted++;
      }
    }
    if (!this.connected()) {
      // Entries waiting in memory for a Redis that is away go to disk, so a crash does not take them.
      if (this.options.spool !== undefined && this.queue.length > 0) {
        this.options.spool.prepend(this.queue.splice(0));
        this.queueEventMs.length = 0;
        this.spooling = true;
      }
      this.wake();
      return;
    }
    const source = this.take();
    if (source === undefined) {
      this.wake();
      return;
    }
    this.inFlight = source;
    let delivered = false;
    try {
      const result = await writeBatch(this.options.client, this.options.key, source.entries, trimArgs(this.options.trim, this.now()));
      this.counters.written += result.written;
      this.counters.duplicatesSuppressed += result.duplicates;
      this.counters.rejected += result.rejected;
      if (result.rejected > 0) this.losses.add(SINK_LOSS_REASONS.rejected, result.rejected, this.now());
      delivered = true;
      this.failures = 0;
    } catch (error) {
      this.lastError = (error as Error).message;
      this.failures++;
    } finally {
      this.inFlight = undefined;
    }
    // `close` gave up on this batch and kept what it needed; the spool is closed.
    if (this.closed) return;
    const spool = this.options.spool;
    if (delivered) {
      if (source.from === 'spool') spool?.ack(source.next);
      else this.reportWritten(source.eventMs);
    } else if (source.from === 'spool') {
      spool?.rewind();
    } else if (spool !== undefined) {
      spool.prepend([...source.entries, ...this.queue.splice(0)]);
      this.queueEventMs.length = 0;
      this.spooling = true;
    } else {
      this.queue.unshift(...source.entries);
      this.queueEventMs.unshift(...source.eventMs);
    }
    this.wake();
    if (delivered) this.schedule(this.queue.length >= this.batchSize || this.spooling ? 0 : this.queue.length > 0 ? this.lingerMs : 0);
    // After a failure the client's 'ready' event schedules the next attempt. A failure with the
    // connection still up (a command timeout, a LOADING or OOM reply) drops the connection: commands that
    // timed out stay in the client's queue until Redis answers them, so retrying on the same connection
    // against a Redis that stays paused would pile up one batch per timeout.
    else if (this.connected()) {
      this.dropping = true;
      this.options.client.disconnect(true);
    }
  }

  private reportWritten(eventMs: readonly number[]): void {
    const onWritten = this.options.onWritten;
    if (onWritten === undefined) return;
    const now = this.now();
    for (const at of eventMs) if (!Number.isNaN(at)) onWritten(at, now);
  }

  private waitFor(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (condition()) resolve();
        else this.waiters.push(check);
      };
      this.waiters.push(check);
      this.schedule(0);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const check of waiters) check();
  }
}

/** Resolves true when `promise` settles within `ms`, false otherwise; never rejects. */
async function withDeadline(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}
