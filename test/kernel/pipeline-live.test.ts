// The pipeline on the real kernel: the default ruleset (rules/network.rules, each rule
// narrowed to this test's children with -F ppid), the records read by the audit socket,
// flows out of the pipeline with /proc resolution, checked field by field against what the
// workload child reports about its own sockets (ports the kernel chose).
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { communityId } from '../../src/pipeline/community-id.js';
import type { Flow } from '../../src/pipeline/flow.js';
import type { LossReport } from '../../src/pipeline/loss.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { procSocketResolver } from '../../src/pipeline/sockets.js';
import { finished, waitForLine } from '../helpers/child.js';
import { registerWithRules, useKernel, type TestAuditDaemon } from '../helpers/kernel.js';
import { networkRulesForChildren } from '../helpers/network-rules.js';
import { until } from '../helpers/until.js';
import { buildWorkload, workloadOutput, type Scenario } from '../helpers/workload.js';

const kernel = useKernel();

const flows: Flow[] = [];
const losses: LossReport[] = [];
const pipeline = new Pipeline({ onFlow: (flow) => flows.push(flow), onLoss: (loss) => losses.push(loss), resolver: procSocketResolver() });
let daemon: TestAuditDaemon | undefined;
let workload: string;

beforeAll(async () => {
  workload = buildWorkload();
  daemon = await registerWithRules(kernel.control, networkRulesForChildren(), (batch) => pipeline.pushBatch(batch));
});

afterAll(async () => {
  await daemon?.close();
});

interface Ran {
  pid: number;
  output: Map<string, string[]>;
  flows: Flow[];
}

/**
 * Runs one scenario with --hold (its sockets stay open, so /proc can be read), waits until
 * `expected` flows of its pid came out of the pipeline, then lets it exit.
 */
async function scenario(name: Scenario, expected: number): Promise<Ran> {
  const child: ChildProcess = spawn(workload, [name, '--hold'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const done = finished(child);
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const pid = child.pid ?? -1;
  const mine = (): Flow[] => flows.filter((flow) => flow.pid === pid);
  try {
    await waitForLine(child, /^done$/);
    await until(() => mine().length >= expected, 10_000, `${expected} flows of ${name}`);
    // Whatever else the kernel sends for this child arrives within a moment.
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    child.stdin?.end();
    await done;
  }
  return { pid, output: workloadOutput(stdout), flows: mine() };
}

const numberOf = (ran: Ran, name: string, index = 0): number => Number(ran.output.get(name)?.[index]);
const one = (ran: Ran, op: Flow['op']): Flow => {
  const matching = ran.flows.filter((flow) => flow.op === op);
  expect(matching, `${op} flows`).toHaveLength(1);
  return matching[0]!;
};

describe('the pipeline on the real kernel with the default ruleset', () => {
  it('gives a TCP connect over IPv4 its protocol, both ends and a Community ID', async () => {
    const ran = await scenario('connect-tcp4-ok', 2);
    const connect = one(ran, 'connect');
    expect(connect).toMatchObject({
      kind: 'flow',
      op: 'connect',
      syscall: 'connect',
      direction: 'egress',
      result: 'ok',
      family: 'inet',
      proto: 'tcp',
      proto_num: 6,
      local_addr: '127.0.0.1',
      local_port: numberOf(ran, 'local'),
      remote_addr: '127.0.0.1',
      remote_port: numberOf(ran, 'server'),
      pid: ran.pid,
      ppid: process.pid,
      uid: 0,
      euid: 0,
      key: 'auditflow-connect',
      comm: 'fixture-workloa',
      exe: workload,
      argv: [workload, 'connect-tcp4-ok', '--hold'],
      count: 1,
    });
    const local = { bytes: Buffer.from([127, 0, 0, 1]), port: numberOf(ran, 'local') };
    const remote = { bytes: Buffer.from([127, 0, 0, 1]), port: numberOf(ran, 'server') };
    expect(connect.community_id).toBe(communityId(6, local, remote));
    expect(one(ran, 'bind')).toMatchObject({ direction: 'listen', proto: 'tcp', local_addr: '127.0.0.1', local_port: numberOf(ran, 'server'), key: 'auditflow-bind' });
  });

  it('gives a TCP connect over IPv6 both ends', async () => {
    const ran = await scenario('connect-tcp6-ok', 2);
    expect(one(ran, 'connect')).toMatchObject({ family: 'inet6', proto: 'tcp', result: 'ok', local_addr: '::1', local_port: numberOf(ran, 'local'), remote_addr: '::1', remote_port: numberOf(ran, 'server') });
  });

  it('reports a refused connect with its errno and a non-blocking one as in progress', async () => {
    const refused = await scenario('connect-tcp4-refused', 1);
    expect(one(refused, 'connect')).toMatchObject({ result: 'ECONNREFUSED', proto: 'tcp', remote_addr: '127.0.0.1', remote_port: 9 });
    const pending = await scenario('connect-tcp6-nonblock', 2);
    expect(one(pending, 'connect')).toMatchObject({ result: 'inprogress', proto: 'tcp', family: 'inet6', local_port: numberOf(pending, 'local'), remote_port: numberOf(pending, 'server') });
  });

  it('shows an IPv4-mapped connect as IPv4, flagged', async () => {
    const ran = await scenario('connect-ipv4-mapped', 2);
    const connect = one(ran, 'connect');
    expect(connect).toMatchObject({ family: 'inet6', ipv4_mapped: true, remote_addr: '127.0.0.1', local_addr: '127.0.0.1', local_port: numberOf(ran, 'local'), proto: 'tcp' });
    expect(connect.community_id).toMatch(/^1:/);
  });

  it('gives an accept the peer and the listening side', async () => {
    for (const name of ['accept-peer', 'accept4-peer', 'accept6-peer'] as const) {
      const ran = await scenario(name, 3);
      expect(one(ran, 'accept'), name).toMatchObject({
        direction: 'ingress',
        result: 'ok',
        proto: 'tcp',
        local_port: numberOf(ran, 'server'),
        remote_port: numberOf(ran, 'local'),
        syscall: name.startsWith('accept4') ? 'accept4' : 'accept',
        key: 'auditflow-accept',
      });
    }
  });

  it('gives a bind to port 0 the port the kernel chose, through /proc', async () => {
    const ran = await scenario('bind-port0', 1);
    expect(one(ran, 'bind')).toMatchObject({ proto: 'udp', local_addr: '127.0.0.1', local_port: numberOf(ran, 'local') });
  });

  it('gives UDP sendto and sendmsg with an address their protocol and both ends', async () => {
    const four = await scenario('sendto-udp4', 2);
    expect(one(four, 'sendto')).toMatchObject({ proto: 'udp', proto_num: 17, local_port: numberOf(four, 'local'), remote_addr: '127.0.0.1', remote_port: numberOf(four, 'server'), key: 'auditflow-send' });
    const six = await scenario('sendto-udp6', 2);
    expect(one(six, 'sendto')).toMatchObject({ family: 'inet6', proto: 'udp', local_port: numberOf(six, 'local'), remote_addr: '::1', remote_port: numberOf(six, 'server') });
    const message = await scenario('sendmsg-name', 2);
    expect(one(message, 'sendmsg')).toMatchObject({ proto: 'udp', local_port: numberOf(message, 'local'), remote_port: numberOf(message, 'server') });
  });

  it('tells TCP from UDP connects of one process', async () => {
    const ran = await scenario('socket-tcp-vs-udp', 4);
    const connects = ran.flows.filter((flow) => flow.op === 'connect');
    expect(connects.map((flow) => [flow.proto, flow.local_port])).toEqual([
      ['tcp', numberOf(ran, 'local', 0)],
      ['udp', numberOf(ran, 'local', 1)],
    ]);
  });

  it('decodes a comm with spaces and quotes', async () => {
    const ran = await scenario('comm-hex', 1);
    expect(one(ran, 'connect').comm).toBe('my "odd" name');
  });

  it('gives no flow for AF_UNIX and netlink traffic', async () => {
    expect((await scenario('unix-ignored', 0)).flows).toEqual([]);
    expect((await scenario('netlink-ignored', 0)).flows).toEqual([]);
  });

  it('resolves a socket the pipeline never saw created through /proc', async () => {
    const child = spawn(workload, ['connect-tcp4-ok', '--hold'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const done = finished(child);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      await waitForLine(child, /^done$/);
      const output = workloadOutput(stdout);
      // fd 3 is the listening socket, fd 4 the connected one (scripts/fixture-workload.c).
      const resolve = procSocketResolver();
      expect(resolve(child.pid ?? -1, 3)).toMatchObject({ protocol: 6, local: { addr: '127.0.0.1', port: Number(output.get('server')?.[0]) }, remote: undefined });
      expect(resolve(child.pid ?? -1, 4)).toMatchObject({ protocol: 6, local: { port: Number(output.get('local')?.[0]) }, remote: { addr: '127.0.0.1', port: Number(output.get('server')?.[0]) } });
      expect(resolve(child.pid ?? -1, 0)).toBeUndefined();
    } finally {
      child.stdin?.end();
      await done;
    }
  });

  it('lost nothing: no parse errors, no serial gaps, no incomplete events', () => {
    pipeline.flush();
    expect(losses.filter((loss) => loss.reason === 'parse_error' || loss.reason === 'serial_gap' || loss.reason === 'reassembly_timeout')).toEqual([]);
  });
});
