// A system call table: name <-> number for one architecture's calling convention.
export interface SyscallTable {
  readonly byName: ReadonlyMap<string, number>;
  readonly byNumber: ReadonlyMap<number, string>;
}

// The tables are kept as text ("0 read 1 write ...") so they stay readable and diffable
// against the kernel headers they come from.
export function parseSyscallTable(text: string): SyscallTable {
  const words = text.trim().split(/\s+/);
  const byName = new Map<string, number>();
  const byNumber = new Map<number, string>();
  for (let i = 0; i + 1 < words.length; i += 2) {
    const number = Number(words[i]);
    const name = words[i + 1] as string;
    byName.set(name, number);
    byNumber.set(number, name);
  }
  return { byName, byNumber };
}
