import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One link of the append-only, hash-chained audit log. The database refuses UPDATE, DELETE and
 * TRUNCATE on this table (see the migration); seq is assigned under a lock, so it has no gaps.
 */
@Entity({ name: 'audit_log' })
@Index('audit_log_subject_idx', ['subjectType', 'subjectId', 'seq'])
@Index('audit_log_actor_idx', ['actorId', 'seq'])
@Index('audit_log_at_idx', ['at'])
export class AuditEntry {
  @PrimaryColumn({ type: 'bigint', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  seq: number;

  /** Milliseconds, exactly what the hash covers: a finer edit would otherwise go unnoticed. */
  @Column({ type: 'timestamptz', precision: 3 })
  at: Date;

  @Column({ name: 'actor_type', type: 'text' })
  actorType: string;

  @Column({ name: 'actor_id', type: 'text', nullable: true })
  actorId: string | null;

  @Column({ type: 'text' })
  action: string;

  @Column({ name: 'subject_type', type: 'text' })
  subjectType: string;

  @Column({ name: 'subject_id', type: 'text', nullable: true })
  subjectId: string | null;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId: string | null;

  @Column({ type: 'jsonb' })
  changes: Record<string, unknown>;

  @Column({ name: 'prev_hash', type: 'text' })
  prevHash: string;

  @Column({ type: 'text' })
  hash: string;
}
