// auditflow top's model and text: known entries give exact counts and rates; the grouping, the sort
// and the filter each change the table; the window, the bound and the loss header behave as documented;
// hostile names reach the screen escaped.
import { describe, expect, it } from 'vitest';
import { TopModel, type EntryFields, type SnapshotOptions } from '../../../src/top/model.js';
import { render } from '../../../src/top/render.js';

const NOW = 1_800_000_100_000;
const WINDOW = 10_000;

function flow(fields: Record<string, string | number>): EntryFields {
  const out: Record<string, string> = { kind: 'flow', op: 'connect', direction: 'egress', proto: 'tcp', result: 'ok', ts: String(NOW - 1000) };
  for (const [name, value] of Object.entries(fields)) out[name] = String(value);
  return out;
}

/** A model that has run for a whole window, holding `entries`. */
function modelWith(entries: EntryFields[], maxSamples = 1000): TopModel {
  const model = new TopModel(WINDOW, maxSamples, NOW - 60_000);
  for (const entry of entries) model.add(entry);
  return model;
}

const view = (overrides: Partial<SnapshotOptions> = {}): SnapshotOptions => ({ by: 'process', sort: 'conns', filter: '', now: NOW, limit: 50, ...overrides });

// curl: 4 connects to two remotes, one refused, and a close entry with bytes; a container's nginx: 2
// accepts and a datagram flow standing for 5 sendto calls; bob's ssh: one connect by name.
const ENTRIES: EntryFields[] = [
  flow({ exe: '/usr/bin/curl', user: 'alice', remote_addr: '151.101.1.69', remote_name: 'files.pythonhosted.org', remote_port: 443 }),
  flow({ exe: '/usr/bin/curl', user: 'alice', remote_addr: '151.101.1.69', remote_name: 'files.pythonhosted.org', remote_port: 443 }),
  flow({ exe: '/usr/bin/curl', user: 'alice', remote_addr: '10.0.0.7', remote_port: 443 }),
  flow({ exe: '/usr/bin/curl', user: 'alice', remote_addr: '10.0.0.8', remote_port: 80, result: 'ECONNREFUSED' }),
  flow({ exe: '/usr/bin/curl', user: 'alice', op: 'close', remote_addr: '151.101.1.69', remote_name: 'files.pythonhosted.org', remote_port: 443, bytes_out: 123_457, bytes_in: 54_321 }),
  flow({ exe: '/usr/sbin/nginx', user: 'www-data', container_id: 'c0ffee'.repeat(10) + 'abcd', op: 'accept', direction: 'ingress', remote_addr: '10.0.0.9', local_port: 8080 }),
  flow({ exe: '/usr/sbin/nginx', user: 'www-data', container_id: 'c0ffee'.repeat(10) + 'abcd', op: 'accept', direction: 'ingress', remote_addr: '10.0.0.10', local_port: 8080 }),
  flow({ exe: '/usr/sbin/nginx', user: 'www-data', container_id: 'c0ffee'.repeat(10) + 'abcd', op: 'sendto', proto: 'udp', remote_addr: '10.0.0.53', remote_port: 53, count: 5 }),
  flow({ exe: '/usr/bin/ssh', user: 'bob', remote_addr: '192.0.2.1', remote_name: 'bastion.example', remote_port: 22 }),
  // Not connections: a bind, a netfilter packet, a lifecycle entry.
  flow({ exe: '/usr/bin/ssh', user: 'bob', op: 'bind', direction: 'listen', local_port: 2222 }),
  flow({ op: 'packet', source: 'netfilter', remote_addr: '10.9.9.9' }),
  { kind: 'lifecycle', event: 'start', ts: String(NOW - 1000) },
  { kind: 'loss', reason: 'kernel_lost', count: '7', first_ts: String(NOW - 3000), last_ts: String(NOW - 2000) },
  { kind: 'loss', reason: 'serial_gap', count: '2', first_ts: String(NOW - 3000), last_ts: String(NOW - 2000) },
];

describe('top model', () => {
  it('counts connections, failures, bytes and remotes per process exactly, rates over the window', () => {
    const snapshot = modelWith(ENTRIES).snapshot(view());
    expect(snapshot.seconds).toBe(10);
    expect(snapshot.losses).toEqual({ kernel_lost: 7, serial_gap: 2 });
    // Nine flows and close entries, two loss entries; the bind, the packet and the lifecycle entry count for nothing.
    expect(snapshot.entries).toBe(11);
    expect(snapshot.rows.map((row) => [row.group, row.conns, row.failures, row.remotes])).toEqual([
      [`/usr/sbin/nginx [c0ffeec0ffee]`, 7, 0, 3],
      ['/usr/bin/curl', 4, 1, 3],
      ['/usr/bin/ssh', 1, 0, 1],
    ]);
    const curl = snapshot.rows[1];
    expect(curl).toMatchObject({ bytesOut: 123_457, bytesIn: 54_321, bytesOutPerSec: 12_345.7, bytesInPerSec: 5432.1, connsPerSec: 0.4 });
    // The name where a flow has one; the remote with the most connections first.
    expect(curl?.topRemotes).toEqual(['files.pythonhosted.org', '10.0.0.7', '10.0.0.8']);
  });

  it('groups by user, container, remote and port', () => {
    const model = modelWith(ENTRIES);
    const groups = (by: SnapshotOptions['by']): Array<[string, number]> => model.snapshot(view({ by })).rows.map((row) => [row.group, row.conns]);
    expect(groups('user')).toEqual([
      ['www-data', 7],
      ['alice', 4],
      ['bob', 1],
    ]);
    expect(groups('container')).toEqual([
      ['c0ffeec0ffee', 7],
      ['(host)', 5],
    ]);
    expect(groups('remote')[0]).toEqual(['10.0.0.53', 5]);
    expect(groups('remote')).toContainEqual(['files.pythonhosted.org', 2]);
    // The service's port: the remote's for egress, the local one for ingress.
    expect(groups('port')).toEqual([
      ['udp/53', 5],
      ['tcp/443', 3],
      ['tcp/8080', 2],
      ['tcp/22', 1],
      ['tcp/80', 1],
    ]);
  });

  it('sorts by each column', () => {
    const model = modelWith(ENTRIES);
    const first = (sort: SnapshotOptions['sort']): string | undefined => model.snapshot(view({ sort })).rows[0]?.group;
    expect(first('conns')).toBe('/usr/sbin/nginx [c0ffeec0ffee]');
    expect(first('out')).toBe('/usr/bin/curl');
    expect(first('in')).toBe('/usr/bin/curl');
    expect(first('fail')).toBe('/usr/bin/curl');
    expect(first('name')).toBe('/usr/bin/curl');
    // Equal remotes (3 and 3): the one with more connections first.
    expect(first('remotes')).toBe('/usr/sbin/nginx [c0ffeec0ffee]');
  });

  it('filters by a substring of process, user, container, remote or port, case-insensitively; losses stay', () => {
    const model = modelWith(ENTRIES);
    const groups = (filter: string): string[] => model.snapshot(view({ filter })).rows.map((row) => row.group);
    expect(groups('PYTHONHOSTED')).toEqual(['/usr/bin/curl']);
    expect(groups('bob')).toEqual(['/usr/bin/ssh']);
    expect(groups('c0ffee')).toEqual(['/usr/sbin/nginx [c0ffeec0ffee]']);
    expect(groups('tcp/22')).toEqual(['/usr/bin/ssh']);
    expect(groups('nothing-matches')).toEqual([]);
    const filtered = model.snapshot(view({ filter: 'bob' }));
    expect(filtered.rows[0]?.conns).toBe(1);
    expect(filtered.losses).toEqual({ kernel_lost: 7, serial_gap: 2 });
  });

  it('leaves out entries older than the window, and divides by the time since the start until a window has passed', () => {
    const model = new TopModel(WINDOW, 1000, NOW - 4000);
    model.add(flow({ exe: '/old', ts: NOW - 20_000 }));
    model.add(flow({ exe: '/new', ts: NOW - 1000 }));
    const snapshot = model.snapshot(view());
    expect(snapshot.rows.map((row) => row.group)).toEqual(['/new']);
    expect(snapshot.seconds).toBe(4);
    expect(snapshot.rows[0]?.connsPerSec).toBe(0.25);
  });

  it('keeps at most maxSamples entries: the oldest go first, counted', () => {
    const model = modelWith([], 100);
    for (let i = 0; i < 250; i++) model.add(flow({ exe: `/bin/p${i % 5}`, ts: NOW - 5000 + i }));
    const snapshot = model.snapshot(view());
    expect(snapshot.dropped).toBe(150);
    expect(snapshot.rows.reduce((sum, row) => sum + row.conns, 0)).toBe(100);
  });

  it('renders hostile names escaped and every line within the width', () => {
    const hostile = '/tmp/evil\u001b[2J\nFAKE\u202eexe';
    const model = modelWith([flow({ exe: hostile, remote_name: 'a\u001b]0;title\u0007.example', remote_addr: '10.0.0.1' })]);
    const wide = render(model.snapshot(view()), 160, 'auditflow:{host}:flows');
    const text = [...wide.header, wide.titles, ...wide.rows].join('\n');
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(wide.rows[0]).toContain('/tmp/evil\\e[2J\\nFAKE\\u202eexe');
    expect(wide.rows[0]).toContain('a\\e]0;title\\x07.example');
    const narrow = render(model.snapshot(view()), 80, 'auditflow:{host}:flows');
    for (const line of [...narrow.header, narrow.titles, ...narrow.rows]) expect([...line].length).toBeLessThanOrEqual(80);
    expect(narrow.rows[0]).toContain('/tmp/evil\\e[2J');
  });
});
