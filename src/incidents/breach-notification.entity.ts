import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const NOTIFICATION_KINDS = ['initial', 'follow_up'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export const NOTIFICATION_STATUSES = ['draft', 'approved'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/**
 * The parts of a notification, in the order the mail shows them. An initial notification carries
 * the facts Art. 33(3) asks for; a follow-up (Art. 33(4): information in phases) carries what is
 * new. Every part is text the author may edit before approval.
 */
export const INITIAL_SECTIONS = ['nature', 'dataSubjects', 'records', 'categories', 'consequences', 'measures', 'contact', 'severity'] as const;
export const FOLLOW_UP_SECTIONS = ['update'] as const;
export type SectionName = (typeof INITIAL_SECTIONS)[number] | (typeof FOLLOW_UP_SECTIONS)[number];
export type NotificationSections = Partial<Record<SectionName, string>>;

/** A notification's parts, in order. */
export const sectionsOf = (kind: NotificationKind): readonly SectionName[] => (kind === 'initial' ? INITIAL_SECTIONS : FOLLOW_UP_SECTIONS);

export const SECTION_TITLES: Record<SectionName, string> = {
  nature: 'Nature of the personal data breach',
  dataSubjects: 'Data subjects concerned (approximate number)',
  records: 'Personal data records concerned (approximate number)',
  categories: 'Categories of personal data concerned',
  consequences: 'Likely consequences',
  measures: 'Measures taken or proposed',
  contact: 'Contact point for more information',
  severity: 'Severity assessment',
  update: 'Update',
};

/**
 * Text a generated draft leaves for a person to write: a draft still holding it cannot be
 * approved, so a notification never goes out with a blank where a fact belongs.
 */
export const TO_BE_COMPLETED = '[to be completed]';

/**
 * One breach notification to one affected customer (its initial notification, or a follow-up
 * linked to it): a draft that security or the DPO writes, approved by a DPO who did not write
 * it, then mailed through the durable mail to the customer's breach-notification addresses and
 * acknowledged by the customer.
 */
@Entity({ name: 'breach_notifications' })
@Index('breach_notifications_incident_idx', ['incidentId', 'customerId', 'createdAt'])
@Index('breach_notifications_customer_idx', ['customerId', 'createdAt'])
@Index('breach_notifications_one_initial', ['incidentId', 'customerId'], { unique: true, where: `kind = 'initial'` })
@Check('breach_notifications_kind_check', `kind IN ('initial', 'follow_up')`)
@Check('breach_notifications_status_check', `status IN ('draft', 'approved')`)
@Check('breach_notifications_follow_up_linked', `(kind = 'follow_up') = (follow_up_of IS NOT NULL)`)
@Check('breach_notifications_ack_via_check', `acknowledged_via IS NULL OR acknowledged_via IN ('api', 'link')`)
export class BreachNotification {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'incident_id', type: 'uuid' })
  incidentId: string;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @Column({ type: 'text' })
  kind: NotificationKind;

  /** For a follow-up: the initial notification it updates. */
  @Column({ name: 'follow_up_of', type: 'uuid', nullable: true })
  followUpOf: string | null;

  @Column({ type: 'text', default: 'draft' })
  status: NotificationStatus;

  @Column({ type: 'jsonb' })
  sections: NotificationSections;

  /** Everyone who wrote or edited it: none of them may approve it (four eyes). */
  @Column({ type: 'uuid', array: true, default: () => "'{}'" })
  authors: string[];

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;

  @Column({ name: 'approved_by', type: 'uuid', nullable: true })
  approvedBy: string | null;

  @Column({ name: 'approved_at', type: 'timestamptz', precision: 3, nullable: true })
  approvedAt: Date | null;

  /** The durable mail that carries it, queued in the approval's transaction. */
  @Column({ name: 'mail_id', type: 'uuid', nullable: true })
  mailId: string | null;

  /** The customer's breach-notification addresses at approval: the only recipients. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  recipients: string[];

  /**
   * When the SMTP server took the mail, copied from the mail by the deadline job (which writes
   * the timeline entry); until then the mail's own sent_at is read.
   */
  @Column({ name: 'sent_at', type: 'timestamptz', precision: 3, nullable: true })
  sentAt: Date | null;

  @Column({ name: 'acknowledged_at', type: 'timestamptz', precision: 3, nullable: true })
  acknowledgedAt: Date | null;

  /** The customer user who acknowledged through the API; null for the one-click link. */
  @Column({ name: 'acknowledged_by', type: 'uuid', nullable: true })
  acknowledgedBy: string | null;

  @Column({ name: 'acknowledged_via', type: 'text', nullable: true })
  acknowledgedVia: 'api' | 'link' | null;

  @Column({ name: 'reminders_sent', type: 'integer', default: 0 })
  remindersSent: number;
}
