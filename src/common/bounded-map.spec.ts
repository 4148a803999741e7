import { setBounded } from './bounded-map';

describe('setBounded', () => {
  it('keeps at most `max` entries, dropping the oldest, and counts a key set again as the newest', () => {
    const map = new Map<string, number>();
    for (const key of ['a', 'b', 'c']) setBounded(map, key, 1, 3);
    setBounded(map, 'a', 2, 3); // a is now the newest
    setBounded(map, 'd', 1, 3); // b, the oldest, goes
    expect([...map.keys()]).toEqual(['c', 'a', 'd']);
    expect(map.get('a')).toBe(2);
  });
});
