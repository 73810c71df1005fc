// Cutting UTF-8 bytes to a bound without splitting a character: a value cut mid-character would
// decode to U+FFFD, a character the value never held.

/**
 * The largest index at most `end` that is not inside a UTF-8 character of `bytes`: backs off over
 * continuation bytes (10xxxxxx), so the character they continue is dropped whole.
 */
export function utf8Boundary(bytes: Uint8Array, end: number): number {
  let at = Math.min(end, bytes.length);
  while (at > 0 && at < bytes.length && ((bytes[at] as number) & 0xc0) === 0x80) at--;
  return at;
}

/** The first `max` bytes at most, as UTF-8 text, not ending inside a character. */
export function utf8Prefix(bytes: Buffer, max: number): string {
  return bytes.subarray(0, utf8Boundary(bytes, max)).toString('utf8');
}
