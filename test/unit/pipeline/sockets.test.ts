import { describe, expect, it } from 'vitest';
import { parseProcNetLine, SocketTable } from '../../../src/pipeline/sockets.js';
import { AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM } from '../../../src/linux/socket.js';

describe('SocketTable', () => {
  it('masks SOCK_NONBLOCK and SOCK_CLOEXEC and picks the protocol type 0 means', () => {
    const table = new SocketTable();
    table.addSocket(10, 3, AF_INET, SOCK_STREAM | 0x800 | 0x80000, 0);
    table.addSocket(10, 4, AF_INET6, SOCK_DGRAM, 0);
    table.addSocket(10, 5, AF_INET, 3, 1);
    expect(table.get(10, 3)).toMatchObject({ type: SOCK_STREAM, protocol: 6 });
    expect(table.get(10, 4)).toMatchObject({ type: SOCK_DGRAM, protocol: 17 });
    expect(table.get(10, 5)).toMatchObject({ type: 3, protocol: 1 });
  });

  it('stays within its bound, dropping the least recently used', () => {
    const table = new SocketTable({ maxEntries: 2 });
    table.addSocket(1, 3, AF_INET, SOCK_STREAM, 0);
    table.addSocket(1, 4, AF_INET, SOCK_STREAM, 0);
    table.get(1, 3);
    table.addSocket(1, 5, AF_INET, SOCK_STREAM, 0);
    expect(table.size).toBe(2);
    expect(table.get(1, 4)).toBeUndefined();
    expect(table.get(1, 3)).toBeDefined();
  });

  it('forgets a process whose exe changed (exec or pid reuse)', () => {
    const table = new SocketTable();
    table.observeProcess(7, '/usr/bin/a');
    table.addSocket(7, 3, AF_INET, SOCK_STREAM, 0);
    table.observeProcess(7, '/usr/bin/a');
    expect(table.get(7, 3)).toBeDefined();
    table.observeProcess(7, '/usr/bin/b');
    expect(table.get(7, 3)).toBeUndefined();
  });

  it('asks the resolver only through resolve()', () => {
    const table = new SocketTable({ resolver: (pid, fd) => ({ family: AF_INET, type: SOCK_STREAM, protocol: 6, local: undefined, remote: undefined, source: 'proc', ...{ pid, fd } }) });
    expect(table.get(1, 3)).toBeUndefined();
    expect(table.resolve(1, 3)).toMatchObject({ protocol: 6, source: 'proc' });
  });
});

describe('parseProcNetLine', () => {
  it('reads an IPv4 row: addresses as host-order words, ports after ntohs', () => {
    const line = '   3: 0100007F:A3F2 0100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 20 4 30 10 -1';
    expect(parseProcNetLine(line, AF_INET, 'LE')).toMatchObject({ local: { addr: '127.0.0.1', port: 0xa3f2 }, remote: { addr: '127.0.0.1', port: 80 }, inode: '123456' });
  });

  it('reads an IPv6 row, IPv4-mapped addresses as IPv4', () => {
    const loopback = '00000000000000000000000001000000';
    const mapped = '0000000000000000FFFF00000100007F';
    const line = `  0: ${loopback}:1F90 ${mapped}:0016 01 00000000:00000000 00:00000000 00000000     0        0 99 1`;
    expect(parseProcNetLine(line, AF_INET6, 'LE')).toMatchObject({ local: { addr: '::1', port: 8080 }, remote: { addr: '127.0.0.1', port: 22 }, inode: '99' });
  });

  it('skips the header and malformed rows', () => {
    expect(parseProcNetLine('  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode', AF_INET)).toBeUndefined();
    expect(parseProcNetLine('0: zz:1 00:2 01 0 0 0 0 0 5', AF_INET)).toBeUndefined();
  });
});
