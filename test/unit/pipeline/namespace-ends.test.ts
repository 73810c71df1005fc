// The close join keyed by network namespace (src/pipeline/namespace-ends.ts): the same 127.0.0.1
// pair in the daemon's namespace and in another one, with the destroy broadcasts captured on this
// kernel (test/fixtures/sockdiag/destroy-lo.hex) and flows from a captured connect (connect-tcp4-ok).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Flow } from '../../../src/pipeline/flow.js';
import { NamespaceEnds } from '../../../src/pipeline/namespace-ends.js';
import { parseInetDiag, type InetDiagSocket } from '../../../src/linux/inet-diag.js';
import { fixtureLines, runLogLines } from './fixtures.js';

const text = readFileSync(new URL('../../fixtures/sockdiag/destroy-lo.hex', import.meta.url), 'utf8').split('\n');
const [client] = text
  .filter((line) => line !== '' && !line.startsWith('#'))
  .map((line) => {
    const parsed = parseInetDiag(Buffer.from(line, 'hex'));
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.socket;
  }) as InetDiagSocket[];
const socket = client as InetDiagSocket;
const captured = runLogLines(fixtureLines('connect-tcp4-ok')).flows.find((flow) => flow.op === 'connect') as Flow;
const NETNS = 4026532175;

/** The captured connect to the fixture's server, without its local end (a socket closed at once), in `netns` (undefined: the daemon's). */
function connect(serial: number, netns: number | undefined, local: InetDiagSocket | null = null): Flow {
  const flow: Flow = {
    ...structuredClone(captured),
    serial,
    local_addr: local?.localAddr ?? null,
    local_port: local?.localPort ?? null,
    remote_addr: socket.remoteAddr,
    remote_port: socket.remotePort,
    uid: 0,
    euid: 0,
  };
  if (netns !== undefined) flow.netns = netns;
  return flow;
}

function join(watched: number[]): { ends: NamespaceEnds; flows: Flow[]; closes: Flow[]; asked: number[] } {
  const flows: Flow[] = [];
  const closes: Flow[] = [];
  const asked: number[] = [];
  const ends = new NamespaceEnds({
    localWaitMs: 300,
    holdMs: 1000,
    onFlow: (flow) => flows.push(flow),
    onClose: (flow) => closes.push(flow),
    onLoss: () => {},
    watch: (netns) => {
      asked.push(netns);
      return watched.includes(netns);
    },
  });
  return { ends, flows, closes, asked };
}

describe('the close join by network namespace', () => {
  it("joins a namespace's destroy only to that namespace's flow, though the host has a flow with the same ends", () => {
    const { ends, flows, closes, asked } = join([NETNS]);
    ends.push(connect(100, undefined));
    ends.push(connect(200, NETNS));
    expect(asked).toEqual([NETNS]);
    expect(flows).toHaveLength(0);
    // Without the key, this destroy would complete the older (host) connect.
    ends.pushDestroy(socket, captured.ts + 50, NETNS);
    expect(flows).toEqual([expect.objectContaining({ serial: 200, netns: NETNS, local_port: socket.localPort, local_source: 'close' })]);
    expect(closes).toEqual([expect.objectContaining({ op: 'close', open_serial: 200, netns: NETNS })]);
    ends.pushDestroy(socket, captured.ts + 60, null);
    expect(flows.map((flow) => flow.serial)).toEqual([200, 100]);
    expect(closes[1]).toMatchObject({ open_serial: 100 });
    expect(closes[1]).not.toHaveProperty('netns');
    expect(ends.stats()).toMatchObject({ namespaces: 1, closes: 2, closesJoined: 2, localFromClose: 2 });
  });

  it("passes on the flows of a namespace whose destroys are not read at once, with their socket's local end, and joins nothing of them", () => {
    const { ends, flows, closes } = join([]);
    ends.push(connect(200, NETNS, socket));
    ends.push(connect(201, NETNS));
    expect(flows).toEqual([expect.objectContaining({ serial: 200, local_source: 'socket' }), expect.objectContaining({ serial: 201, local_port: null })]);
    expect(flows[1]).not.toHaveProperty('local_source');
    ends.pushDestroy(socket, captured.ts + 50, null);
    ends.pushDestroy(socket, captured.ts + 50, NETNS);
    ends.flush();
    // The host's destroy closes with no opener; the namespace's (not read) goes nowhere.
    expect(closes).toEqual([expect.objectContaining({ direction: 'unknown' })]);
    expect(ends.stats()).toMatchObject({ namespaces: 0, unwatched: 2 });
  });

  it('lets out what waits in a namespace that is forgotten, and reads it again when a flow of it comes', () => {
    const { ends, flows, asked } = join([NETNS]);
    ends.push(connect(200, NETNS));
    expect(ends.oldestPendingSerial).toBe(200);
    ends.forget(NETNS);
    expect(flows).toEqual([expect.objectContaining({ serial: 200, local_port: null })]);
    expect(ends.oldestPendingSerial).toBeUndefined();
    ends.push(connect(300, NETNS));
    expect(asked).toEqual([NETNS, NETNS]);
    expect(ends.stats()).toMatchObject({ namespaces: 1, waiting: 1, localMissing: 1 });
  });
});
