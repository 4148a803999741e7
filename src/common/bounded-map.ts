/**
 * Sets `key` in `map` as its newest entry and, while the map then holds more than `max`, drops the
 * oldest: a memo of bounded size (Maps keep their insertion order).
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}
