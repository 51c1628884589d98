/** Freezes a plain object / array graph in place (class instances are assumed to freeze themselves). */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return value;
  Object.freeze(value);
  // Walked without Object.values: a compile freezes every route entry of every Api, and the array
  // of values it allocated per object was 16 MB of garbage per reload of 10,000 Apis (#16).
  // for-in reads V8's cached key list of the object's shape; a plain object's or null-prototype
  // object's inherited properties are not enumerable, so it lists the own ones Object.values did.
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) deepFreeze(value[i] as unknown);
  else for (const k in value) deepFreeze((value as Record<string, unknown>)[k]);
  return value;
}
