// The readers of other network namespaces (src/daemon/netns-readers.ts) with a fake binding and a
// /proc laid out in a temporary directory: which process a reader is opened through, the bound,
// refusals, and the sweep that closes the reader of a namespace without processes.
import { readlinkSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditBinding, NativeSockDiagOptions } from '../../../src/native/binding.js';
import type { Flow } from '../../../src/pipeline/flow.js';
import { hasSysAdmin, NamespaceReaders } from '../../../src/daemon/netns-readers.js';
import type { Logger } from '../../../src/daemon/logger.js';
import { FakeProc } from '../../helpers/fake-proc.js';

const NS_A = 4026532175;
const NS_B = 4026532180;

let proc: FakeProc;
let opened: NativeSockDiagOptions[];
let refuse: string | undefined;
let logged: string[];

const log = { info: (_: object, msg: string) => logged.push(msg), warn: (_: object, msg: string) => logged.push(msg), error: (_: object, msg: string) => logged.push(msg) } as unknown as Logger;

/** The addon's reader, as far as NamespaceReaders uses it: the path must name the inode asked for. */
const binding = {
  SockDiagSocket: class {
    constructor(options: NativeSockDiagOptions, _onBatch: unknown, private readonly onClosed: () => void) {
      if (refuse !== undefined) throw Object.assign(new Error(refuse), { code: refuse });
      let target: string;
      try {
        target = readlinkSync(options.netnsPath as string);
      } catch {
        throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      }
      if (target !== `net:[${options.netnsInode}]`) throw Object.assign(new Error('ESRCH'), { code: 'ESRCH' });
      opened.push(options);
    }
    close(): void {
      this.onClosed();
    }
    stats() {
      return { messages: 0, batches: 0, enobufs: 0, dropped: 0, malformed: 0 };
    }
  },
} as unknown as AuditBinding;

const flowOf = (pid: number, ppid: number): Flow => ({ pid, ppid }) as Flow;

function readers(max = 64): { readers: NamespaceReaders; closed: number[] } {
  const closed: number[] = [];
  return { readers: new NamespaceReaders({ binding, log, procRoot: proc.root, onBatch: () => {}, onClosed: (netns) => closed.push(netns), lose: () => {}, maxNamespaces: max }), closed };
}

beforeEach(() => {
  proc = new FakeProc(0, 3_600_000);
  opened = [];
  refuse = undefined;
  logged = [];
});

afterEach(() => proc.dispose());

describe('the readers of other network namespaces', () => {
  it("opens one reader per namespace, through the flow's process or else its parent, and closes it once no process is left in it", async () => {
    proc.add({ pid: 200, ppid: 1, comm: 'server', startTicks: 100, netns: NS_A });
    const { readers: made, closed } = readers();
    // The client (pid 201) is gone: its parent is in the same namespace.
    expect(made.watch(NS_A, flowOf(201, 200))).toBe(true);
    expect(opened).toEqual([expect.objectContaining({ netnsPath: `${proc.root}/200/ns/net`, netnsInode: NS_A })]);
    expect(made.watch(NS_A, flowOf(200, 1))).toBe(true);
    expect(opened).toHaveLength(1);
    // Process 200 leaves, another one enters: the sweep finds it by a scan and keeps the reader.
    proc.remove(200);
    proc.add({ pid: 300, ppid: 1, comm: 'other', startTicks: 200, netns: NS_A });
    await made.sweep();
    expect(closed).toEqual([]);
    proc.remove(300);
    await made.sweep();
    expect(closed).toEqual([NS_A]);
    expect(made.stats()).toEqual({ namespaces: 0, opened: 1, closed: 1, refused: 0, overBound: 0 });
    expect(logged).toContain('a network namespace has no process left: its destroy reader is closed');
  });

  it('opens nothing through a pid that is another namespace now, and asks again with the next flow', () => {
    proc.add({ pid: 200, ppid: 1, comm: 'reused', startTicks: 100, netns: NS_B });
    const { readers: made } = readers();
    expect(made.watch(NS_A, flowOf(200, 1))).toBe(false);
    proc.add({ pid: 201, ppid: 1, comm: 'server', startTicks: 100, netns: NS_A });
    expect(made.watch(NS_A, flowOf(201, 1))).toBe(true);
    expect(made.stats()).toMatchObject({ namespaces: 1, refused: 0 });
  });

  it('counts and logs once what is past the bound or refused, and never asks for those namespaces again', () => {
    proc.add({ pid: 200, ppid: 1, comm: 'a', startTicks: 100, netns: NS_A });
    proc.add({ pid: 201, ppid: 1, comm: 'b', startTicks: 100, netns: NS_B });
    const { readers: made } = readers(1);
    expect(made.watch(NS_A, flowOf(200, 1))).toBe(true);
    expect(made.watch(NS_B, flowOf(201, 1))).toBe(false);
    expect(made.watch(NS_B, flowOf(201, 1))).toBe(false);
    expect(made.stats()).toMatchObject({ namespaces: 1, overBound: 1 });
    const { readers: refusing } = readers();
    refuse = 'EPERM';
    expect(refusing.watch(NS_A, flowOf(200, 1))).toBe(false);
    refuse = undefined;
    expect(refusing.watch(NS_A, flowOf(200, 1))).toBe(false);
    expect(refusing.stats()).toMatchObject({ namespaces: 0, refused: 1 });
    expect(logged.filter((msg) => msg.startsWith('more network namespaces'))).toHaveLength(1);
    expect(logged.filter((msg) => msg.startsWith('cannot read socket destroys'))).toHaveLength(1);
  });
});

describe('hasSysAdmin', () => {
  it('reads CAP_SYS_ADMIN (bit 21) from CapEff', () => {
    expect(hasSysAdmin('Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n')).toBe(true);
    // The packaged unit's six: AUDIT_CONTROL, AUDIT_READ, SYS_PTRACE, DAC_READ_SEARCH, NET_RAW, NET_ADMIN.
    expect(hasSysAdmin('CapEff:\t0000002040083004\n')).toBe(false);
  });
});
