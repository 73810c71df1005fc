// The DNS answer capture: the addon's AF_PACKET socket (native/dns_capture.cc), opened when the
// process may (CAP_NET_RAW). Without the capability, or on a kernel without packet sockets, it is
// off, and says why once: flows then carry no names, and nothing else changes.
import { nativeBinding, type AuditBinding, type NativeDnsCapture, type NativeDnsCaptureStats } from '../native/binding.js';

export interface DnsCaptureOptions {
  /** A batch of packets (three meta words each: offset, length, interface index). */
  onPackets: (data: Buffer, meta: Uint32Array) => void;
  /** The reader failed and reads nothing more. */
  onError: (error: NodeJS.ErrnoException) => void;
  /** Receive buffer requested, bytes (default 4 MiB; above net.core.rmem_max needs CAP_NET_ADMIN). */
  rcvbuf?: number;
  /** Bytes that may wait for JavaScript before packets are dropped (default 8 MiB). */
  maxQueueBytes?: number;
  binding?: AuditBinding;
}

export type OpenedCapture = { ok: true; capture: DnsCapture } | { ok: false; error: NodeJS.ErrnoException };

export class DnsCapture {
  private closing: Promise<void> | undefined;
  private resolveClosed: () => void = () => {};
  private readonly closed = new Promise<void>((resolve) => {
    this.resolveClosed = resolve;
  });

  private constructor(private readonly native: NativeDnsCapture) {}

  /** Opens the capture, or tells why it cannot (EPERM without CAP_NET_RAW, EAFNOSUPPORT without AF_PACKET). */
  static open(options: DnsCaptureOptions): OpenedCapture {
    const binding = options.binding ?? nativeBinding();
    let capture: DnsCapture | undefined;
    try {
      const native = new binding.DnsCapture(
        { rcvbuf: options.rcvbuf ?? 4 * 1024 * 1024, maxQueueBytes: options.maxQueueBytes ?? 8 * 1024 * 1024 },
        (data, meta, error) => {
          if (error !== null) options.onError(error);
          else if (data !== null && meta !== null) options.onPackets(data, meta);
        },
        () => capture?.resolveClosed(),
      );
      capture = new DnsCapture(native);
      // The capture alone never keeps the process alive: the audit socket and the sink do.
      native.unref();
      return { ok: true, capture };
    } catch (error) {
      return { ok: false, error: error as NodeJS.ErrnoException };
    }
  }

  stats(): NativeDnsCaptureStats {
    return this.native.stats();
  }

  /** Stops the reader; resolves once the batches it had read were delivered. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (() => {
      // Held while the last batches and the close callback are delivered.
      this.native.ref();
      this.native.close();
      return this.closed;
    })();
    return this.closing;
  }
}
