// io_uring operations as flows (src/pipeline/uring-ops.ts), on the records captured from io_uring
// programs on this kernel (test/fixtures/uring-*.log, scripts/uring-workload.c).
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import type { Flow } from '../../../src/pipeline/flow.js';
import { fixtureLines, fixtureWorkload, runLogLines, runWith } from './fixtures.js';

const uringFlows = (flows: Flow[]): Flow[] => flows.filter((flow) => flow.via === 'io_uring');
const recordLines = (name: string): string[] => fixtureLines(name).filter((line) => line.startsWith('type='));
// The io-wq retry of an inline attempt: a URINGOP record alone (and its EOE).
const isRetry = (lines: string[], line: string): boolean => {
  const serial = /:(\d+)\):/.exec(line)?.[1];
  const same = lines.filter((other) => other.includes(`:${serial}):`));
  return same.length <= 2 && same.some((other) => other.startsWith('type=URINGOP'));
};

describe('io_uring operations', () => {
  it('joins an inline connect (EAGAIN, with the address) with its retry: one flow, the remote end, result unknown', () => {
    for (const [name, family, addr] of [
      ['uring-connect-tcp4', 'inet', '127.0.0.1'],
      ['uring-connect-tcp6', 'inet6', '::1'],
    ] as const) {
      const run = runLogLines(fixtureLines(name));
      const flows = uringFlows(run.flows);
      expect(flows).toHaveLength(1);
      const workload = fixtureWorkload(name);
      expect(flows[0]).toMatchObject({
        op: 'connect',
        via: 'io_uring',
        uring_op: 'connect',
        source: 'process',
        syscall: 'io_uring_enter',
        direction: 'egress',
        // The retry's URINGOP says success=yes exit=0 whatever the connect's outcome (see uring-ops.ts).
        result: 'unknown',
        family,
        remote_addr: addr,
        remote_port: workload.get('server'),
        local_port: null,
        fd: null,
        comm: 'uring-workload',
        key: 'auditflow-fixture',
      });
      expect(flows[0]?.exe).toMatch(/\/uring-workload$/);
      expect(flows[0]?.auid).toBe(4294967295);
      expect(run.stats.losses).toEqual({});
    }
  });

  it('says unknown for a refused io_uring connect: the kernel logs the retry as success=yes exit=0', () => {
    const flows = uringFlows(runLogLines(fixtureLines('uring-connect-refused')).flows);
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ op: 'connect', result: 'unknown', remote_port: fixtureWorkload('uring-connect-refused').get('server') });
  });

  it('gives an accept with the peer address as ok, and a sendmsg with its destination', () => {
    const accept = uringFlows(runLogLines(fixtureLines('uring-accept')).flows);
    expect(accept).toEqual([expect.objectContaining({ op: 'accept', direction: 'ingress', result: 'ok', remote_addr: '127.0.0.1', remote_port: fixtureWorkload('uring-accept').get('client') })]);
    const send = uringFlows(runLogLines(fixtureLines('uring-sendmsg-udp4')).flows);
    expect(send).toEqual([expect.objectContaining({ op: 'sendmsg', uring_op: 'sendmsg', direction: 'egress', result: 'unknown', remote_port: fixtureWorkload('uring-sendmsg-udp4').get('server') })]);
  });

  it('makes a blocking accept one flow: the attempt without an address is passed over, the retry with the peer is the flow', () => {
    const lines = recordLines('uring-accept');
    const accept = lines.filter((line) => /:5618\):/.test(line));
    // The attempt io_uring made before a connection was there: -EAGAIN, no address copied out.
    const attempt = accept
      .filter((line) => !line.startsWith('type=SOCKADDR'))
      .map((line) => line.replace(':5618):', ':5617):').replace('success=yes exit=0', 'success=no exit=-11'));
    // Its retry, completed when the client came: URINGOP and the peer, no SYSCALL.
    const retry = accept.filter((line) => line.startsWith('type=URINGOP') || line.startsWith('type=SOCKADDR') || line.startsWith('type=EOE'));
    const flows: Flow[] = [];
    const pipeline = new Pipeline({ onFlow: (flow) => flows.push(flow) });
    [...attempt, ...retry].forEach((line) => pipeline.pushLogLine(line));
    pipeline.advance(Date.now() + 60_000);
    pipeline.flush();
    // comm, exe and auid from the io_uring_enter record of the process's submission, which the retry lacks.
    expect(uringFlows(flows)).toEqual([expect.objectContaining({ op: 'accept', result: 'ok', serial: 5618, remote_port: fixtureWorkload('uring-accept').get('client'), syscall: 'io_uring', comm: 'uring-workload', auid: 4294967295 })]);
  });

  it('lets an attempt whose retry never comes leave after the event timeout as inprogress', () => {
    const lines = recordLines('uring-connect-tcp4');
    const inline = lines.filter((line) => !isRetry(lines, line));
    expect(inline.length).toBeLessThan(lines.length);
    const flows: Flow[] = [];
    const pipeline = new Pipeline({ onFlow: (flow) => flows.push(flow), eventTimeoutMs: 2000 });
    inline.forEach((line) => pipeline.pushLogLine(line));
    const time = Math.max(...flows.map((flow) => flow.ts));
    pipeline.advance(time + 1000);
    expect(uringFlows(flows)).toHaveLength(0);
    expect(pipeline.oldestPendingSerial()).toBeDefined();
    pipeline.advance(time + 2500);
    expect(uringFlows(flows)).toEqual([expect.objectContaining({ op: 'connect', result: 'inprogress', remote_addr: '127.0.0.1' })]);
    expect(pipeline.oldestPendingSerial()).toBeUndefined();
  });

  it('joins retries to attempts oldest first, per process', () => {
    const lines = recordLines('uring-connect-tcp4');
    const attempt = lines.filter((line) => line.includes(':5598):'));
    const retry = lines.filter((line) => line.includes(':5599):'));
    const renumber = (group: string[], serial: number, port?: string): string[] =>
      group.map((line) => line.replace(/:(\d+)\):/, `:${serial}):`).replace(port === undefined ? /$^/ : /saddr=0200EDAF/, `saddr=0200${port ?? ''}`));
    // Two connects of one process in flight: to port 0x1111, then 0x2222; two retries come.
    const run = runLogLines([...renumber(attempt, 100, '1111'), ...renumber(attempt, 101, '2222'), ...renumber(retry, 102), ...renumber(retry, 103)]);
    expect(uringFlows(run.flows).map((flow) => [flow.serial, flow.remote_port, flow.result])).toEqual([
      [100, 0x1111, 'unknown'],
      [101, 0x2222, 'unknown'],
    ]);
  });

  it('makes a retry without an attempt and without an address a flow only when every family is kept', () => {
    const lines = recordLines('uring-connect-tcp4');
    const retry = lines.filter((line) => isRetry(lines, line));
    const dropped = runLogLines(retry);
    expect(uringFlows(dropped.flows)).toHaveLength(0);
    expect(dropped.stats.losses).toEqual({ family: 1, 'family:unknown': 1 });
    const all = runWith({ families: 'all' }, (pipeline) => retry.forEach((line) => pipeline.pushLogLine(line)));
    expect(uringFlows(all.flows)).toEqual([expect.objectContaining({ op: 'connect', syscall: 'io_uring', remote_addr: null, comm: null, exe: null, uid: 0, pid: expect.any(Number) })]);
  });

  it('names an error the issue itself returned, and makes no flow of operations without an address (listen, shutdown, openat)', () => {
    const lines = recordLines('uring-connect-tcp4').filter((line) => line.includes(':5598):'));
    const failed = lines.map((line) => (line.startsWith('type=URINGOP') ? line.replace('success=no exit=-11', 'success=no exit=-9') : line));
    expect(uringFlows(runLogLines(failed).flows)).toEqual([expect.objectContaining({ op: 'connect', result: 'EBADF' })]);
    for (const op of [57, 34, 18]) {
      const other = lines.map((line) => (line.startsWith('type=URINGOP') ? line.replace('uring_op=16', `uring_op=${op}`).replace('success=no exit=-11', 'success=yes exit=0') : line));
      const run = runLogLines(other);
      expect(uringFlows(run.flows)).toEqual([]);
      expect(run.stats.losses).toEqual({});
    }
  });

  it('keeps a SOCKADDR that is not an address a counted bad_sockaddr loss', () => {
    const lines = recordLines('uring-sendmsg-udp4').map((line) => (line.startsWith('type=SOCKADDR') && line.includes('0200E5AE') ? line.replace(/saddr=\S+/, 'saddr=02') : line));
    const run = runLogLines(lines);
    expect(uringFlows(run.flows)).toHaveLength(0);
    expect(run.stats.losses['bad_sockaddr']).toBe(1);
  });
});
