// A fake of the kernel's audit netlink protocol, behind the same binding interface as the
// addon: it keeps a status and a rule list and answers requests the way kernel/audit.c
// does (ACK first, then data; rule lists as NLM_F_MULTI parts and NLMSG_DONE). It lets
// the control plane be tested on what the real kernel must never be put through, such
// as immutable mode, and on reply orders the real kernel rarely shows.
import type { AuditBinding, NativeAuditSocket, NativeBatchCallback, NativeSocketOptions, NativeSocketStats } from '../../src/native/binding.js';
import { decodeStatus, type AuditStatus } from '../../src/audit/status.js';

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const AUDIT_GET = 1000;
const AUDIT_SET = 1001;
const AUDIT_ADD_RULE = 1011;
const AUDIT_DEL_RULE = 1012;
const AUDIT_LIST_RULES = 1013;
const NLM_F_MULTI = 0x2;
const EPERM = 1;
const ENOENT = 2;
const EEXIST = 17;

export interface FakeReply {
  type: number;
  flags?: number;
  payload: Buffer;
}

export class FakeKernel {
  status: AuditStatus = {
    enabled: 0,
    failure: 1,
    pid: 0,
    rateLimit: 0,
    backlogLimit: 64,
    lost: 0,
    backlog: 0,
    featureBitmap: 0x7f,
    backlogWaitTime: 15000,
    backlogWaitTimeActual: 0,
  };
  rules: Buffer[] = [];
  /** Every request received, in order. */
  readonly requests: Array<{ type: number; payload: Buffer }> = [];
  /** Answer data before the ACK (the kernel sends the ACK first; a client must not care). */
  dataBeforeAck = false;
  /** Requests of these types get no answer at all. */
  readonly silentTypes = new Set<number>();
  /** Replaces the answer to one request type. */
  readonly overrides = new Map<number, (payload: Buffer) => number>();

  binding(): AuditBinding {
    const kernel = this;
    return {
      AuditSocket: class implements NativeAuditSocket {
        readonly portId = 4242;
        readonly receiveBufferSize = 0;
        private closed = false;
        private seq = 1;
        constructor(
          readonly options: NativeSocketOptions,
          private readonly onBatch: NativeBatchCallback,
          private readonly onClosed: () => void,
        ) {}
        send(type: number, payload: Buffer): number {
          if (this.closed) throw Object.assign(new Error('EBADF: Bad file descriptor, sendto'), { code: 'EBADF', errno: -9, syscall: 'sendto' });
          const seq = this.seq++;
          const replies = kernel.answer(type, Buffer.from(payload));
          setImmediate(() => {
            for (const reply of replies) this.deliver(seq, reply);
          });
          return seq;
        }
        close(): void {
          if (this.closed) return;
          this.closed = true;
          setImmediate(() => this.onClosed());
        }
        ref(): void {}
        unref(): void {}
        stats(): NativeSocketStats {
          return readerStats({});
        }
        private deliver(seq: number, reply: FakeReply): void {
          const meta = new Uint32Array([reply.type, reply.flags ?? 0, seq, 0, 0, reply.payload.length]);
          this.onBatch(reply.payload, meta, null, null, null);
        }
      },
      // A fake kernel carries no packets: the capture is refused as it is without CAP_NET_RAW.
      DnsCapture: class {
        constructor() {
          throw Object.assign(new Error('EPERM: Operation not permitted, socket'), { code: 'EPERM', errno: -1, syscall: 'socket' });
        }
      } as unknown as AuditBinding['DnsCapture'],
      sdNotify: () => false,
      flock: () => true,
      socketEnds: () => null,
      scanSyscall: () => null,
      // The fake kernel has no socket table: as the real one answers a process without CAP_NET_ADMIN.
      SockDiagSocket: class {
        constructor() {
          throw Object.assign(new Error('EPERM: operation not permitted, bind'), { errno: -1, code: 'EPERM', syscall: 'bind' });
        }
      } as unknown as AuditBinding['SockDiagSocket'],
      sockDiagDump: () => {
        throw Object.assign(new Error('EPERM: operation not permitted, sendto'), { errno: -1, code: 'EPERM', syscall: 'sendto' });
      },
    };
  }

  answer(type: number, payload: Buffer): FakeReply[] {
    this.requests.push({ type, payload });
    if (this.silentTypes.has(type)) return [];
    const override = this.overrides.get(type);
    const errno = override ? override(payload) : this.apply(type, payload);
    const ack: FakeReply = { type: NLMSG_ERROR, payload: nlmsgerr(errno) };
    if (errno < 0) return [ack];
    const data = this.data(type);
    return this.dataBeforeAck ? [...data, ack] : [ack, ...data];
  }

  private apply(type: number, payload: Buffer): number {
    const immutable = this.status.enabled === 2;
    switch (type) {
      case AUDIT_SET: {
        const mask = payload.readUInt32LE(0);
        // A locked kernel refuses every setting (audit_do_config_change, kernel/audit.c) but the
        // daemon pid, which has no lock check: a restarted auditd registers again under -e 2.
        if (immutable && (mask & ~0x4) !== 0) return -EPERM;
        const wanted = decodeStatus(payload);
        if (mask & 0x4) {
          if (wanted.pid !== 0 && this.status.pid !== 0) return -EEXIST;
          this.status.pid = wanted.pid;
        }
        if (mask & 0x1) this.status.enabled = wanted.enabled;
        if (mask & 0x2) this.status.failure = wanted.failure;
        if (mask & 0x8) this.status.rateLimit = wanted.rateLimit;
        if (mask & 0x10) this.status.backlogLimit = wanted.backlogLimit;
        if (mask & 0x20) this.status.backlogWaitTime = wanted.backlogWaitTime;
        if (mask === 0x40) {
          const lost = this.status.lost;
          this.status.lost = 0;
          return lost;
        }
        return 0;
      }
      case AUDIT_ADD_RULE:
        if (immutable) return -EPERM;
        if (this.rules.some((rule) => rule.equals(payload))) return -EEXIST;
        this.rules.push(payload);
        return 0;
      case AUDIT_DEL_RULE: {
        if (immutable) return -EPERM;
        const index = this.rules.findIndex((rule) => rule.equals(payload));
        if (index === -1) return -ENOENT;
        this.rules.splice(index, 1);
        return 0;
      }
      default:
        return 0;
    }
  }

  private data(type: number): FakeReply[] {
    if (type === AUDIT_GET) return [{ type: AUDIT_GET, payload: encodeStatus(this.status) }];
    if (type === AUDIT_LIST_RULES) {
      return [
        ...this.rules.map((rule) => ({ type: AUDIT_LIST_RULES, flags: NLM_F_MULTI, payload: rule })),
        { type: NLMSG_DONE, flags: NLM_F_MULTI, payload: Buffer.alloc(0) },
      ];
    }
    return [];
  }
}

function nlmsgerr(errno: number): Buffer {
  const payload = Buffer.alloc(20);
  payload.writeInt32LE(errno, 0);
  return payload;
}

export function encodeStatus(status: AuditStatus): Buffer {
  const words = [
    0,
    status.enabled,
    status.failure,
    status.pid,
    status.rateLimit,
    status.backlogLimit,
    status.lost,
    status.backlog,
    status.featureBitmap,
    status.backlogWaitTime,
    status.backlogWaitTimeActual,
  ];
  const payload = Buffer.alloc(words.length * 4);
  words.forEach((word, i) => payload.writeUInt32LE(word, i * 4));
  return payload;
}

/** A reader's stats: `counts` over zeros, with no lookups made. */
export function readerStats(counts: Partial<Omit<NativeSocketStats, 'lookups'>>): NativeSocketStats {
  return {
    datagrams: 0,
    records: 0,
    bytes: 0,
    batches: 0,
    enobufs: 0,
    droppedRecords: 0,
    truncated: 0,
    malformed: 0,
    pauses: 0,
    ...counts,
    lookups: { made: 0, found: 0, timeNs: 0, skipped: { self: 0, family: 0, sockaddr: 0, behind: 0, noFd: 0, reused: 0, replaced: 0 }, failed: {}, pidfds: { opened: 0, reopened: 0, closed: 0 }, cgroups: { read: 0, cut: 0, gone: 0, failed: 0, timeNs: 0 } },
  };
}
