// User and group names from a test copy of this machine's /etc/passwd and /etc/group, reloaded
// when the copy changes.
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserNames } from '../../../../src/pipeline/process/user-names.js';

let dir: string;
let passwd: string;
let group: string;
let clock = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'auditflow-users-'));
  passwd = join(dir, 'passwd');
  group = join(dir, 'group');
  copyFileSync('/etc/passwd', passwd);
  copyFileSync('/etc/group', group);
  clock = 1_000_000;
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const names = (checkIntervalMs = 0): UserNames => new UserNames({ passwdPath: passwd, groupPath: group, checkIntervalMs, now: () => clock });

describe('user and group names', () => {
  it('names uid and gid 0 and says unset for 4294967295', () => {
    const users = names();
    expect(users.user(0)).toBe('root');
    expect(users.group(0)).toBe('root');
    expect(users.user(4294967295)).toBe('unset');
    expect(users.user(null)).toBeNull();
    expect(users.user(3999999999)).toBeNull();
  });

  it('sees a user added by rewriting the file in place', () => {
    const users = names();
    expect(users.user(4242)).toBeNull();
    writeFileSync(passwd, readFileSync(passwd, 'utf8') + 'flowtest:x:4242:4242:test:/nonexistent:/usr/sbin/nologin\n');
    expect(users.user(4242)).toBe('flowtest');
  });

  it('sees a renamed user when the file is replaced by rename, as vipw and useradd do', () => {
    const users = names();
    expect(users.user(0)).toBe('root');
    const next = join(dir, 'passwd+');
    writeFileSync(next, readFileSync(passwd, 'utf8').replace(/^root:/m, 'toor:'));
    renameSync(next, passwd);
    expect(users.user(0)).toBe('toor');
    expect(users.loads.passwd).toBe(2);
  });

  it('reads the file again only after the check interval, and only when it changed', () => {
    const users = names(1000);
    expect(users.user(0)).toBe('root');
    writeFileSync(passwd, readFileSync(passwd, 'utf8').replace(/^root:/m, 'admin:'));
    clock += 999;
    expect(users.user(0)).toBe('root');
    clock += 1;
    expect(users.user(0)).toBe('admin');
    clock += 5000;
    users.user(0);
    expect(users.loads.passwd).toBe(2);
  });

  it('keeps the first name of an id, as getpwuid does, and has no names while the file is missing', () => {
    writeFileSync(passwd, 'first:x:7:7::/:/bin/sh\nsecond:x:7:7::/:/bin/sh\nbroken line\n');
    const users = names();
    expect(users.user(7)).toBe('first');
    rmSync(passwd);
    expect(users.user(7)).toBeNull();
  });
});
