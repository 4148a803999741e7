import { Check, Column, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { DataCategory } from '../dpas/dpa.entity';

/**
 * How many days one category of a customer's message data lives; rows without a customer are the
 * default for customers without their own. Retention counts whole UTC days after the day of
 * submission (see retention-sql.ts): data of day D with N days is readable until D + 1 + N, 00:00 UTC.
 */
@Entity({ name: 'retention_policies' })
@Index('retention_policies_customer_key', ['customerId', 'category'], { unique: true, where: 'customer_id IS NOT NULL' })
@Index('retention_policies_default_key', ['category'], { unique: true, where: 'customer_id IS NULL' })
@Check('retention_policies_days', 'days >= 0')
export class RetentionPolicy {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Null: the default policy. */
  @Column({ name: 'customer_id', type: 'uuid', nullable: true })
  customerId: string | null;

  @Column({ type: 'text' })
  category: DataCategory;

  @Column({ type: 'integer' })
  days: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
