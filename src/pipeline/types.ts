// Audit record type numbers and the names auditd writes for them (include/uapi/linux/audit.h;
// the names are libaudit's, lib/msg_typetab.h in the audit-userspace sources).
export const AUDIT_SYSCALL = 1300;
export const AUDIT_SOCKETCALL = 1304;
export const AUDIT_SOCKADDR = 1306;
export const AUDIT_EOE = 1320;
export const AUDIT_PROCTITLE = 1327;
/** The kernel's probe of the registered daemon (kernel/audit.c audit_replace): a bare u32 pid, no record text. */
export const AUDIT_REPLACE = 1329;

const NAMED: Array<[number, string]> = [
  [1005, 'USER'],
  [1006, 'LOGIN'],
  [1100, 'USER_AUTH'],
  [1101, 'USER_ACCT'],
  [1102, 'USER_MGMT'],
  [1103, 'CRED_ACQ'],
  [1104, 'CRED_DISP'],
  [1105, 'USER_START'],
  [1106, 'USER_END'],
  [1107, 'USER_AVC'],
  [1108, 'USER_CHAUTHTOK'],
  [1109, 'USER_ERR'],
  [1110, 'CRED_REFR'],
  [1111, 'USYS_CONFIG'],
  [1112, 'USER_LOGIN'],
  [1113, 'USER_LOGOUT'],
  [1123, 'USER_CMD'],
  [1124, 'USER_TTY'],
  [1130, 'SERVICE_START'],
  [1131, 'SERVICE_STOP'],
  [1200, 'DAEMON_START'],
  [1201, 'DAEMON_END'],
  [1202, 'DAEMON_ABORT'],
  [1203, 'DAEMON_CONFIG'],
  [1204, 'DAEMON_RECONFIG'],
  [1205, 'DAEMON_ROTATE'],
  [1206, 'DAEMON_RESUME'],
  [1207, 'DAEMON_ACCEPT'],
  [1208, 'DAEMON_CLOSE'],
  [1209, 'DAEMON_ERR'],
  [AUDIT_SYSCALL, 'SYSCALL'],
  [1302, 'PATH'],
  [1303, 'IPC'],
  [AUDIT_SOCKETCALL, 'SOCKETCALL'],
  [1305, 'CONFIG_CHANGE'],
  [AUDIT_SOCKADDR, 'SOCKADDR'],
  [1307, 'CWD'],
  [1309, 'EXECVE'],
  [1311, 'IPC_SET_PERM'],
  [1316, 'KERNEL_OTHER'],
  [1317, 'FD_PAIR'],
  [1318, 'OBJ_PID'],
  [1319, 'TTY'],
  [AUDIT_EOE, 'EOE'],
  [1321, 'BPRM_FCAPS'],
  [1322, 'CAPSET'],
  [1323, 'MMAP'],
  [1324, 'NETFILTER_PKT'],
  [1325, 'NETFILTER_CFG'],
  [1326, 'SECCOMP'],
  [AUDIT_PROCTITLE, 'PROCTITLE'],
  [1328, 'FEATURE_CHANGE'],
  [AUDIT_REPLACE, 'REPLACE'],
  [1330, 'KERN_MODULE'],
  [1331, 'FANOTIFY'],
  [1332, 'TIME_INJOFFSET'],
  [1333, 'TIME_ADJNTPVAL'],
  [1334, 'BPF'],
  [1335, 'EVENT_LISTENER'],
  [1336, 'URINGOP'],
  [1337, 'OPENAT2'],
  [1400, 'AVC'],
  [1401, 'SELINUX_ERR'],
  [1700, 'ANOM_PROMISCUOUS'],
  [1701, 'ANOM_ABEND'],
  [1702, 'ANOM_LINK'],
  [1703, 'ANOM_CREAT'],
];

export const AUDIT_TYPE_NAMES: ReadonlyMap<number, string> = new Map(NAMED);
const TYPES_BY_NAME: ReadonlyMap<string, number> = new Map(NAMED.map(([type, name]) => [name, type]));

/** `SYSCALL` → 1300; auditd writes types it has no name for as `UNKNOWN[1338]`. */
export function typeFromName(name: string): number | undefined {
  const known = TYPES_BY_NAME.get(name);
  if (known !== undefined) return known;
  const unknown = /^UNKNOWN\[(\d{1,5})\]$/.exec(name);
  return unknown ? Number(unknown[1]) : undefined;
}

/**
 * Whether the serial of a record of this type is the kernel's (kernel/audit.c audit_serial()).
 * auditd's own DAEMON_* records (1200-1299: DAEMON_START, DAEMON_END, ...) are written by
 * auditd into its log with a serial from a counter of its own: measured with Debian's
 * auditd 3.0.9, DAEMON_START/DAEMON_END were numbered 2472/2473 in one run and 8539/8540
 * in the next, between kernel serials around 745,000. They say nothing about kernel drops.
 */
export function hasKernelSerial(type: number): boolean {
  return type < 1200 || type > 1299;
}

/**
 * Whether a record of this type is a whole event by itself. Follows auparse's end-of-event
 * test (audit-userspace auparse/auparse.c): user-space messages (1100-1299 and 2100-2999)
 * and kernel anomaly messages (1700-1799) stand alone; LOGIN (1006) and the syscall-class
 * records (1300-1499) belong to an event that ends with PROCTITLE or EOE.
 */
export function isStandaloneType(type: number): boolean {
  return (type > 1006 && type < 1300) || (type >= 1700 && type <= 1799) || (type >= 2100 && type <= 2999) || type === 1005;
}
