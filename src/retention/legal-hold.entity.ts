import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Keeps a customer's message data past its retention: all of it, or one phone number's, optionally
 * within [fromAt, toAt). Held data is never purged; once released, the next purge takes it.
 * The phone number is kept only as its blind index.
 */
@Entity({ name: 'legal_holds' })
@Index('legal_holds_active_idx', ['customerId'], { where: 'released_at IS NULL' })
export class LegalHold {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @Column({ name: 'msisdn_hash', type: 'bytea', nullable: true })
  msisdnHash: Buffer | null;

  @Column({ name: 'from_at', type: 'timestamptz', precision: 3, nullable: true })
  fromAt: Date | null;

  @Column({ name: 'to_at', type: 'timestamptz', precision: 3, nullable: true })
  toAt: Date | null;

  @Column({ type: 'text' })
  reason: string;

  @Column({ name: 'incident_id', type: 'uuid', nullable: true })
  incidentId: string | null;

  @Column({ name: 'placed_by', type: 'uuid', nullable: true })
  placedBy: string | null;

  @CreateDateColumn({ name: 'placed_at', type: 'timestamptz', precision: 3 })
  placedAt: Date;

  @Column({ name: 'released_at', type: 'timestamptz', precision: 3, nullable: true })
  releasedAt: Date | null;

  @Column({ name: 'released_by', type: 'uuid', nullable: true })
  releasedBy: string | null;

  @Column({ name: 'release_reason', type: 'text', nullable: true })
  releaseReason: string | null;
}
