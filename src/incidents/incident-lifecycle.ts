import type { Action } from '../access/ability';

export const INCIDENT_STATUSES = ['reported', 'triage', 'confirmed_breach', 'dismissed', 'notifying', 'notified', 'closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/**
 * The incident lifecycle (issue 5): reported → triage → confirmed_breach | dismissed →
 * notifying → notified → closed. A dismissal ends it; a confirmed breach ends only once every
 * affected customer has been notified and the incident is closed.
 */
export const INCIDENT_TRANSITIONS: Record<IncidentStatus, readonly IncidentStatus[]> = {
  reported: ['triage'],
  triage: ['confirmed_breach', 'dismissed'],
  confirmed_breach: ['notifying'],
  dismissed: [],
  notifying: ['notified'],
  notified: ['closed'],
  closed: [],
};

/**
 * The ability a step needs. Whether there was a personal data breach at all is the DPO's
 * decision (DESIGN.md: `confirm` on Incident is the DPO's alone), in both directions: a security
 * responder may triage and drive the notifications, but neither confirm nor dismiss.
 */
export const TRANSITION_ACTION: Partial<Record<IncidentStatus, Action>> = {
  confirmed_breach: 'confirm',
  dismissed: 'confirm',
};

export const canTransition = (from: IncidentStatus, to: IncidentStatus): boolean => INCIDENT_TRANSITIONS[from].includes(to);

/** The ability checked for moving an incident into `to`: `confirm` for the breach decision, else `update`. */
export const actionFor = (to: IncidentStatus): Action => TRANSITION_ACTION[to] ?? 'update';
