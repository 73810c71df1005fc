// The live daemon's answer to "which socket is fd N of pid P": asked of the socket itself through the
// addon (pidfd_getfd, then getsockopt/getsockname/getpeername), which costs the same few system calls
// however many sockets the host has. /proc (procSocketResolver) reads every socket of the network
// namespace for each lookup, TIME_WAIT ones included; measured with the benchmark's connect workload,
// that was most of the daemon's CPU. /proc stays the fallback for a kernel without pidfd_getfd (before
// Linux 5.6) and for a process the kernel will not let the daemon reach (EPERM).
import type { AuditBinding, NativeSocketEnds } from '../native/binding.js';
import { decodeSockaddr } from '../pipeline/sockaddr.js';
import { procSocketResolver, type Endpoint, type SocketInfo, type SocketResolver } from '../pipeline/sockets.js';
import { AF_INET, AF_INET6, socketType } from '../linux/socket.js';

export interface LiveSocketResolverOptions {
  /** Where a lookup goes when the socket cannot be asked (default: procSocketResolver()). */
  fallback?: SocketResolver;
  /** Told once per error code the addon met (the daemon logs it). */
  onError?: (error: NodeJS.ErrnoException) => void;
}

function endpoint(bytes: Buffer): Endpoint | undefined {
  const decoded = decodeSockaddr(bytes);
  if (!decoded.ok) return undefined;
  const value = decoded.value;
  return value.family === 'inet' || value.family === 'inet6' ? { addr: value.addr, port: value.port, bytes: value.bytes } : undefined;
}

const unset = (end: Endpoint): boolean => end.port === 0 && end.bytes.every((byte) => byte === 0);

/** The addon's answer as the socket table's SocketInfo; undefined for anything but an inet socket. */
export function socketInfoFromEnds(ends: NativeSocketEnds): SocketInfo | undefined {
  if (ends.family !== AF_INET && ends.family !== AF_INET6) return undefined;
  const local = endpoint(ends.local);
  const remote = ends.remote === null ? undefined : endpoint(ends.remote);
  return {
    family: ends.family,
    type: socketType(ends.type),
    protocol: ends.protocol,
    // An unbound socket's name is all zeros, and so is an unconnected one's peer in /proc: unknown.
    local: local === undefined || unset(local) ? undefined : local,
    remote: remote === undefined || unset(remote) ? undefined : remote,
    source: 'proc',
  };
}

export function liveSocketResolver(binding: AuditBinding, options: LiveSocketResolverOptions = {}): SocketResolver {
  const fallback = options.fallback ?? procSocketResolver();
  const reported = new Set<string>();
  let native = true;
  return (pid, fd, hint) => {
    if (native) {
      try {
        const ends = binding.socketEnds(pid, fd);
        return ends === null ? undefined : socketInfoFromEnds(ends);
      } catch (caught) {
        // A lookup never stops the pipeline: whatever the addon met, /proc answers this one.
        const error = caught as NodeJS.ErrnoException;
        const code = error.code ?? 'unknown';
        if (code === 'ENOSYS') native = false;
        if (!reported.has(code)) {
          reported.add(code);
          options.onError?.(error);
        }
      }
    }
    // The hint (the socket's family and type, when its socket() was seen) narrows /proc to one table.
    return fallback(pid, fd, hint);
  };
}
