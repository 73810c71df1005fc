// Audit record type numbers and the names auditd writes for them (include/uapi/linux/audit.h;
// the names are libaudit's, lib/msg_typetab.h in the audit-userspace sources).
import { invert, pairs } from './number-names.js';

/** The first record type; below it (1000-1099) are replies to control requests (AUDIT_GET, AUDIT_LIST_RULES...). */
export const AUDIT_FIRST_USER_MSG = 1100;
export const AUDIT_SYSCALL = 1300;
export const AUDIT_SOCKETCALL = 1304;
export const AUDIT_SOCKADDR = 1306;
export const AUDIT_EOE = 1320;
export const AUDIT_PROCTITLE = 1327;
/** The kernel's probe of the registered daemon (kernel/audit.c audit_replace): a bare u32 pid, no record text. */
export const AUDIT_REPLACE = 1329;
/** A packet a netfilter rule logged (nft `log level audit`, iptables AUDIT): no process, written outside any task. */
export const AUDIT_NETFILTER_PKT = 1324;
/** An io_uring operation (kernel/auditsc.c audit_log_uring): uring_op, success, exit, the ids; no comm, exe or arch. */
export const AUDIT_URINGOP = 1336;

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
  [AUDIT_NETFILTER_PKT, 'NETFILTER_PKT'],
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
  [AUDIT_URINGOP, 'URINGOP'],
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
 * records (1300-1499) belong to an event that ends with PROCTITLE or EOE, except NETFILTER_PKT:
 * nft's `log level audit` (net/netfilter/nft_log.c) and xt_AUDIT write it with audit_log_start(NULL, ...)
 * outside any syscall, so no EOE follows (measured on 6.18).
 */
export function isStandaloneType(type: number): boolean {
  return (type > 1006 && type < 1300) || (type >= 1700 && type <= 1799) || (type >= 2100 && type <= 2999) || type === 1005 || type === AUDIT_NETFILTER_PKT;
}

// Kernel message types from include/uapi/linux/audit.h (names without AUDIT_), plus the
// user-space types of audit-userspace lib/libaudit.h that exclude and user rules name most.
const MSGTYPE_BY_NUMBER = pairs(`
1000 GET 1001 SET 1002 LIST 1003 ADD 1004 DEL 1005 USER 1006 LOGIN 1007 WATCH_INS 1008 WATCH_REM
1009 WATCH_LIST 1010 SIGNAL_INFO 1011 ADD_RULE 1012 DEL_RULE 1013 LIST_RULES 1014 TRIM
1015 MAKE_EQUIV 1016 TTY_GET 1017 TTY_SET 1018 SET_FEATURE 1019 GET_FEATURE
1100 USER_AUTH 1101 USER_ACCT 1102 USER_MGMT 1103 CRED_ACQ 1104 CRED_DISP 1105 USER_START
1106 USER_END 1107 USER_AVC 1108 USER_CHAUTHTOK 1109 USER_ERR 1110 CRED_REFR 1111 USYS_CONFIG
1112 USER_LOGIN 1113 USER_LOGOUT 1114 ADD_USER 1115 DEL_USER 1116 ADD_GROUP 1117 DEL_GROUP
1118 DAC_CHECK 1119 CHGRP_ID 1120 TEST 1121 TRUSTED_APP 1122 USER_SELINUX_ERR 1123 USER_CMD
1124 USER_TTY 1125 CHUSER_ID 1126 GRP_AUTH 1127 SYSTEM_BOOT 1128 SYSTEM_SHUTDOWN 1129 SYSTEM_RUNLEVEL
1130 SERVICE_START 1131 SERVICE_STOP 1132 GRP_MGMT 1133 GRP_CHAUTHTOK 1134 MAC_CHECK 1135 ACCT_LOCK
1136 ACCT_UNLOCK 1137 USER_DEVICE 1138 SOFTWARE_UPDATE
1200 DAEMON_START 1201 DAEMON_END 1202 DAEMON_ABORT 1203 DAEMON_CONFIG 1300 SYSCALL
1302 PATH 1303 IPC 1304 SOCKETCALL 1305 CONFIG_CHANGE 1306 SOCKADDR 1307 CWD 1309 EXECVE
1311 IPC_SET_PERM 1312 MQ_OPEN 1313 MQ_SENDRECV 1314 MQ_NOTIFY 1315 MQ_GETSETATTR 1316 KERNEL_OTHER
1317 FD_PAIR 1318 OBJ_PID 1319 TTY 1320 EOE 1321 BPRM_FCAPS 1322 CAPSET 1323 MMAP 1324 NETFILTER_PKT
1325 NETFILTER_CFG 1326 SECCOMP 1327 PROCTITLE 1328 FEATURE_CHANGE 1329 REPLACE 1330 KERN_MODULE
1331 FANOTIFY 1332 TIME_INJOFFSET 1333 TIME_ADJNTPVAL 1334 BPF 1335 EVENT_LISTENER 1336 URINGOP
1337 OPENAT2 1338 DM_CTRL 1339 DM_EVENT 1400 AVC 1401 SELINUX_ERR 1402 AVC_PATH 1403 MAC_POLICY_LOAD
1404 MAC_STATUS 1405 MAC_CONFIG_CHANGE 1406 MAC_UNLBL_ALLOW 1407 MAC_CIPSOV4_ADD
1408 MAC_CIPSOV4_DEL 1409 MAC_MAP_ADD 1410 MAC_MAP_DEL 1411 MAC_IPSEC_ADDSA 1412 MAC_IPSEC_DELSA
1413 MAC_IPSEC_ADDSPD 1414 MAC_IPSEC_DELSPD 1415 MAC_IPSEC_EVENT 1416 MAC_UNLBL_STCADD
1417 MAC_UNLBL_STCDEL 1418 MAC_CALIPSO_ADD 1419 MAC_CALIPSO_DEL 1700 ANOM_PROMISCUOUS
1701 ANOM_ABEND 1702 ANOM_LINK 1703 ANOM_CREAT 1800 INTEGRITY_DATA 1801 INTEGRITY_METADATA
1802 INTEGRITY_STATUS 1803 INTEGRITY_HASH 1804 INTEGRITY_PCR 1805 INTEGRITY_RULE
1806 INTEGRITY_EVM_XATTR 1807 INTEGRITY_POLICY_RULE 2000 KERNEL
`);
const MSGTYPE_BY_NAME = invert(MSGTYPE_BY_NUMBER);

export function msgTypeNumber(name: string): number | undefined {
  return MSGTYPE_BY_NAME.get(name);
}
export function msgTypeName(type: number): string | undefined {
  return MSGTYPE_BY_NUMBER.get(type);
}
