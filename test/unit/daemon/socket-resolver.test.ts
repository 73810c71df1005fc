// The daemon's socket lookups: the addon asks the socket itself (pidfd_getfd) and must answer what
// /proc answers, for every socket a held workload has; /proc takes over when the kernel refuses.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { liveSocketResolver } from '../../../src/daemon/socket-resolver.js';
import { nativeBinding, type AuditBinding } from '../../../src/native/binding.js';
import { procSocketResolver, type SocketInfo } from '../../../src/pipeline/sockets.js';
import { finished, waitForLine } from '../../helpers/child.js';
import { buildWorkload } from '../../helpers/workload.js';
import { AF_INET, AF_INET6, SOCK_STREAM } from '../../../src/linux/socket.js';
import { readBootTimeMs, readProcStat, startTimeMs } from '../../../src/pipeline/process/proc-stat.js';

const summary = (info: SocketInfo | undefined): unknown =>
  info === undefined
    ? undefined
    : { family: info.family, type: info.type, protocol: info.protocol, local: info.local && `${info.local.addr}:${info.local.port}`, remote: info.remote && `${info.remote.addr}:${info.remote.port}` };

/** Runs a fixture scenario that keeps its sockets open, and hands its pid to `check`. */
async function holding(scenario: string, check: (pid: number) => void): Promise<void> {
  const child = spawn(buildWorkload(), [scenario, '--hold'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const done = finished(child);
  try {
    await waitForLine(child, /^done$/);
    check(child.pid ?? -1);
  } finally {
    child.stdin?.end();
    await done;
  }
}

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: refused`), { code });

describe('liveSocketResolver', () => {
  it('answers what /proc answers for every socket of a live process', async () => {
    const live = liveSocketResolver(nativeBinding(), { fallback: () => undefined });
    const proc = procSocketResolver();
    for (const scenario of ['connect-tcp4-ok', 'connect-tcp6-ok', 'connect-ipv4-mapped', 'sendto-udp4', 'sendto-udp6', 'bind-port0', 'udp-connected-send']) {
      await holding(scenario, (pid) => {
        let sockets = 0;
        for (let fd = 0; fd < 8; fd++) {
          const expected = summary(proc(pid, fd));
          expect({ scenario, fd, info: summary(live(pid, fd)) }).toEqual({ scenario, fd, info: expected });
          if (expected !== undefined) sockets++;
        }
        expect(sockets, scenario).toBeGreaterThan(0);
      });
    }
  });

  it('gives a connected TCP socket both ends and a listener its local end only', async () => {
    const live = liveSocketResolver(nativeBinding(), { fallback: () => undefined });
    await holding('connect-tcp4-ok', (pid) => {
      // fd 3 listens, fd 4 is connected to it (scripts/fixture-workload.c).
      const listener = live(pid, 3);
      const client = live(pid, 4);
      expect(listener).toMatchObject({ family: AF_INET, type: SOCK_STREAM, protocol: 6, remote: undefined });
      expect(client).toMatchObject({ family: AF_INET, protocol: 6, remote: { addr: '127.0.0.1', port: listener?.local?.port } });
      expect(client?.local?.port).toBeGreaterThan(0);
    });
  });

  it('knows nothing of a process that has exited, or of an fd that is no socket', async () => {
    const live = liveSocketResolver(nativeBinding(), { fallback: () => undefined });
    const child = spawn(buildWorkload(), ['bind-port0'], { stdio: 'ignore' });
    await finished(child);
    expect(live(child.pid ?? -1, 3)).toBeUndefined();
    // fd 0 of this test process is not a socket of the inet families.
    expect(live(process.pid, 0)).toBeUndefined();
  });

  it('answers for a process only if it had started by the event (pid reuse), in the addon and in /proc alike', async () => {
    await holding('connect-tcp4-ok', (pid) => {
      const stat = readProcStat('/proc', pid);
      if (stat === undefined) throw new Error(`no /proc/${pid}/stat`);
      const startMs = startTimeMs(readBootTimeMs('/proc', Date.now), stat.startTicks);
      let reused = 0;
      const fallbackAsked: number[] = [];
      const live = liveSocketResolver(nativeBinding(), {
        fallback: (asked) => {
          fallbackAsked.push(asked);
          return undefined;
        },
        onReused: () => reused++,
      });
      const proc = procSocketResolver();
      // An event 200 ms before the process started was another process's (the tolerance is 100 ms).
      const before = startMs - 200;
      expect(nativeBinding().socketEnds(pid, 4, before)).toBe(false);
      expect(live(pid, 4, undefined, before)).toBeUndefined();
      expect(proc(pid, 4, undefined, before)).toBeUndefined();
      expect(reused).toBe(1);
      expect(fallbackAsked, '/proc would answer for the same process').toEqual([]);
      // A start up to the tolerance after the event's coarse clock, or any event since: its own.
      for (const eventMs of [startMs - 20, startMs, Date.now()]) {
        expect(live(pid, 4, undefined, eventMs), String(eventMs - startMs)).toMatchObject({ family: AF_INET, protocol: 6, remote: { addr: '127.0.0.1' } });
        expect(proc(pid, 4, undefined, eventMs), String(eventMs - startMs)).toMatchObject({ family: AF_INET, protocol: 6, remote: { addr: '127.0.0.1' } });
      }
      expect(reused).toBe(1);
    });
  });

  it('falls back to /proc for good when the kernel has no pidfd_getfd, and reports it once', () => {
    const errors: string[] = [];
    let asked = 0;
    const socketEnds = (): never => {
      asked++;
      throw errno('ENOSYS');
    };
    const binding: AuditBinding = { ...nativeBinding(), socketEnds };
    const fallback = (): SocketInfo => ({ family: AF_INET6, type: SOCK_STREAM, protocol: 6, local: undefined, remote: undefined, source: 'proc' });
    const live = liveSocketResolver(binding, { fallback, onError: (error) => errors.push(error.code ?? '') });
    expect(live(1, 3)).toMatchObject({ family: AF_INET6 });
    expect(live(1, 4)).toMatchObject({ family: AF_INET6 });
    expect(asked).toBe(1);
    expect(errors).toEqual(['ENOSYS']);
  });

  it('asks /proc about a process it may not reach, and goes on asking sockets about the others', () => {
    let calls = 0;
    const socketEnds = (): null => {
      calls++;
      if (calls === 1) throw errno('EPERM');
      return null;
    };
    const binding: AuditBinding = { ...nativeBinding(), socketEnds };
    const fallbackCalls: number[] = [];
    const live = liveSocketResolver(binding, {
      fallback: (pid) => {
        fallbackCalls.push(pid);
        return undefined;
      },
    });
    live(10, 3);
    live(11, 3);
    expect(calls).toBe(2);
    expect(fallbackCalls).toEqual([10]);
  });
});
