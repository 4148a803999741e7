import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One batch of messages a purge run deleted because their delivery metadata expired: whose, which
 * days, how many. Written in the transaction that deleted them, so the deletion certificate can
 * state exactly what went even when the run that deleted them died before certifying.
 */
@Entity({ name: 'purge_deletions' })
@Index('purge_deletions_uncertified_idx', ['runId', 'customerId'], { where: 'certificate_id IS NULL' })
export class PurgeDeletion {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'run_id', type: 'uuid' })
  runId: string;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  /** First and last UTC day (of submitted-at) of the messages deleted in this batch. */
  @Column({ name: 'from_day', type: 'date' })
  fromDay: string;

  @Column({ name: 'to_day', type: 'date' })
  toDay: string;

  @Column({ name: 'message_count', type: 'integer' })
  messageCount: number;

  @Column({ name: 'deleted_at', type: 'timestamptz', precision: 3 })
  deletedAt: Date;

  @Column({ name: 'certificate_id', type: 'uuid', nullable: true })
  certificateId: string | null;
}
