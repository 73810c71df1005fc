// User and group names for -F uid=name and -F gid=name. auditctl asks getpwnam/getgrnam;
// auditflow reads /etc/passwd and /etc/group (NSS sources such as LDAP are not consulted),
// and tests pass their own lookup.
import { readFileSync } from 'node:fs';
import { parseIdFile } from '../linux/passwd.js';

export interface UserDatabase {
  uid(name: string): number | undefined;
  gid(name: string): number | undefined;
}

export function fileUserDatabase(passwdPath = '/etc/passwd', groupPath = '/etc/group'): UserDatabase {
  let users: Map<string, number> | undefined;
  let groups: Map<string, number> | undefined;
  const load = (path: string): Map<string, number> => {
    try {
      return parseIdFile(readFileSync(path, 'utf8'));
    } catch {
      return new Map();
    }
  };
  return {
    uid: (name) => (users ??= load(passwdPath)).get(name),
    gid: (name) => (groups ??= load(groupPath)).get(name),
  };
}

export function mapUserDatabase(users: Record<string, number>, groups: Record<string, number>): UserDatabase {
  return {
    uid: (name) => (Object.hasOwn(users, name) ? users[name] : undefined),
    gid: (name) => (Object.hasOwn(groups, name) ? groups[name] : undefined),
  };
}
