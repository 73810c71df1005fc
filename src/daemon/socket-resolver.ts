// The live daemon's answer to "which socket is fd N of pid P": asked of the socket itself through the
// addon (pidfd_getfd, then getsockopt/getsockname/getpeername), which costs the same few system calls
// however many sockets the host has. /proc (procSocketResolver) reads every socket of the network
// namespace for each lookup, TIME_WAIT ones included; measured with the benchmark's connect workload,
// that was most of the daemon's CPU. /proc stays the fallback for a kernel without pidfd_getfd (before
// Linux 5.6) and for a process the kernel will not let the daemon reach (EPERM).
import type { AuditBinding } from '../native/binding.js';
import { socketInfoFromEnds } from '../pipeline/early-lookups.js';
import { procSocketResolver, type SocketResolver } from '../pipeline/sockets.js';

export interface LiveSocketResolverOptions {
  /** Where a lookup goes when the socket cannot be asked (default: procSocketResolver()). */
  fallback?: SocketResolver;
  /** Told once per error code the addon met (the daemon logs it). */
  onError?: (error: NodeJS.ErrnoException) => void;
  /** Told of each lookup whose pid is another process's now than the event's (counted, not answered). */
  onReused?: () => void;
}

export function liveSocketResolver(binding: AuditBinding, options: LiveSocketResolverOptions = {}): SocketResolver {
  const fallback = options.fallback ?? procSocketResolver();
  const reported = new Set<string>();
  let native = true;
  return (pid, fd, hint, eventMs) => {
    if (native) {
      try {
        const ends = binding.socketEnds(pid, fd, eventMs);
        if (ends === false) {
          // The process at pid started after the event: /proc would answer for the same newcomer.
          options.onReused?.();
          return undefined;
        }
        return ends === null ? undefined : socketInfoFromEnds(ends, Date.now() * 1000);
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
    return fallback(pid, fd, hint, eventMs);
  };
}
