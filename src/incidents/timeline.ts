import type { EntityManager } from 'typeorm';
import type { Actor } from '../access/ability';
import { IncidentEvent, type IncidentEventKind } from './incident-event.entity';

export interface TimelineEntry {
  kind: IncidentEventKind;
  at: Date;
  fromStatus?: string | null;
  toStatus?: string | null;
  /** Free text (reasons, comments): kept on the timeline, never in the audit log. */
  text?: string | null;
  customerId?: string | null;
  notificationId?: string | null;
}

/** The user behind an action, for timelines and authorship; null for API keys and scheduled work. */
export const actorId = (actor: Actor | null): string | null => (actor?.kind === 'user' ? actor.id : null);

/** Appends one entry to an incident's timeline, in the caller's transaction; `actor` null for a customer's one-click link. */
export async function addToTimeline(em: EntityManager, actor: Actor | null, incidentId: string, e: TimelineEntry): Promise<void> {
  await em.insert(IncidentEvent, {
    incidentId, actorId: actorId(actor), fromStatus: null, toStatus: null, text: null, customerId: null, notificationId: null, ...e,
  });
}
