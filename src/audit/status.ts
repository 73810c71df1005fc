// struct audit_status (include/uapi/linux/audit.h): eleven host-order u32 fields. The
// kernel accepts a shorter struct from older tools and answers with what it knows.
import {
  AUDIT_FEATURE_BITS,
  AUDIT_STATUS_BACKLOG_LIMIT,
  AUDIT_STATUS_BACKLOG_WAIT_TIME,
  AUDIT_STATUS_BACKLOG_WAIT_TIME_ACTUAL,
  AUDIT_STATUS_ENABLED,
  AUDIT_STATUS_FAILURE,
  AUDIT_STATUS_LOST,
  AUDIT_STATUS_PID,
  AUDIT_STATUS_RATE_LIMIT,
} from './constants.js';

export const AUDIT_STATUS_SIZE = 44;

export interface AuditStatus {
  /** 0 off, 1 on, 2 on and immutable until reboot. */
  enabled: number;
  /** What the kernel does on a critical failure: 0 silent, 1 printk, 2 panic. */
  failure: number;
  /** The registered audit daemon's pid; 0 when none. */
  pid: number;
  /** Records per second before the kernel drops them; 0 = no limit. */
  rateLimit: number;
  /** Records the kernel queues for the daemon before it blocks or drops. */
  backlogLimit: number;
  /** Records the kernel dropped and counted since boot (or the last reset). */
  lost: number;
  /** Records queued for the daemon now. */
  backlog: number;
  /** Bitmap of AUDIT_FEATURE_BITMAP_* the kernel supports. */
  featureBitmap: number;
  /** How long an audited task waits for backlog room, in jiffies (0 = not at all). */
  backlogWaitTime: number;
  /** Total jiffies audited tasks spent waiting for backlog room. */
  backlogWaitTimeActual: number;
}

/** Fields AUDIT_SET can change. `pid` registers (own pid) or unregisters (0) the daemon. */
export interface AuditSettings {
  enabled?: 0 | 1 | 2;
  failure?: 0 | 1 | 2;
  pid?: number;
  rateLimit?: number;
  backlogLimit?: number;
  backlogWaitTime?: number;
}

const FIELDS = [
  'mask',
  'enabled',
  'failure',
  'pid',
  'rateLimit',
  'backlogLimit',
  'lost',
  'backlog',
  'featureBitmap',
  'backlogWaitTime',
  'backlogWaitTimeActual',
] as const;

export function decodeStatus(payload: Buffer): AuditStatus {
  const word = (index: number): number => (payload.length >= (index + 1) * 4 ? payload.readUInt32LE(index * 4) : 0);
  return {
    enabled: word(1),
    failure: word(2),
    pid: word(3),
    rateLimit: word(4),
    backlogLimit: word(5),
    lost: word(6),
    backlog: word(7),
    featureBitmap: word(8),
    backlogWaitTime: word(9),
    backlogWaitTimeActual: word(10),
  };
}

const MASKS: ReadonlyArray<[keyof AuditSettings, number]> = [
  ['enabled', AUDIT_STATUS_ENABLED],
  ['failure', AUDIT_STATUS_FAILURE],
  ['pid', AUDIT_STATUS_PID],
  ['rateLimit', AUDIT_STATUS_RATE_LIMIT],
  ['backlogLimit', AUDIT_STATUS_BACKLOG_LIMIT],
  ['backlogWaitTime', AUDIT_STATUS_BACKLOG_WAIT_TIME],
];

/** An AUDIT_SET payload whose mask names exactly the fields given. */
export function encodeSettings(settings: AuditSettings): Buffer {
  const payload = Buffer.alloc(AUDIT_STATUS_SIZE);
  let mask = 0;
  for (const [key, bit] of MASKS) {
    const value = settings[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`audit setting ${key} must be an unsigned 32-bit integer, got ${value}`);
    }
    mask |= bit;
    payload.writeUInt32LE(value, FIELDS.indexOf(key) * 4);
  }
  payload.writeUInt32LE(mask >>> 0, 0);
  return payload;
}

/** AUDIT_SET with only AUDIT_STATUS_LOST: the kernel zeroes `lost` and returns its old value. */
export function encodeLostReset(): Buffer {
  const payload = Buffer.alloc(AUDIT_STATUS_SIZE);
  payload.writeUInt32LE(AUDIT_STATUS_LOST, 0);
  return payload;
}

/** AUDIT_SET with only AUDIT_STATUS_BACKLOG_WAIT_TIME_ACTUAL zeroes that counter. */
export function encodeWaitTimeActualReset(): Buffer {
  const payload = Buffer.alloc(AUDIT_STATUS_SIZE);
  payload.writeUInt32LE(AUDIT_STATUS_BACKLOG_WAIT_TIME_ACTUAL, 0);
  return payload;
}

export function featureNames(bitmap: number): string[] {
  return Object.entries(AUDIT_FEATURE_BITS)
    .filter(([, bit]) => (bitmap & bit) !== 0)
    .map(([name]) => name);
}
