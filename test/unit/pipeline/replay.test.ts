// auditflow replay: auditd log text in, JSON flows out, malformed lines counted.
import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatSummary, replay, type ReplaySummary } from '../../../src/cli/replay.js';
import type { Flow } from '../../../src/pipeline/flow.js';
import { expectValidEntries } from '../../helpers/entry-schema.js';
import { fixtureLines, runLogLines } from './fixtures.js';

async function replayText(texts: string[], options: Parameters<typeof replay>[2] = {}): Promise<{ flows: Flow[]; summary: ReplaySummary }> {
  const out = new PassThrough();
  let written = '';
  out.on('data', (chunk: Buffer) => (written += chunk.toString()));
  const inputs = texts.map((text, i) => ({ name: `log${i}`, open: () => Readable.from([text]) }));
  const summary = await replay(inputs, out, options);
  const flows = written.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Flow);
  expectValidEntries(flows);
  return { flows, summary };
}

// auditd does not write EOE records (the event ends at PROCTITLE in its log), and its
// ENRICHED format appends the interpreted fields after 0x1D. These turn a fixture's kernel
// records into what auditd with log_format=ENRICHED writes for them.
function asAuditdEnriched(lines: string[]): string[] {
  return lines
    .filter((line) => !line.startsWith('type=EOE '))
    .map((line) => {
      if (line.startsWith('type=SYSCALL ')) return `${line}\x1dARCH=x86_64 SYSCALL=connect AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`;
      if (line.startsWith('type=SOCKADDR ')) return `${line}\x1dSADDR={ saddr_fam=inet laddr=127.0.0.1 lport=9 }`;
      return line;
    });
}

describe('auditflow replay', () => {
  it('writes the same flows as the pipeline fed line by line', async () => {
    const lines = fixtureLines('connect-tcp4-ok');
    const { flows, summary } = await replayText([lines.join('\n') + '\n']);
    expect(flows).toEqual(runLogLines(lines).flows);
    expect(summary.malformed).toBe(0);
  });

  it('reads auditd ENRICHED lines without EOE records into the same flows, with the names auditd logged', async () => {
    for (const name of ['connect-tcp4-refused', 'accept-peer', 'sendto-udp6', 'comm-hex']) {
      const lines = fixtureLines(name);
      const { flows, summary } = await replayText([asAuditdEnriched(lines).join('\n')]);
      expect(flows).toEqual(runLogLines(lines).flows.map((flow) => ({ ...flow, user: 'root', euser: 'root', group: 'root', auser: 'unset' })));
      expect(summary.stats.losses['reassembly_timeout'] ?? 0).toBe(0);
    }
  });

  it('reads CRLF line ends and a node= prefix', async () => {
    const lines = fixtureLines('connect-tcp6-ok').map((line) => `node=web-1 ${line}`);
    const { flows } = await replayText([lines.join('\r\n')]);
    expect(flows.map((flow) => flow.node)).toEqual(['web-1', 'web-1']);
    expect(flows[1]).toMatchObject({ op: 'connect', remote_addr: '::1' });
  });

  it('counts malformed lines, keeps going, and names the first ones with their line number', async () => {
    const lines = fixtureLines('sendto-udp4');
    const text = ['not an audit line', lines[0], 'type=SYSCALL msg=audit(12:', 'type= msg=', '\x00\x01\xff', ...lines.slice(1)].join('\n');
    const { flows, summary } = await replayText([text]);
    expect(summary.malformed).toBe(4);
    expect(summary.examples[0]).toMatch(/^log0:1: no-header: not an audit line/);
    expect(flows.map((flow) => flow.op)).toEqual(['bind', 'sendto']);
    expect(formatSummary(summary)).toMatch(/4 malformed line\(s\) skipped/);
  });

  it('reads a file cut in the middle of an event and one starting mid-event', async () => {
    const lines = fixtureLines('accept-peer');
    const cut = lines.findIndex((line) => line.includes('syscall=43'));
    const first = lines.slice(0, cut + 1).join('\n');
    const second = lines.slice(cut + 1).join('\n');
    const head = await replayText([first]);
    expect(head.flows.map((flow) => flow.op)).toEqual(['bind', 'connect', 'accept']);
    expect(head.summary.stats.losses['reassembly_timeout']).toBe(1);
    const tail = await replayText([second]);
    expect(tail.flows).toEqual([]);
  });

  it('reads rotated files in the order given through one pipeline', async () => {
    const lines = fixtureLines('socket-tcp-vs-udp');
    const middle = Math.floor(lines.length / 2);
    const { flows } = await replayText([lines.slice(0, middle).join('\n') + '\n', lines.slice(middle).join('\n')]);
    expect(flows).toEqual(runLogLines(lines).flows);
  });

  it('keeps AF_UNIX flows with --all-families', async () => {
    const { flows } = await replayText([fixtureLines('unix-ignored').join('\n')], { allFamilies: true });
    expect(flows.map((flow) => flow.family)).toEqual(['unix', 'unix', 'unix', 'unix']);
  });

  it('stops quietly when the reader of its output goes away (replay log | head)', async () => {
    const out = new Writable({
      highWaterMark: 1,
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const many = Array.from({ length: 300 }, () => fixtureLines('sendto-udp4').join('\n')).join('\n');
    const summary = await replay([{ name: 'log', open: () => Readable.from([many]) }], out, { window: 0 });
    expect(summary.outputClosed).toBe(true);
  });
});
