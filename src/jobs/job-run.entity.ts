import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const JOB_OUTCOMES = ['running', 'succeeded', 'failed'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** One run of a scheduled job, by whichever instance won the tick (or on demand). */
@Entity({ name: 'job_runs' })
@Index('job_runs_job_idx', ['job', 'startedAt'])
@Index('job_runs_tick_key', ['job', 'tick'], { unique: true, where: 'tick IS NOT NULL' })
export class JobRun {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  job: string;

  @Column({ type: 'text' })
  trigger: 'schedule' | 'manual';

  /** The scheduled tick this run serves (null for a manual run); unique per job, so a tick runs once. */
  @Column({ type: 'timestamptz', nullable: true })
  tick: Date | null;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;

  @Column({ type: 'text', default: 'running' })
  outcome: JobOutcome;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  counts: Record<string, number>;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** Host and pid of the instance that ran it. */
  @Column({ type: 'text' })
  instance: string;

  @Column({ name: 'requested_by', type: 'uuid', nullable: true })
  requestedBy: string | null;
}

/** A reminder that has gone out, so each is sent once (key e.g. dpa-expiry:<id>:30). */
@Entity({ name: 'sent_reminders' })
export class SentReminder {
  @Column({ type: 'text', primary: true })
  key: string;

  @Column({ name: 'sent_at', type: 'timestamptz' })
  sentAt: Date;
}
