import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hostAddresses } from '../../../src/daemon/host-addresses.js';
import { ipTextBytes } from '../../../src/linux/ip-text.js';

const info = (address: string): NetworkInterfaceInfo => ({ address, netmask: '', family: address.includes(':') ? 'IPv6' : 'IPv4', mac: '', internal: false, cidr: null }) as NetworkInterfaceInfo;
const bytes = (text: string): Buffer => ipTextBytes(text) as Buffer;

describe('hostAddresses', () => {
  it("knows loopback, the interfaces' addresses (zone index dropped), and reads again at most every 5 s", () => {
    let interfaces: Record<string, NetworkInterfaceInfo[]> = { eth0: [info('10.0.0.5'), info('fe80::1%eth0')] };
    let reads = 0;
    let now = 0;
    const isLocal = hostAddresses(
      () => {
        reads++;
        return interfaces;
      },
      () => now,
    );
    expect(isLocal(bytes('127.0.0.9'))).toBe(true);
    expect(isLocal(bytes('::1'))).toBe(true);
    expect(reads).toBe(0);
    expect(isLocal(bytes('10.0.0.5'))).toBe(true);
    expect(isLocal(bytes('fe80::1'))).toBe(true);
    expect(isLocal(bytes('192.0.2.1'))).toBe(false);
    expect(reads).toBe(1);
    interfaces = { eth0: [info('192.0.2.1')] };
    now = 4000;
    expect(isLocal(bytes('192.0.2.1'))).toBe(false);
    now = 5000;
    expect(isLocal(bytes('192.0.2.1'))).toBe(true);
    expect(reads).toBe(2);
  });
});
