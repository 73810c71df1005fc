// User and group names for -F uid=name and -F gid=name. auditctl asks getpwnam/getgrnam;
// auditflow reads /etc/passwd and /etc/group (NSS sources such as LDAP are not consulted),
// and tests pass their own lookup.
import { readFileSync } from 'node:fs';

export interface UserDatabase {
  uid(name: string): number | undefined;
  gid(name: string): number | undefined;
}

// name:x:id:... lines, the format of passwd(5) and group(5).
export function parseIdFile(text: string): Map<string, number> {
  const ids = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id && /^[0-9]+$/.test(id) && !ids.has(name)) ids.set(name, Number(id));
  }
  return ids;
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
