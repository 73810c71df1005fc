// io_uring operations as flows. A rule on the io_uring filter list (AUDIT_FILTER_URING_EXIT) makes the
// kernel write a URINGOP record each time io_uring issues an audited operation (io_uring/io_uring.c
// io_issue_sqe: audit_uring_entry(opcode), the op's .issue, audit_uring_exit(!ret, ret)). Measured on
// 6.18 (test/fixtures/uring-*.log):
//   - An operation issued inline, from io_uring_enter, comes as URINGOP + SYSCALL (io_uring_enter) +
//     SOCKADDR (the address the op copied in or out) + PROCTITLE + EOE.
//   - One that cannot finish at once (a TCP connect: -EINPROGRESS) returns -EAGAIN to io_uring, which
//     retries it when the socket is ready (poll, or an io-wq worker): the first URINGOP says
//     success=no exit=-11 and has the address; the retry's URINGOP stands alone (no SYSCALL, no
//     SOCKADDR: the retry reuses the copied address). The two are one operation: joined here, oldest
//     first, by (node, pid, operation). An accept (or recvmsg) with nothing to take yet copies no
//     address in its attempt, and its retry copies the peer out: the retry alone is the flow.
//   - URINGOP's exit is io_issue_sqe's return, not the operation's result: an operation that ran to
//     its end returns 0 (IOU_OK) and puts its result in the completion queue, which audit never sees
//     (a refused io_uring connect completes with success=yes exit=0). So the result of a completed
//     operation is `unknown`, except an accept with the peer's address: the kernel copies the peer
//     out only after the accept succeeded (net/socket.c do_accept), so it is `ok`. An error the issue
//     itself returned (not -EAGAIN) is the result, by its errno name.
//   - URINGOP has pid, ppid, the uids and gids and the key; no auid, ses, tty, comm or exe (those come
//     from the SYSCALL record when there is one, else from the io_uring_enter SYSCALL record of the
//     same process's latest submission seen here (within SUBMITTER_MS: a retry comes after its
//     submission), else from the process context) and no file
//     descriptor, so no socket lookup: io_uring flows have no local end, protocol or fd.
// An attempt whose retry never comes (the rules' saddr_fam filter does not match the retry, which has
// no address; the ring was torn down) leaves after `timeoutMs` with result `inprogress`.
import type { EventRecords, RecordFields } from './event-records.js';
import { resultName, toFlow, type Flow, type Op } from './flow.js';
import { decodeSockaddrHex, sockaddrFamily, type Sockaddr, type SockaddrError } from './sockaddr.js';
import { endpointOf } from './socket-update.js';
import { archByValue } from '../linux/arch.js';
import { uringOpName } from '../linux/io-uring.js';

// include/uapi/asm-generic/errno-base.h
const EAGAIN = 11;

// The operations that are flows, by the audit name of their opcode (linux/io-uring.ts). listen and
// shutdown carry neither an address nor a descriptor: nothing to make a flow of.
const FLOW_OPS: ReadonlyMap<string, Op> = new Map([
  ['connect', 'connect'],
  ['accept', 'accept'],
  ['bind', 'bind'],
  ['sendmsg', 'sendmsg'],
  ['sendmsg_zc', 'sendmsg'],
  ['recvmsg', 'recvmsg'],
]);

// The fields the SYSCALL record adds to URINGOP's (kernel/auditsc.c audit_log_uring writes the rest).
const FROM_SYSCALL: ReadonlySet<string> = new Set(['auid', 'ses', 'tty', 'comm', 'exe']);

export type UringStep =
  | { kind: 'flow'; flow: Flow }
  /** Held until its retry completes it (or it times out). */
  | { kind: 'held' }
  | { kind: 'dropped'; family: string }
  | { kind: 'bad-sockaddr'; error: SockaddrError }
  /** An operation that is no flow (listen, shutdown, openat, ...), or a record without an opcode. */
  | { kind: 'none' };

interface Attempt {
  event: EventRecords;
  op: Op;
  name: string;
  address: Sockaddr | undefined;
  /** Pipeline time when it was held. */
  heldAt: number;
}

export interface UringOpsOptions {
  /** A held attempt whose retry did not come leaves after this long, ms (default 2000). */
  timeoutMs?: number;
  /** Attempts held at most; beyond it the oldest leaves early (default 4096). */
  maxHeld?: number;
  /** Where an attempt that leaves without its retry goes (as `inprogress`). */
  onFlow: (flow: Flow) => void;
}

// How long a process's io_uring_enter record stands for the process of its later retries, ms.
const SUBMITTER_MS = 10_000;
const MAX_SUBMITTERS = 4096;

export class UringOps {
  /** Held attempts by `node|pid|opcode`, oldest first; the map in order of holding. */
  private readonly held = new Map<string, Attempt[]>();
  /** The SYSCALL record of each process's latest io_uring submission, by `node|pid`, oldest first. */
  private readonly submitters = new Map<string, { syscall: RecordFields; time: number }>();
  private heldCount = 0;
  private now = 0;
  private readonly timeoutMs: number;
  private readonly maxHeld: number;

  constructor(private readonly options: UringOpsOptions) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.maxHeld = Math.max(1, options.maxHeld ?? 4096);
  }

  /** One event with a URINGOP record, in the families kept. */
  push(event: EventRecords, families: ReadonlySet<string> | 'all'): UringStep {
    const uring = event.uringop as RecordFields;
    this.advance(event.time);
    const opcode = uring.number('uring_op');
    const name = opcode === undefined ? undefined : uringOpName(opcode);
    const op = name === undefined ? undefined : FLOW_OPS.get(name);
    const pid = uring.number('pid');
    if (pid !== undefined && event.syscall) this.submitted(`${event.node}|${pid}`, event.syscall, event.time);
    if (op === undefined || name === undefined || pid === undefined) return { kind: 'none' };
    let address: Sockaddr | undefined;
    if (event.saddr !== undefined) {
      const decoded = decodeSockaddrHex(event.saddr);
      if (!decoded.ok) return { kind: 'bad-sockaddr', error: decoded.error };
      address = decoded.value;
    }
    const family = address ? sockaddrFamily(address) : undefined;
    if (family !== undefined && families !== 'all' && !families.has(family)) return { kind: 'dropped', family };
    const success = uring.value('success') === 'yes';
    const exit = uring.number('exit');
    const key = `${event.node}|${pid}|${opcode}`;
    if (!success && exit === -EAGAIN) {
      // An attempt that copied no address (an accept or recvmsg with nothing to take yet) says
      // nothing its retry will not: the retry, which copies the peer out, is the operation.
      if (address === undefined) return { kind: 'none' };
      this.hold(key, { event, op, name, address, heldAt: this.now });
      return { kind: 'held' };
    }
    const attempt = address === undefined ? this.take(key) : undefined;
    if (attempt) return { kind: 'flow', flow: { ...this.flow(attempt, outcome(attempt.op, attempt.address, success, exit)), last_ts: event.time } };
    if (family === undefined && families !== 'all') return { kind: 'dropped', family: 'unknown' };
    return { kind: 'flow', flow: this.flow({ event, op, name, address, heldAt: this.now }, outcome(op, address, success, exit)) };
  }

  /** Moves time forward: attempts held longer than the timeout leave as `inprogress`. */
  advance(now: number): void {
    this.now = Math.max(this.now, now);
    for (const [key, attempts] of this.held) {
      while (attempts.length > 0 && (attempts[0] as Attempt).heldAt + this.timeoutMs <= this.now) this.leave(attempts);
      if (attempts.length === 0) this.held.delete(key);
    }
  }

  /** Every held attempt leaves: the input has ended. */
  flush(): void {
    for (const [key, attempts] of [...this.held]) {
      while (attempts.length > 0) this.leave(attempts);
      this.held.delete(key);
    }
  }

  get oldestPendingSerial(): number | undefined {
    let oldest: number | undefined;
    for (const attempts of this.held.values()) for (const { event } of attempts) if (oldest === undefined || event.serial < oldest) oldest = event.serial;
    return oldest;
  }

  get heldAttempts(): number {
    return this.heldCount;
  }

  private hold(key: string, attempt: Attempt): void {
    const attempts = this.held.get(key);
    if (attempts) attempts.push(attempt);
    else this.held.set(key, [attempt]);
    this.heldCount++;
    if (this.heldCount > this.maxHeld) {
      const [oldestKey, oldest] = this.held.entries().next().value as [string, Attempt[]];
      this.leave(oldest);
      if (oldest.length === 0) this.held.delete(oldestKey);
    }
  }

  private take(key: string): Attempt | undefined {
    const attempts = this.held.get(key);
    const attempt = attempts?.shift();
    if (attempt) this.heldCount--;
    if (attempts?.length === 0) this.held.delete(key);
    return attempt;
  }

  private leave(attempts: Attempt[]): void {
    const attempt = attempts.shift() as Attempt;
    this.heldCount--;
    this.options.onFlow(this.flow(attempt, 'inprogress'));
  }

  private submitted(key: string, syscall: RecordFields, time: number): void {
    this.submitters.delete(key);
    this.submitters.set(key, { syscall, time });
    if (this.submitters.size > MAX_SUBMITTERS) this.submitters.delete(this.submitters.keys().next().value as string);
  }

  private flow(attempt: Attempt, result: string): Flow {
    const { event, op, name, address } = attempt;
    const uring = event.uringop as RecordFields;
    const submitter = event.syscall ? undefined : this.submitters.get(`${event.node}|${uring.number('pid')}`);
    const syscall = event.syscall ?? (submitter && event.time - submitter.time <= SUBMITTER_MS ? submitter.syscall : undefined);
    const ids = withFallback(uring, syscall);
    // The submitting syscall (io_uring_enter) when it is in the event; none from an io-wq worker or an SQPOLL thread.
    const submitted = event.syscall && archByValue(event.syscall.number('arch', 16) ?? 0)?.table.byNumber.get(event.syscall.number('syscall') ?? -1);
    const family = address ? sockaddrFamily(address) : 'unknown';
    const flow = toFlow(
      { ...event, syscall: ids, argv: () => event.argv() },
      {
        kind: 'flow',
        call: { op, name: submitted ?? 'io_uring', args: [0, 0, 0, 0] },
        op,
        pid: uring.number('pid'),
        exit: uring.number('exit'),
        success: result === 'ok',
        fd: -1,
        acceptedFd: undefined,
        address,
        addressEnd: endpointOf(address),
        family,
        known: undefined,
        proc: undefined,
      },
    );
    return { ...flow, via: 'io_uring', uring_op: name, result, fd: null };
  }
}

/** The result of an operation io_uring finished (see the header). */
function outcome(op: Op, address: Sockaddr | undefined, success: boolean, exit: number | undefined): string {
  if (!success) return resultName(false, exit);
  return op === 'accept' && address !== undefined ? 'ok' : 'unknown';
}

/** URINGOP's fields, then the SYSCALL record's for those URINGOP does not have. */
function withFallback(uring: RecordFields, syscall: RecordFields | undefined): RecordFields {
  if (syscall === undefined) return uring;
  const pick = (key: string): RecordFields => (FROM_SYSCALL.has(key) ? syscall : uring);
  return {
    number: (key, radix) => pick(key).number(key, radix),
    value: (key) => pick(key).value(key),
    enriched: (key) => pick(key).enriched(key),
  };
}
