// The cost of DNS names on flows, per answer and per flow (docs/benchmark.md, "DNS names").
//
//   node dist/bench/dns-names.js [--answers N] [--flows N] [--live SECONDS] [--workers N]
//
// Kernel-free: N answers (the captured ones of test/fixtures/dns, their A records moved to N different
// addresses) in capture batches through parsing and the name cache, then the naming of N flows (half to
// named addresses, half to unknown ones); µs of CPU per answer and per flow.
// --live: the real capture (AF_PACKET on every interface, needs CAP_NET_RAW; no audit, no kernel lock)
// while the benchmark workload's `dns` mode makes DNS lookups on loopback for SECONDS: answers read,
// this process's CPU per answer (the capture thread and JavaScript together), and the drops.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DnsCapture } from '../src/dns/capture.js';
import { DnsNames, PACKET_META_WORDS } from '../src/dns/dns-names.js';
import type { Flow } from '../src/schema/entries.js';
import { buildPrograms } from './programs.js';
import { parseWorkloadOutput } from './workload.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = join(ROOT, 'test', 'fixtures');
const BATCH = 256;

const cpuMicros = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

/** The UDP A answers of the capture, each A record's address replaced by 10.x.y.z for answer `i`. */
function answerPackets(count: number): Buffer[] {
  // The first packet of the capture: files.example.test A 127.0.0.7, over UDP.
  const line = readFileSync(join(FIXTURES, 'dns', 'answers-lo.hex'), 'utf8').split('\n').find((text) => text !== '' && !text.startsWith('#'));
  if (line === undefined) throw new Error('no packet in test/fixtures/dns/answers-lo.hex');
  const template = Buffer.from(line, 'hex');
  // The first answer's A record ends its data 4 bytes before the OPT record (11 bytes): the address.
  const at = template.length - 11 - 4;
  return Array.from({ length: count }, (_, i) => {
    const packet = Buffer.from(template);
    packet.set([10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff], at);
    return packet;
  });
}

function batches(packets: Buffer[]): Array<{ data: Buffer; meta: Uint32Array }> {
  const out: Array<{ data: Buffer; meta: Uint32Array }> = [];
  for (let start = 0; start < packets.length; start += BATCH) {
    const slice = packets.slice(start, start + BATCH);
    const meta = new Uint32Array(slice.length * PACKET_META_WORDS);
    let offset = 0;
    slice.forEach((packet, i) => {
      meta.set([offset, packet.length, 1], i * PACKET_META_WORDS);
      offset += packet.length;
    });
    out.push({ data: Buffer.concat(slice), meta });
  }
  return out;
}

/** The captured connect of test/fixtures/connect-tcp4-ok, as the pipeline gave it. */
const CONNECT = (JSON.parse(readFileSync(join(FIXTURES, 'connect-tcp4-ok.flows.json'), 'utf8')) as { flows: Flow[] }).flows.find((flow) => flow.op === 'connect') as Flow;

const flowTo = (address: string, serial: number): Flow => ({ ...CONNECT, remote_addr: address, serial, pid: 1000 + (serial % 300) });

function kernelFree(answers: number, flows: number): Record<string, number> {
  const names = new DnsNames({ maxAddresses: Math.max(answers, 1) });
  const input = batches(answerPackets(answers));
  const beforeAnswers = cpuMicros();
  for (const batch of input) names.pushPackets(batch.data, batch.meta, 1000);
  const answerMicros = cpuMicros() - beforeAnswers;
  const toName = Array.from({ length: flows }, (_, i) => flowTo(i % 2 === 0 ? `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xfe}` : `192.0.2.${i & 0xff}`, i));
  const beforeFlows = cpuMicros();
  for (const flow of toName) names.name(flow, 2000);
  const flowMicros = cpuMicros() - beforeFlows;
  const stats = names.stats();
  return { answers: stats.answers, flows, flowsNamed: stats.flowsNamed, microsPerAnswer: round(answerMicros / answers), microsPerFlow: round(flowMicros / flows) };
}

async function live(seconds: number, workers: number): Promise<Record<string, number | string>> {
  const names = new DnsNames();
  const opened = DnsCapture.open({ onPackets: (data, meta) => names.pushPackets(data, meta, Date.now()), onError: (error) => process.stderr.write(`capture failed: ${error.message}\n`) });
  if (!opened.ok) return { error: `${opened.error.code ?? ''} ${opened.error.message} (run as root: CAP_NET_RAW)` };
  const { workload } = buildPrograms(ROOT);
  const before = cpuMicros();
  const child = spawn(workload, ['dns', String(workers), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  // The last answers' batch reaches JavaScript a moment after the workload ended.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const micros = cpuMicros() - before;
  const reader = opened.capture.stats();
  await opened.capture.close();
  if (code !== 0) return { error: `workload exited with ${code}` };
  const ops = (parseWorkloadOutput(output).syscalls - workers * 6) / 7;
  const stats = names.stats();
  return { lookups: ops, answers: stats.answers, skipped: Object.values(stats.skipped).reduce((a, b) => a + b, 0), kernelDrops: reader.kernelDrops, queueDrops: reader.queueDrops, batches: reader.batches, microsPerAnswer: round(micros / Math.max(1, stats.answers)) };
}

const round = (value: number): number => Math.round(value * 100) / 100;

const { values } = parseArgs({ options: { answers: { type: 'string', default: '200000' }, flows: { type: 'string', default: '200000' }, live: { type: 'string', default: '0' }, workers: { type: 'string', default: '2' } } });
process.stdout.write(`${JSON.stringify({ kernelFree: kernelFree(Number(values.answers), Number(values.flows)) })}\n`);
if (Number(values.live) > 0) process.stdout.write(`${JSON.stringify({ live: await live(Number(values.live), Number(values.workers)) })}\n`);
