import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const INCIDENT_EVENT_KINDS = [
  'reported', 'status_changed', 'facts_changed', 'comment', 'scoped', 'customer_included', 'customer_excluded', 'evidence_added', 'severity_overridden',
  'notification_drafted', 'notification_edited', 'notification_approved', 'notification_resent', 'notification_sent', 'notification_acknowledged',
  'reminder_sent', 'escalated',
] as const;
export type IncidentEventKind = (typeof INCIDENT_EVENT_KINDS)[number];

/**
 * One entry of an incident's timeline, in the order they happened (`seq`): its report, each change
 * of status (with the reason a dismissal must give), each scoping and DPO change to the affected
 * customers, evidence, severity overrides, each notification's drafting, approval, sending and
 * acknowledgement, reminders, escalations and comments. Never changed or deleted. Free text stays
 * here, out of the audit log, which can never be erased. `customerId` names the customer an entry
 * is about, `notificationId` the notification.
 */
@Entity({ name: 'incident_events' })
@Index('incident_events_incident_idx', ['incidentId', 'seq'])
@Check('incident_events_kind_check', `kind IN (${INCIDENT_EVENT_KINDS.map((k) => `'${k}'`).join(', ')})`)
export class IncidentEvent {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'incident_id', type: 'uuid' })
  incidentId: string;

  @Column({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS', insert: false, update: false })
  seq: string;

  @Column({ type: 'timestamptz', precision: 3 })
  at: Date;

  @Column({ type: 'text' })
  kind: IncidentEventKind;

  @Column({ name: 'from_status', type: 'text', nullable: true })
  fromStatus: string | null;

  @Column({ name: 'to_status', type: 'text', nullable: true })
  toStatus: string | null;

  @Column({ type: 'text', nullable: true })
  text: string | null;

  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  @Column({ name: 'customer_id', type: 'uuid', nullable: true })
  customerId: string | null;

  @Column({ name: 'notification_id', type: 'uuid', nullable: true })
  notificationId: string | null;
}
