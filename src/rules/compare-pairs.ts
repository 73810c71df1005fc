// The field pairs of -C comparisons.

// -C comparisons: AUDIT_COMPARE_* (1..25). auditctl accepts the two fields in either order;
// the pair listed here is the order auditctl -l prints.
const COMPARE_PAIRS: ReadonlyArray<readonly [number, string, string]> = [
  [1, 'uid', 'obj_uid'], [2, 'gid', 'obj_gid'], [3, 'euid', 'obj_uid'], [4, 'egid', 'obj_gid'],
  [5, 'auid', 'obj_uid'], [6, 'suid', 'obj_uid'], [7, 'sgid', 'obj_gid'], [8, 'fsuid', 'obj_uid'],
  [9, 'fsgid', 'obj_gid'], [10, 'uid', 'auid'], [11, 'uid', 'euid'], [12, 'uid', 'fsuid'],
  [13, 'uid', 'suid'], [14, 'auid', 'fsuid'], [15, 'auid', 'suid'], [16, 'auid', 'euid'],
  [17, 'euid', 'suid'], [18, 'euid', 'fsuid'], [19, 'suid', 'fsuid'], [20, 'gid', 'egid'],
  [21, 'gid', 'fsgid'], [22, 'gid', 'sgid'], [23, 'egid', 'fsgid'], [24, 'egid', 'sgid'],
  [25, 'sgid', 'fsgid'],
];

export function compareNumber(left: string, right: string): number | undefined {
  const l = left === 'loginuid' ? 'auid' : left;
  const r = right === 'loginuid' ? 'auid' : right;
  const found = COMPARE_PAIRS.find(([, a, b]) => (a === l && b === r) || (a === r && b === l));
  return found?.[0];
}

export function comparePair(value: number): readonly [string, string] | undefined {
  const found = COMPARE_PAIRS.find(([n]) => n === value);
  return found ? [found[1], found[2]] : undefined;
}
