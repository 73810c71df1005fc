// The host's own addresses, for the direction of netfilter packet flows (src/pipeline/packet-flow.ts):
// those of the daemon's network namespace, re-read at most every REFRESH_MS when an address is not
// among them (a lease renewed, an interface added), so a steady stream of packets costs no reads.
import { networkInterfaces } from 'node:os';
import { ipTextBytes } from '../linux/ip-text.js';
import { isLoopback, type LocalAddresses } from '../pipeline/packet-flow.js';

const REFRESH_MS = 5000;

export function hostAddresses(read: typeof networkInterfaces = networkInterfaces, now: () => number = Date.now): LocalAddresses {
  let own = new Set<string>();
  let readAt = Number.NEGATIVE_INFINITY;
  const refresh = (): void => {
    own = new Set(
      Object.values(read())
        .flatMap((addresses) => addresses ?? [])
        .flatMap((address) => ipTextBytes(address.address.split('%')[0] ?? '') ?? [])
        .map((bytes) => bytes.toString('hex')),
    );
    readAt = now();
  };
  return (bytes) => {
    if (isLoopback(bytes) || own.has(bytes.toString('hex'))) return true;
    if (now() - readAt < REFRESH_MS) return false;
    refresh();
    return own.has(bytes.toString('hex'));
  };
}
