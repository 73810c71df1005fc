import { describe, expect, it } from 'vitest';
import { ipv6Text } from '../../../src/linux/ip-text.js';
import { decodeSockaddrHex } from '../../../src/pipeline/sockaddr.js';

describe('decodeSockaddr', () => {
  it('decodes AF_INET: family in host order, port and address in network order', () => {
    expect(decodeSockaddrHex('020000097F0000010000000000000000')).toMatchObject({ ok: true, value: { family: 'inet', addr: '127.0.0.1', port: 9 } });
  });

  it('decodes AF_INET6 with flowinfo and scope id', () => {
    const hex = '0A00 01BB 00012345 FE800000000000000000000000000001 02000000'.replace(/ /g, '');
    expect(decodeSockaddrHex(hex)).toMatchObject({ ok: true, value: { family: 'inet6', addr: 'fe80::1', port: 443, flowinfo: 0x12345, scopeId: 2, ipv4Mapped: false } });
  });

  it('accepts the 24-byte RFC 2133 sockaddr_in6 without a scope id', () => {
    expect(decodeSockaddrHex('0A00003500000000' + '00000000000000000000000000000001')).toMatchObject({ ok: true, value: { addr: '::1', port: 53, scopeId: undefined } });
  });

  it('shows an IPv4-mapped IPv6 address as IPv4 and flags it', () => {
    const result = decodeSockaddrHex('0A00D14B00000000' + '00000000000000000000FFFF7F000001' + '00000000');
    expect(result).toMatchObject({ ok: true, value: { family: 'inet6', addr: '127.0.0.1', ipv4Mapped: true } });
    if (result.ok && result.value.family === 'inet6') expect(result.value.bytes).toHaveLength(4);
  });

  it('decodes AF_UNIX path, abstract and unnamed addresses', () => {
    const path = '0100' + Buffer.from('/run/x.sock\0\0\0').toString('hex');
    expect(decodeSockaddrHex(path)).toMatchObject({ ok: true, value: { family: 'unix', kind: 'path', path: '/run/x.sock' } });
    expect(decodeSockaddrHex('0100' + '00' + Buffer.from('abs').toString('hex'))).toMatchObject({ ok: true, value: { kind: 'abstract', path: '@abs' } });
    expect(decodeSockaddrHex('0100')).toMatchObject({ ok: true, value: { kind: 'unnamed' } });
  });

  it('decodes AF_NETLINK and names other families by number', () => {
    expect(decodeSockaddrHex('100000000000000000000000')).toMatchObject({ ok: true, value: { family: 'netlink', portId: 0, groups: 0 } });
    expect(decodeSockaddrHex('28000000')).toMatchObject({ ok: true, value: { family: 'other', number: 40, name: 'vsock' } });
    expect(decodeSockaddrHex('FF7F')).toMatchObject({ ok: true, value: { family: 'other', number: 0x7fff, name: 'af_32767' } });
  });

  it('returns a typed error for empty, odd, non-hex and short input', () => {
    expect(decodeSockaddrHex('')).toMatchObject({ ok: false, error: { kind: 'empty' } });
    expect(decodeSockaddrHex('020')).toMatchObject({ ok: false, error: { kind: 'not-hex' } });
    expect(decodeSockaddrHex('zz00')).toMatchObject({ ok: false, error: { kind: 'not-hex' } });
    expect(decodeSockaddrHex('02')).toMatchObject({ ok: false, error: { kind: 'too-short', family: undefined } });
    expect(decodeSockaddrHex('020000')).toMatchObject({ ok: false, error: { kind: 'too-short', family: 2 } });
    expect(decodeSockaddrHex('0A00000000000000')).toMatchObject({ ok: false, error: { kind: 'too-short', family: 10 } });
  });

  it('writes IPv6 text the RFC 5952 way', () => {
    const text = (hex: string): string => ipv6Text(Buffer.from(hex, 'hex'));
    expect(text('20010db8000000000000000000000001')).toBe('2001:db8::1');
    expect(text('20010db8000000010000000000000001')).toBe('2001:db8:0:1::1');
    expect(text('20010db8000000000001000000000001')).toBe('2001:db8::1:0:0:1');
    expect(text('00000000000000000000000000000000')).toBe('::');
    expect(text('20010db8000100010001000100010001')).toBe('2001:db8:1:1:1:1:1:1');
  });
});
