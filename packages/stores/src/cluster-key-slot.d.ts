// The hash slot function ioredis itself uses (it ships no types of its own).
declare module 'cluster-key-slot' {
  /** Redis Cluster hash slot of a key (CRC16 of the key or of its first `{…}` hash tag, mod 16384). */
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
