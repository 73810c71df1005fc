// CRC-32 (the IEEE 802.3 / zlib / PNG checksum): reflected polynomial 0xEDB88320 (0x04C11DB7 bit-reversed),
// initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF. Check value for "123456789" is 0xCBF43926
// (Rocksoft "CRC-32" catalogue entry). Written here because `zlib.crc32` only exists from Node 22.
const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of `bytes`; pass a previous result as `crc` to continue over several buffers. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    // Both indexes are in range by construction; `?? 0` only satisfies noUncheckedIndexedAccess.
    c = (TABLE[(c ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}
