// Architectures: which AUDIT_ARCH_* value a rule's "-F arch=" means on this host, and which
// system call table names its syscalls. auditctl resolves b64/b32 against the machine it
// runs on (audit_determine_machine in lib/libaudit.c), so the host machine is a parameter.
import type { SyscallTable } from './syscall-table.js';
import { SYSCALLS_AARCH64 } from './syscalls-aarch64.js';
import { SYSCALLS_ARM } from './syscalls-arm.js';
import { SYSCALLS_I386 } from './syscalls-i386.js';
import { SYSCALLS_X86_64 } from './syscalls-x86_64.js';

// Architectures: AUDIT_ARCH_* = EM_* | __AUDIT_ARCH_64BIT (0x80000000) | __AUDIT_ARCH_LE (0x40000000),
// EM_* from include/uapi/linux/elf-em.h.
export const ARCH_64BIT = 0x80000000;
export const AUDIT_ARCH_X86_64 = 0xc000003e; // EM_X86_64 62
export const AUDIT_ARCH_I386 = 0x40000003; // EM_386 3
export const AUDIT_ARCH_AARCH64 = 0xc00000b7; // EM_AARCH64 183
export const AUDIT_ARCH_ARM = 0x40000028; // EM_ARM 40

export type Machine = 'x86_64' | 'i386' | 'aarch64' | 'arm';

export interface ArchInfo {
  readonly machine: Machine;
  readonly value: number; // AUDIT_ARCH_*
  readonly table: SyscallTable;
}

const ARCHES: Readonly<Record<Machine, ArchInfo>> = {
  x86_64: { machine: 'x86_64', value: AUDIT_ARCH_X86_64, table: SYSCALLS_X86_64 },
  i386: { machine: 'i386', value: AUDIT_ARCH_I386, table: SYSCALLS_I386 },
  aarch64: { machine: 'aarch64', value: AUDIT_ARCH_AARCH64, table: SYSCALLS_AARCH64 },
  arm: { machine: 'arm', value: AUDIT_ARCH_ARM, table: SYSCALLS_ARM },
};

// The 32-bit convention of a 64-bit machine: what "b32" means there.
const COMPAT: Readonly<Partial<Record<Machine, Machine>>> = { x86_64: 'i386', aarch64: 'arm' };

// uname -m spellings auditctl's machinetab.h maps to these machines.
const MACHINE_NAMES: Readonly<Record<string, Machine>> = {
  x86_64: 'x86_64',
  i386: 'i386',
  i486: 'i386',
  i586: 'i386',
  i686: 'i386',
  aarch64: 'aarch64',
  arm: 'arm',
  armv5tejl: 'arm',
  armv5tel: 'arm',
  armv6l: 'arm',
  armv7l: 'arm',
  armv8l: 'arm',
};

export function archInfo(machine: Machine): ArchInfo {
  return ARCHES[machine];
}

// The machine Node runs on, as auditctl's uname() would name it.
export function machineFromNodeArch(nodeArch: string = process.arch): Machine {
  switch (nodeArch) {
    case 'x64':
      return 'x86_64';
    case 'ia32':
      return 'i386';
    case 'arm64':
      return 'aarch64';
    case 'arm':
      return 'arm';
    default:
      throw new Error(`auditflow has no system call tables for the ${nodeArch} architecture`);
  }
}

export function archByValue(value: number): ArchInfo | undefined {
  return Object.values(ARCHES).find((arch) => arch.value === value);
}

export type ArchResolution = { readonly ok: true; readonly arch: ArchInfo } | { readonly ok: false; readonly reason: string };

// Resolve the text of "-F arch=<text>": b64, b32, a machine name or an AUDIT_ARCH_* number.
export function resolveArch(text: string, host: Machine): ArchResolution {
  const lower = text.toLowerCase();
  if (lower === 'b64' || lower === 'b32') {
    const wants64 = lower === 'b64';
    const hostIs64 = (ARCHES[host].value & ARCH_64BIT) !== 0;
    if (wants64 && !hostIs64) return { ok: false, reason: `arch ${text} is not supported by a ${host} machine` };
    const compat = COMPAT[host];
    const machine = wants64 || compat === undefined ? host : compat;
    return { ok: true, arch: ARCHES[machine] };
  }
  if (/^[0-9]/.test(text)) {
    const value = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text.slice(2), 16) : /^[0-9]+$/.test(text) ? Number(text) : NaN;
    const arch = Number.isNaN(value) ? undefined : archByValue(value);
    return arch ? { ok: true, arch } : { ok: false, reason: `arch ${text} is not an architecture auditflow knows` };
  }
  const machine = MACHINE_NAMES[lower];
  if (machine === undefined) return { ok: false, reason: `unknown arch ${JSON.stringify(text)}` };
  return { ok: true, arch: ARCHES[machine] };
}

// How auditctl -l shows an arch: b64/b32 for the host's own conventions. For another
// machine's value auditflow shows its name, so the text still means the same rule when
// read back on this host (auditctl would print b64/b32 there too and lose that).
export function formatArch(value: number, host: Machine): string {
  const arch = archByValue(value);
  if (arch === undefined) return `0x${value.toString(16).toUpperCase()}`;
  if (arch.machine === host) return (value & ARCH_64BIT) !== 0 ? 'b64' : 'b32';
  if (COMPAT[host] === arch.machine) return 'b32';
  return arch.machine;
}

// The 32-bit table auditctl compares against to warn about rules without an arch
// (check_rule_mismatch in src/auditctl.c does this for x86_64, not for aarch64).
export function mismatchTable(host: Machine): SyscallTable | undefined {
  return host === 'x86_64' ? ARCHES.i386.table : undefined;
}
