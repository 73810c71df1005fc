// The addon's batch: what one read of the audit socket hands to JavaScript (native/audit_socket.cc).
// One Buffer holds the messages' payloads; six meta words per message say where each
// is; the early socket lookups (./socket-lookups.ts) and process reads (./process-reads.ts) ride along. Control replies stay mixed in.
import { AUDIT_FIRST_USER_MSG } from '../linux/record-types.js';

export interface RecordBatch {
  data: Buffer;
  /** Per message: type, flags, seq, pid, payload offset, payload length. */
  meta: Uint32Array;
  /** The addon's early socket lookups; null when none. */
  lookups: Buffer | null;
  /** What the addon read of the processes it opened for this batch's lookups; null or absent when none. */
  processes?: Buffer | null;
}

export const META_WORDS = 6;

/** How many messages a batch holds. */
export const batchLength = (batch: RecordBatch): number => Math.floor(batch.meta.length / META_WORDS);

/** Whether a message of this type is a kernel record, not a reply to a control request. */
export const isKernelRecord = (type: number): boolean => type >= AUDIT_FIRST_USER_MSG;
