// The cache of ready bulk strings: the bytes RESP wants, bounded in values and in bytes, oldest out first.
import { describe, expect, it } from 'vitest';
import { BulkCache } from '../../../src/sink/bulk-cache.js';

describe('BulkCache', () => {
  it('gives a value as its bulk string, by UTF-8 byte length, and the same bytes on a hit', () => {
    const cache = new BulkCache();
    const first = cache.get('/usr/bin/curl ü');
    expect(first?.toString('utf8')).toBe('$16\r\n/usr/bin/curl ü\r\n');
    expect(cache.get('/usr/bin/curl ü')).toBe(first);
    expect([cache.hits, cache.misses]).toEqual([1, 1]);
    expect(cache.get('\uD800')?.toString('latin1')).toBe('$3\r\n\xEF\xBF\xBD\r\n');
  });

  it('keeps at most its entries and bytes, dropping the oldest value first', () => {
    const cache = new BulkCache({ entries: 3, bytes: 1000, maxValueBytes: 100 });
    for (const value of ['a', 'b', 'c', 'd']) cache.get(value);
    expect(cache.size).toBe(3);
    const misses = cache.misses;
    cache.get('b');
    cache.get('a');
    expect(cache.misses).toBe(misses + 1);
    const small = new BulkCache({ entries: 100, bytes: 30, maxValueBytes: 100 });
    for (const value of ['x'.repeat(10), 'y'.repeat(10), 'z'.repeat(10)]) small.get(value);
    expect(small.byteSize).toBeLessThanOrEqual(30);
    expect(small.size).toBe(1);
  });

  it('hands back no bytes for a value longer than its limit (the writer encodes that one each time)', () => {
    const cache = new BulkCache({ entries: 10, bytes: 10_000, maxValueBytes: 8 });
    expect(cache.get('é'.repeat(5))).toBeUndefined();
    expect(cache.get('1234567')?.toString()).toBe('$7\r\n1234567\r\n');
    expect(cache.size).toBe(1);
  });
});
