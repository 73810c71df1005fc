// AuditControl: requests to the kernel's audit subsystem over one AuditSocket, replies
// matched by sequence number. The kernel answers a request sent with NLM_F_ACK with the
// ACK first and its data after it (AUDIT_GET, AUDIT_SIGNAL_INFO), or with NLM_F_MULTI
// parts ending in NLMSG_DONE (AUDIT_LIST_RULES); a request is done when both arrived.
import {
  AUDIT_ADD_RULE,
  AUDIT_DEL_RULE,
  AUDIT_GET,
  AUDIT_LIST_RULES,
  AUDIT_SET,
  AUDIT_SIGNAL_INFO,
  NLM_F_ACK,
  NLMSG_DONE,
  NLMSG_ERROR,
} from './constants.js';
import { errnoName } from '../linux/errno.js';
import { AuditRequestError, AuditSlotTakenError, AuditTimeoutError } from './errors.js';
import { describeProcess, isProcessAlive } from './process-info.js';
import { AuditSocket, type AuditMessage, type AuditSocketOptions } from './socket.js';
import { decodeStatus, encodeLostReset, encodeSettings, type AuditSettings, type AuditStatus } from './status.js';

type Expect = 'ack' | 'data' | 'multi';

interface PendingRequest {
  name: string;
  expect: Expect;
  acked: boolean;
  ackValue: number;
  done: boolean;
  data: AuditMessage[];
  timer: NodeJS.Timeout;
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

interface Reply {
  /** The ACK's error field: 0, or a positive value some requests return (lost on reset). */
  ackValue: number;
  data: AuditMessage[];
}

/** Who last sent a signal to the audit daemon (struct audit_sig_info, include/linux/audit.h). */
export interface SignalInfo {
  uid: number;
  pid: number;
  context: string;
}

export interface AuditControlOptions {
  /** Milliseconds to wait for a reply. */
  timeoutMs?: number;
  /** Tries when the slot is held by a pid that no longer exists (see register()). */
  staleHolderRetries?: number;
}

export class AuditControl {
  private readonly pending = new Map<number, PendingRequest>();
  private readonly timeoutMs: number;
  private readonly staleHolderRetries: number;

  /**
   * @param socket the socket requests go out on. Registration binds the daemon slot to the
   *   socket that sent it, so register on the socket that is to receive the records.
   * @param ownsSocket whether close() closes the socket, and whether idle time unrefs it.
   */
  constructor(
    readonly socket: AuditSocket,
    options: AuditControlOptions = {},
    private readonly ownsSocket = false,
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.staleHolderRetries = options.staleHolderRetries ?? 20;
    socket.onReply = (message) => this.onReply(message);
    if (ownsSocket) socket.unref();
  }

  /** A control plane on a socket of its own (unicast; it never registers as the daemon). */
  static open(options: AuditControlOptions & Pick<AuditSocketOptions, 'binding'> = {}): AuditControl {
    const socket = new AuditSocket({ mode: 'unicast', rcvbuf: 0, binding: options.binding });
    return new AuditControl(socket, options, true);
  }

  async status(): Promise<AuditStatus> {
    const reply = await this.request('AUDIT_GET', AUDIT_GET, Buffer.alloc(0), 'data');
    const message = reply.data.find((m) => m.type === AUDIT_GET);
    if (!message) throw new AuditRequestError('AUDIT_GET', -71, 'EPROTO');
    return decodeStatus(message.payload);
  }

  async set(settings: AuditSettings): Promise<void> {
    if (settings.enabled === 2) {
      // Immutable mode locks every audit setting and rule until reboot; it is never set
      // implicitly. Callers that mean it use setImmutable().
      throw new RangeError('enabled=2 (immutable) is refused by set(); use setImmutable()');
    }
    if (Object.values(settings).every((value) => value === undefined)) return;
    await this.request('AUDIT_SET', AUDIT_SET, encodeSettings(settings), 'ack');
  }

  /** enabled=2: no audit rule or setting can change until reboot. */
  async setImmutable(): Promise<void> {
    await this.request('AUDIT_SET', AUDIT_SET, encodeSettings({ enabled: 2 }), 'ack');
  }

  /** Zeroes the kernel's lost counter; returns the value it had. */
  async resetLost(): Promise<number> {
    const reply = await this.request('AUDIT_SET', AUDIT_SET, encodeLostReset(), 'ack');
    return reply.ackValue;
  }

  /**
   * Makes this process the audit daemon: the kernel then sends every record to this
   * control's socket. The kernel refuses (EEXIST) while another daemon is registered; a
   * holder that died keeps the slot until the kernel next fails to deliver to it, which
   * the refused attempt's own CONFIG_CHANGE record makes happen, so that case is retried.
   */
  async register(): Promise<void> {
    let holder = 0;
    for (let attempt = 0; attempt <= this.staleHolderRetries; attempt++) {
      try {
        await this.set({ pid: process.pid });
        return;
      } catch (error) {
        if (!(error instanceof AuditRequestError) || error.code !== 'EEXIST') throw error;
      }
      holder = (await this.status()).pid;
      if (holder === process.pid) {
        throw new AuditSlotTakenError(holder, describeProcess(holder), `this process (pid ${holder}) is already the registered audit daemon`);
      }
      if (holder !== 0 && isProcessAlive(holder)) {
        const command = describeProcess(holder);
        throw new AuditSlotTakenError(
          holder,
          command,
          `the kernel's audit daemon slot is held by pid ${holder} (${command ?? 'unknown command'}): ` +
            'stop that daemon first (for auditd: systemctl stop auditd), or read beside it with --mode multicast',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new AuditSlotTakenError(
      holder,
      undefined,
      `the kernel's audit daemon slot is still held by pid ${holder}, which has exited; ` +
        'the kernel frees it when it next fails to deliver a record: try again',
    );
  }

  /** Gives the daemon slot back (pid 0). Only the registered process may. */
  async unregister(): Promise<void> {
    await this.set({ pid: 0 });
  }

  async addRule(rule: Buffer): Promise<void> {
    await this.request('AUDIT_ADD_RULE', AUDIT_ADD_RULE, rule, 'ack');
  }

  async deleteRule(rule: Buffer): Promise<void> {
    await this.request('AUDIT_DEL_RULE', AUDIT_DEL_RULE, rule, 'ack');
  }

  /** Every loaded rule as the kernel's struct audit_rule_data bytes, in list order. */
  async listRules(): Promise<Buffer[]> {
    const reply = await this.request('AUDIT_LIST_RULES', AUDIT_LIST_RULES, Buffer.alloc(0), 'multi');
    return reply.data.filter((m) => m.type === AUDIT_LIST_RULES).map((m) => Buffer.from(m.payload));
  }

  async signalInfo(): Promise<SignalInfo> {
    const reply = await this.request('AUDIT_SIGNAL_INFO', AUDIT_SIGNAL_INFO, Buffer.alloc(0), 'data');
    const message = reply.data.find((m) => m.type === AUDIT_SIGNAL_INFO);
    if (!message || message.payload.length < 8) throw new AuditRequestError('AUDIT_SIGNAL_INFO', -71, 'EPROTO');
    const context = message.payload.subarray(8);
    const end = context.indexOf(0);
    return {
      uid: message.payload.readUInt32LE(0),
      pid: message.payload.readInt32LE(4),
      context: context.subarray(0, end === -1 ? context.length : end).toString('utf8'),
    };
  }

  /** Fails what is pending and, if this control owns its socket, closes it. Idempotent. */
  async close(): Promise<void> {
    for (const [seq, request] of this.pending) {
      clearTimeout(request.timer);
      this.pending.delete(seq);
      request.reject(new AuditTimeoutError(`${request.name}: the control socket was closed before the reply`));
    }
    if (this.ownsSocket) await this.socket.close();
  }

  private request(name: string, type: number, payload: Buffer, expect: Expect): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const seq = this.socket.send(type, payload, NLM_F_ACK);
      const timer = setTimeout(() => {
        this.finish(seq);
        reject(new AuditTimeoutError(`${name}: no reply from the kernel within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(seq, { name, expect, acked: false, ackValue: 0, done: false, data: [], timer, resolve, reject });
      if (this.ownsSocket) this.socket.ref();
    });
  }

  private onReply(message: AuditMessage): void {
    const request = this.pending.get(message.seq);
    if (!request) return;
    if (message.type === NLMSG_ERROR) {
      // struct nlmsgerr (include/uapi/linux/netlink.h): int error, then the request's header.
      const error = message.payload.length >= 4 ? message.payload.readInt32LE(0) : -71;
      if (error < 0) {
        this.finish(message.seq);
        request.reject(new AuditRequestError(request.name, error, errnoName(-error) ?? `errno ${-error}`));
        return;
      }
      request.acked = true;
      request.ackValue = error;
    } else if (message.type === NLMSG_DONE) {
      request.done = true;
    } else {
      request.data.push({ ...message, payload: Buffer.from(message.payload) });
    }
    const complete =
      request.acked &&
      (request.expect === 'ack' || (request.expect === 'data' && request.data.length > 0) || (request.expect === 'multi' && request.done));
    if (complete) {
      this.finish(message.seq);
      request.resolve({ ackValue: request.ackValue, data: request.data });
    }
  }

  private finish(seq: number): void {
    const request = this.pending.get(seq);
    if (!request) return;
    clearTimeout(request.timer);
    this.pending.delete(seq);
    if (this.ownsSocket && this.pending.size === 0) this.socket.unref();
  }
}
