/**
 * Freezes an object and everything it holds, so that a value several holders share cannot be
 * changed by one of them without a TypeError. (A typed array with elements cannot be frozen: it
 * is left as it is.)
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const field of Object.values(value)) deepFreeze(field);
  }
  return value;
}
