import { defineAbilityFor } from '../access/ability';
import { actionFor, canTransition, INCIDENT_STATUSES, INCIDENT_TRANSITIONS, IncidentStatus } from './incident-lifecycle';

describe('incident lifecycle', () => {
  const allowed: [IncidentStatus, IncidentStatus][] = [
    ['reported', 'triage'],
    ['triage', 'confirmed_breach'], ['triage', 'dismissed'],
    ['confirmed_breach', 'notifying'],
    ['notifying', 'notified'],
    ['notified', 'closed'],
  ];

  it('allows exactly the transitions of the issue', () => {
    for (const from of INCIDENT_STATUSES) {
      for (const to of INCIDENT_STATUSES) {
        const expected = allowed.some(([f, t]) => f === from && t === to);
        expect({ from, to, allowed: canTransition(from, to) }).toEqual({ from, to, allowed: expected });
      }
    }
  });

  it('reaches notifying only through a confirmed breach, and never leaves dismissed or closed', () => {
    const into = (s: IncidentStatus) => INCIDENT_STATUSES.filter((f) => INCIDENT_TRANSITIONS[f].includes(s));
    expect(into('notifying')).toEqual(['confirmed_breach']);
    expect(into('confirmed_breach')).toEqual(['triage']);
    expect(INCIDENT_TRANSITIONS.dismissed).toEqual([]);
    expect(INCIDENT_TRANSITIONS.closed).toEqual([]);
  });

  it('leaves the breach decision, either way, to the DPO', () => {
    const can = (role: 'dpo' | 'security' | 'legal', to: IncidentStatus) =>
      defineAbilityFor({ id: 'u', role, customerId: null }).can(actionFor(to), 'Incident');
    expect(INCIDENT_STATUSES.filter((to) => can('dpo', to))).toEqual([...INCIDENT_STATUSES]);
    expect(INCIDENT_STATUSES.filter((to) => can('security', to))).toEqual(['reported', 'triage', 'notifying', 'notified', 'closed']);
    expect(INCIDENT_STATUSES.filter((to) => can('legal', to))).toEqual([]);
  });
});
