// uid/gid → name from the system's user database files, /etc/passwd and /etc/group (passwd(5),
// group(5)), reloaded when a file changes. NSS sources (LDAP, sssd, systemd-userdb) are not
// asked: a lookup must never block the pipeline on a network service. Ids not in the files
// have no name (null), like auditd's interpretation prints them as numbers.
import { readFileSync, statSync } from 'node:fs';
import { parseIdFile } from '../../linux/passwd.js';

/** (unsigned int)-1: an id that was never set, e.g. the login uid of a daemon (include/uapi/linux/audit.h AUDIT_UID_UNSET). */
export const ID_UNSET = 4294967295;

export interface UserNamesOptions {
  passwdPath?: string;
  groupPath?: string;
  /** How often a file is checked for a change, at most (ms, default 1000; 0 = on every lookup). */
  checkIntervalMs?: number;
  now?: () => number;
}

/** One id file: names by id (the first line of an id wins, as getpwuid returns it), reloaded on change. */
class IdFile {
  private names = new Map<number, string>();
  private version = '';
  private checkedAt = Number.NEGATIVE_INFINITY;
  loads = 0;

  constructor(
    private readonly path: string,
    private readonly checkIntervalMs: number,
  ) {}

  name(id: number, now: number): string | undefined {
    if (now - this.checkedAt >= this.checkIntervalMs || now < this.checkedAt) this.refresh(now);
    return this.names.get(id);
  }

  private refresh(now: number): void {
    this.checkedAt = now;
    let version: string;
    try {
      // useradd, vipw and editors replace the file (a new inode) or rewrite it (new mtime/size).
      const stat = statSync(this.path, { bigint: true });
      version = `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
    } catch {
      version = 'missing';
    }
    if (version === this.version) return;
    this.version = version;
    this.loads++;
    const names = new Map<number, string>();
    if (version !== 'missing') {
      try {
        for (const [name, id] of parseIdFile(readFileSync(this.path, 'utf8'))) if (!names.has(id)) names.set(id, name);
      } catch {
        // Unreadable between stat and read: no names until the next change.
      }
    }
    this.names = names;
  }
}

export class UserNames {
  private readonly users: IdFile;
  private readonly groups: IdFile;
  private readonly now: () => number;

  constructor(options: UserNamesOptions = {}) {
    const interval = options.checkIntervalMs ?? 1000;
    this.users = new IdFile(options.passwdPath ?? '/etc/passwd', interval);
    this.groups = new IdFile(options.groupPath ?? '/etc/group', interval);
    this.now = options.now ?? Date.now;
  }

  /** The user name of a uid, `unset` for 4294967295, null for an id the file does not have. */
  user(uid: number | null): string | null {
    if (uid === null) return null;
    if (uid === ID_UNSET) return 'unset';
    return this.users.name(uid, this.now()) ?? null;
  }

  group(gid: number | null): string | null {
    if (gid === null) return null;
    if (gid === ID_UNSET) return 'unset';
    return this.groups.name(gid, this.now()) ?? null;
  }

  /** How many times each file was (re)loaded: for the daemon's stats and the reload test. */
  get loads(): { passwd: number; group: number } {
    return { passwd: this.users.loads, group: this.groups.loads };
  }
}
