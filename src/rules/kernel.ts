// Numbers of the kernel's audit rule ABI. Every value here is from
// include/uapi/linux/audit.h unless its comment names another header.

// struct audit_rule_data { u32 flags, action, field_count; u32 mask[64];
// u32 fields[64], values[64], fieldflags[64]; u32 buflen; char buf[]; }
export const AUDIT_BITMASK_SIZE = 64;
export const AUDIT_MAX_FIELDS = 64;
export const AUDIT_MAX_KEY_LEN = 256;
export const RULE_DATA_HEADER_BYTES = 4 * (3 + AUDIT_BITMASK_SIZE + 3 * AUDIT_MAX_FIELDS + 1);

// The kernel joins several -k keys of one rule with this byte: AUDIT_KEY_SEPARATOR
// (lib/libaudit.h of audit-userspace; the kernel stores the key as one string).
export const AUDIT_KEY_SEPARATOR = '\x01';

// include/uapi/linux/limits.h
export const PATH_MAX = 4096;
export const NAME_MAX = 255;

// libaudit's audit_send() refuses a request whose payload is larger than
// MAX_AUDIT_MESSAGE_LENGTH (8970, lib/libaudit.h); auditctl can never send a bigger rule.
export const MAX_AUDIT_MESSAGE_LENGTH = 8970;

// Filter lists: AUDIT_FILTER_* (the low bits of audit_rule_data.flags).
export const FILTER_USER = 0x00;
export const FILTER_TASK = 0x01;
export const FILTER_EXIT = 0x04;
export const FILTER_EXCLUDE = 0x05;
export const FILTER_FS = 0x06;
// io_uring operations at their end (Linux 5.16); the rule's syscall mask holds io_uring opcodes.
export const FILTER_URING_EXIT = 0x07;
export const FILTER_PREPEND = 0x10; // AUDIT_FILTER_PREPEND: -A instead of -a

export type ListName = 'user' | 'task' | 'exit' | 'exclude' | 'filesystem' | 'io_uring';
export const LIST_NUMBERS: Readonly<Record<ListName, number>> = {
  user: FILTER_USER,
  task: FILTER_TASK,
  exit: FILTER_EXIT,
  exclude: FILTER_EXCLUDE,
  filesystem: FILTER_FS,
  io_uring: FILTER_URING_EXIT,
};

// AUDIT_NEVER = 0, AUDIT_ALWAYS = 2 (AUDIT_POSSIBLE = 1 is deprecated; the kernel refuses it).
export type ActionName = 'never' | 'always';
export const ACTION_NUMBERS: Readonly<Record<ActionName, number>> = { never: 0, always: 2 };

// Operators as they travel in fieldflags[] (AUDIT_EQUAL, AUDIT_NOT_EQUAL, ...).
export type Operator = '=' | '!=' | '<' | '>' | '<=' | '>=' | '&' | '&=';
export const OPERATOR_FLAGS: Readonly<Record<Operator, number>> = {
  '&': 0x08000000, // AUDIT_BIT_MASK
  '<': 0x10000000, // AUDIT_LESS_THAN
  '>': 0x20000000, // AUDIT_GREATER_THAN
  '!=': 0x30000000, // AUDIT_NOT_EQUAL
  '=': 0x40000000, // AUDIT_EQUAL
  '&=': 0x48000000, // AUDIT_BIT_TEST
  '<=': 0x50000000, // AUDIT_LESS_THAN_OR_EQUAL
  '>=': 0x60000000, // AUDIT_GREATER_THAN_OR_EQUAL
};

// Rule field numbers (AUDIT_PID ... AUDIT_FILTERKEY).
export const FIELD = {
  pid: 0,
  uid: 1,
  euid: 2,
  suid: 3,
  fsuid: 4,
  gid: 5,
  egid: 6,
  sgid: 7,
  fsgid: 8,
  auid: 9, // AUDIT_LOGINUID
  pers: 10,
  arch: 11,
  msgtype: 12,
  subj_user: 13,
  subj_role: 14,
  subj_type: 15,
  subj_sen: 16,
  subj_clr: 17,
  ppid: 18,
  obj_user: 19,
  obj_role: 20,
  obj_type: 21,
  obj_lev_low: 22,
  obj_lev_high: 23,
  sessionid: 25,
  fstype: 26,
  devmajor: 100,
  devminor: 101,
  inode: 102,
  exit: 103,
  success: 104,
  path: 105, // AUDIT_WATCH
  perm: 106,
  dir: 107,
  filetype: 108,
  obj_uid: 109,
  obj_gid: 110,
  field_compare: 111,
  exe: 112,
  saddr_fam: 113,
  a0: 200,
  a1: 201,
  a2: 202,
  a3: 203,
  key: 210, // AUDIT_FILTERKEY
} as const;
export type FieldName = keyof typeof FIELD;

// AUDIT_PERM_* bits of the perm field.
export const PERM_EXEC = 1;
export const PERM_WRITE = 2;
export const PERM_READ = 4;
export const PERM_ATTR = 8;

// AF_MAX from include/linux/socket.h (Linux 6.1): the kernel rejects saddr_fam >= AF_MAX.
export const AF_MAX = 46;

// S_IF* file types for the filetype field (include/uapi/linux/stat.h); names as auditctl's ftypetab.h.
export const FILE_TYPES: Readonly<Record<string, number>> = {
  block: 0o060000,
  character: 0o020000,
  dir: 0o040000,
  fifo: 0o010000,
  file: 0o100000,
  link: 0o120000,
  socket: 0o140000,
};

// Filesystem magic numbers for the fstype field (include/uapi/linux/magic.h); the names
// auditctl's fstypetab.h accepts.
export const FS_TYPES: Readonly<Record<string, number>> = {
  debugfs: 0x64626720,
  tracefs: 0x74726163,
};
