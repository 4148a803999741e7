import { DPA_STATUSES, DpaStatus } from './dpa.entity';
import { canTransition, DPA_TRANSITIONS, EDITABLE_STATUSES } from './dpa-lifecycle';

describe('DPA lifecycle', () => {
  const allowed: [DpaStatus, DpaStatus][] = [
    ['draft', 'in_review'], ['draft', 'terminated'],
    ['in_review', 'draft'], ['in_review', 'signed'], ['in_review', 'terminated'],
    ['signed', 'active'], ['signed', 'terminated'],
    ['active', 'expired'], ['active', 'terminated'],
  ];

  it('allows exactly the documented transitions', () => {
    for (const from of DPA_STATUSES) {
      for (const to of DPA_STATUSES) {
        const expected = allowed.some(([f, t]) => f === from && t === to);
        expect({ from, to, allowed: canTransition(from, to) }).toEqual({ from, to, allowed: expected });
      }
    }
  });

  it('reaches active only through signed, and never leaves expired or terminated', () => {
    const into = (s: DpaStatus) => DPA_STATUSES.filter((f) => DPA_TRANSITIONS[f].includes(s));
    expect(into('active')).toEqual(['signed']);
    expect(into('signed')).toEqual(['in_review']);
    expect(DPA_TRANSITIONS.expired).toEqual([]);
    expect(DPA_TRANSITIONS.terminated).toEqual([]);
    expect(DPA_STATUSES.some((s) => canTransition(s, s))).toBe(false);
  });

  it('keeps terms editable only before signature', () => {
    expect([...EDITABLE_STATUSES].sort()).toEqual(['draft', 'in_review']);
  });
});
