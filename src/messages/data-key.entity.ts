import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import type { PiiCategory } from './message.entity';

export const DATA_KEY_KINDS = ['day', 'hold'] as const;
export type DataKeyKind = (typeof DATA_KEY_KINDS)[number];

/**
 * A data key: one per customer, UTC day (of submitted-at) and category (`day` keys), plus `hold`
 * keys that legally held values are re-encrypted under before their day key is destroyed.
 * Stored only wrapped by a master key (identified by `masterKeyId`). Destroying it — clearing
 * `wrapped` — makes every value under it unreadable at once: crypto-shredding. The row stays as
 * evidence (certificates name key ids).
 *
 * Destroying touches no indexed column, and the table keeps free space in its pages (fillfactor
 * 70, set in the migration), so the purge's UPDATE is a heap-only one: no index is rewritten.
 */
@Entity({ name: 'data_keys' })
@Index('data_keys_day_key', ['customerId', 'day', 'category'], { unique: true, where: `kind = 'day'` })
@Index('data_keys_customer_day_idx', ['customerId', 'day'])
@Check('data_keys_destroyed_means_unwrapped', '(wrapped IS NULL) = (destroyed_at IS NOT NULL)')
export class DataKey {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  /** The UTC day (YYYY-MM-DD) of the messages' submitted-at. */
  @Column({ type: 'date' })
  day: string;

  @Column({ type: 'text' })
  category: PiiCategory;

  @Column({ type: 'text', default: 'day' })
  kind: DataKeyKind;

  @Column({ type: 'bytea', nullable: true })
  wrapped: Buffer | null;

  /** Fingerprint of the master key that wrapped it (see KeyRing). */
  @Column({ name: 'master_key_id', type: 'text', nullable: true })
  masterKeyId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  /** The expiry the key was destroyed against; destroyedAt − expiredAt is its purge lag. */
  @Column({ name: 'expired_at', type: 'timestamptz', precision: 3, nullable: true })
  expiredAt: Date | null;

  @Column({ name: 'destroyed_at', type: 'timestamptz', precision: 3, nullable: true })
  destroyedAt: Date | null;

  /** The purge run that destroyed it (day and hold keys alike). */
  @Column({ name: 'destroyed_by_run_id', type: 'uuid', nullable: true })
  destroyedByRunId: string | null;

  /** Messages whose value was under it when destroyed (counted for the certificate). */
  @Column({ name: 'message_count', type: 'integer', nullable: true })
  messageCount: number | null;

  @Column({ name: 'certificate_id', type: 'uuid', nullable: true })
  certificateId: string | null;

  /** When the ciphertext of its messages was cleared (storage reclaimed). */
  @Column({ name: 'reclaimed_at', type: 'timestamptz', precision: 3, nullable: true })
  reclaimedAt: Date | null;
}
