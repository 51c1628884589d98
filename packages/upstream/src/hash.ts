/**
 * 32-bit FNV-1a over the UTF-16 code units of `s`, finished with MurmurHash3's fmix32 so that
 * near-identical inputs (`origin#1`, `origin#2`) spread over the whole ring. Not cryptographic:
 * it only places points and keys on the consistent-hash ring.
 */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
