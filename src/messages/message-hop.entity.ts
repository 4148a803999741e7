import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One sub-processor on one message's route, denormalised for impact scoping: "which customers,
 * how many messages and how many distinct people went through sub-processor S between t1 and t2,
 * to which countries" is an index-only scan of the scope index (customer, sub-processor, message
 * id — a UUIDv7, so the window is an id range), which PostgreSQL 18 skips through customer by
 * customer (see impact-scope.ts). `subject` is the first 8 bytes of the message's blind index
 * (counting distinct people needs no more), cleared with the message's last readable value.
 */
@Entity({ name: 'message_hops' })
@Index('message_hops_scope_idx', ['customerId', 'subprocessorId', 'messageId', 'subject', 'destinationCountry'])
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

  /** The message's destination country (null on hops stored before it was copied here: read from messages then). */
  @Column({ name: 'destination_country', type: 'text', nullable: true })
  destinationCountry: string | null;
}
