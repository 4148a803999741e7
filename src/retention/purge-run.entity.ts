import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const PURGE_RUN_STATUSES = ['running', 'succeeded', 'failed', 'interrupted'] as const;
export type PurgeRunStatus = (typeof PURGE_RUN_STATUSES)[number];

/** One execution of the purge: what it destroyed, re-encrypted under holds, reclaimed and certified. */
@Entity({ name: 'purge_runs' })
@Index('purge_runs_started_idx', ['startedAt', 'id'])
@Index('purge_runs_running_idx', ['status'], { where: `status = 'running'` })
export class PurgeRun {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  trigger: 'schedule' | 'manual';

  @Column({ type: 'text', default: 'running' })
  status: PurgeRunStatus;

  @Column({ name: 'started_at', type: 'timestamptz', precision: 3 })
  startedAt: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', precision: 3, nullable: true })
  finishedAt: Date | null;

  @Column({ name: 'keys_destroyed', type: 'integer', default: 0 })
  keysDestroyed: number;

  @Column({ name: 'messages_destroyed', type: 'integer', default: 0 })
  messagesDestroyed: number;

  /** Held values moved under a hold key before their day key was destroyed. */
  @Column({ name: 'messages_rekeyed', type: 'integer', default: 0 })
  messagesRekeyed: number;

  /** Messages whose destroyed ciphertext was cleared. */
  @Column({ name: 'messages_reclaimed', type: 'integer', default: 0 })
  messagesReclaimed: number;

  /** Messages deleted because their delivery metadata expired. */
  @Column({ name: 'messages_deleted', type: 'integer', default: 0 })
  messagesDeleted: number;

  @Column({ name: 'certificates_issued', type: 'integer', default: 0 })
  certificatesIssued: number;

  /** The longest any key destroyed by this run stayed readable past its expiry, in ms. */
  @Column({ name: 'max_lag_ms', type: 'bigint', nullable: true })
  maxLagMs: string | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;
}
