import { describe, expect, it } from 'vitest';
import { decodeStatus, encodeLostReset, encodeSettings, featureNames } from '../../../src/audit/status.js';

describe('struct audit_status', () => {
  it('decodes the eleven words of an AUDIT_GET reply in header order', () => {
    const words = [0, 1, 1, 4321, 0, 8192, 17, 3, 0x7f, 15000, 250];
    const payload = Buffer.alloc(44);
    words.forEach((word, i) => payload.writeUInt32LE(word, i * 4));
    expect(decodeStatus(payload)).toEqual({
      enabled: 1,
      failure: 1,
      pid: 4321,
      rateLimit: 0,
      backlogLimit: 8192,
      lost: 17,
      backlog: 3,
      featureBitmap: 0x7f,
      backlogWaitTime: 15000,
      backlogWaitTimeActual: 250,
    });
  });

  it('reads a short reply from an older kernel as zeros for the missing fields', () => {
    const payload = Buffer.alloc(32);
    payload.writeUInt32LE(1, 4);
    expect(decodeStatus(payload)).toMatchObject({ enabled: 1, featureBitmap: 0, backlogWaitTime: 0 });
  });

  it('sets exactly the mask bits of the fields given', () => {
    const payload = encodeSettings({ backlogLimit: 8192, backlogWaitTime: 0 });
    expect(payload.readUInt32LE(0)).toBe(0x10 | 0x20);
    expect(payload.readUInt32LE(5 * 4)).toBe(8192);
    expect(payload.readUInt32LE(9 * 4)).toBe(0);
    expect(encodeSettings({ pid: 77 }).readUInt32LE(0)).toBe(0x4);
    expect(encodeSettings({}).readUInt32LE(0)).toBe(0);
  });

  it('rejects values that do not fit an unsigned 32-bit field', () => {
    expect(() => encodeSettings({ backlogLimit: -1 })).toThrow(RangeError);
    expect(() => encodeSettings({ rateLimit: 1.5 })).toThrow(RangeError);
    expect(() => encodeSettings({ backlogLimit: 2 ** 32 })).toThrow(RangeError);
  });

  it('asks for a lost reset with AUDIT_STATUS_LOST alone', () => {
    expect(encodeLostReset().readUInt32LE(0)).toBe(0x40);
  });

  it('names the feature bits', () => {
    expect(featureNames(0x7f)).toEqual([
      'backlog_limit',
      'backlog_wait_time',
      'executable_path',
      'exclude_extend',
      'sessionid_filter',
      'lost_reset',
      'filter_fs',
    ]);
    expect(featureNames(0x20)).toEqual(['lost_reset']);
  });
});
