import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const MAIL_STATUSES = ['queued', 'sent', 'failed'] as const;
export type MailStatus = (typeof MAIL_STATUSES)[number];

/**
 * One logical e-mail: rendered when queued (in the transaction of the change that caused it), sent
 * after the commit, with a Message-ID derived from its id so that a retry is the same mail.
 */
@Entity({ name: 'mails' })
@Index('mails_status_idx', ['status', 'createdAt'])
@Index('mails_customer_idx', ['customerId', 'createdAt'])
export class Mail {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Template name, e.g. change-notice. */
  @Column({ type: 'text' })
  template: string;

  @Column({ type: 'text', array: true })
  recipients: string[];

  /** Never holds personal data. */
  @Column({ type: 'text' })
  subject: string;

  @Column({ type: 'text' })
  text: string;

  @Column({ type: 'text' })
  html: string;

  /** The customer the mail is about, for scoping (customer users see their own). */
  @Column({ name: 'customer_id', type: 'uuid', nullable: true })
  customerId: string | null;

  /** What caused it, e.g. ChangeNotice and its id. */
  @Column({ name: 'subject_type', type: 'text', nullable: true })
  subjectType: string | null;

  @Column({ name: 'subject_id', type: 'text', nullable: true })
  subjectId: string | null;

  /** Extra headers, e.g. List-Unsubscribe for mail to public subscribers. */
  @Column({ type: 'jsonb', default: () => `'{}'` })
  headers: Record<string, string>;

  /** Addresses of people who are not customers' staff (public subscribers) are dropped once the mail is done. */
  @Column({ name: 'forget_recipients', type: 'boolean', default: false })
  forgetRecipients: boolean;

  @Column({ type: 'text', default: 'queued' })
  status: MailStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;
}
