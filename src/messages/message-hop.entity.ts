import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One sub-processor on one message's route, denormalised for impact scoping: "which customers,
 * how many messages and how many distinct people went through sub-processor S between t1 and t2"
 * is an index-only scan of (subprocessor_id, submitted_at). `subject` is the first 8 bytes of the
 * message's blind index (counting distinct people needs no more), cleared with the phone number.
 */
@Entity({ name: 'message_hops' })
@Index('message_hops_scope_idx', ['subprocessorId', 'submittedAt', 'customerId', 'subject'])
export class MessageHop {
  @PrimaryColumn({ name: 'message_id', type: 'uuid' })
  messageId: string;

  @PrimaryColumn({ type: 'smallint' })
  position: number;

  @Column({ name: 'subprocessor_id', type: 'uuid' })
  subprocessorId: string;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @Column({ name: 'submitted_at', type: 'timestamptz', precision: 3 })
  submittedAt: Date;

  @Column({ type: 'bigint', nullable: true })
  subject: string | null;
}
