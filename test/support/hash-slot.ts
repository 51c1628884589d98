/**
 * Redis Cluster key → hash slot (the cluster spec: CRC16-XMODEM of the key, or of the text of its
 * first non-empty `{…}` hash tag, mod 16384), for tests that check keys share a slot without a
 * cluster. Hand-written (a dozen lines) so tests need no extra dependency.
 */
export function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

export function hashSlot(key: string | Buffer): number {
  const b = Buffer.isBuffer(key) ? key : Buffer.from(key);
  const open = b.indexOf('{');
  if (open !== -1) {
    const close = b.indexOf('}', open + 1);
    if (close > open + 1) return crc16(b.subarray(open + 1, close)) % 16384;
  }
  return crc16(b) % 16384;
}
