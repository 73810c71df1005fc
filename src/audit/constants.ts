// Netlink and audit numbers, each from the header that defines it.

// include/uapi/linux/netlink.h
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLMSG_HDRLEN = 16;

// include/uapi/linux/audit.h: control messages (1000-1099)
export const AUDIT_GET = 1000;
export const AUDIT_SET = 1001;
export const AUDIT_LIST = 1002;
export const AUDIT_USER = 1005;
export const AUDIT_SIGNAL_INFO = 1010;
export const AUDIT_ADD_RULE = 1011;
export const AUDIT_DEL_RULE = 1012;
export const AUDIT_LIST_RULES = 1013;
export const AUDIT_GET_FEATURE = 1019;

// include/uapi/linux/audit.h: AUDIT_FIRST_USER_MSG; from here on records come from kauditd.
export { AUDIT_FIRST_USER_MSG } from '../linux/record-types.js';

// include/uapi/linux/audit.h: struct audit_status.mask bits
export const AUDIT_STATUS_ENABLED = 0x0001;
export const AUDIT_STATUS_FAILURE = 0x0002;
export const AUDIT_STATUS_PID = 0x0004;
export const AUDIT_STATUS_RATE_LIMIT = 0x0008;
export const AUDIT_STATUS_BACKLOG_LIMIT = 0x0010;
export const AUDIT_STATUS_BACKLOG_WAIT_TIME = 0x0020;
export const AUDIT_STATUS_LOST = 0x0040;
export const AUDIT_STATUS_BACKLOG_WAIT_TIME_ACTUAL = 0x0080;

// include/uapi/linux/audit.h: AUDIT_FEATURE_BITMAP_*
export const AUDIT_FEATURE_BITS: Readonly<Record<string, number>> = {
  backlog_limit: 0x01,
  backlog_wait_time: 0x02,
  executable_path: 0x04,
  exclude_extend: 0x08,
  sessionid_filter: 0x10,
  lost_reset: 0x20,
  filter_fs: 0x40,
};
