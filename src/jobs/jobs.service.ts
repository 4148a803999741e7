import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { createTask, ScheduledTask, validate } from 'node-cron';
import { DataSource } from 'typeorm';
import { type Actor, defineAbilityFor } from '../access/ability';
import { Clock } from '../common/clock';
import { NotFoundError } from '../common/errors';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { JobResponse, JobRunResponse } from './dto/job.dto';
import { JobRun } from './job-run.entity';

export interface JobContext {
  now: Date;
  /** Whether the schedule started the run or someone asked for it (POST /jobs/:name/run). */
  trigger: 'schedule' | 'manual';
  /** Scheduled work acts as the system actor: audited as such, never reads PII. */
  actor: Actor;
}

export interface JobDefinition {
  /** Stable name, used in the API and the job_runs table. */
  name: string;
  /** node-cron expression (seconds optional), evaluated in UTC. */
  schedule: string;
  description: string;
  /** Does one batch of work; returns what it counted (e.g. { noticesApplied: 2 }). */
  run(context: JobContext): Promise<Record<string, number>>;
}

const INSTANCE = `${hostname()}:${process.pid}`;

/**
 * Named, scheduled entry points into services. Every instance schedules every job, but a tick is
 * run once across the fleet: the first instance to record (job, tick) in job_runs runs it; a
 * session advisory lock per job keeps a slow run from overlapping the next one.
 */
@Injectable()
export class JobsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobsService.name);
  private readonly jobs = new Map<string, { definition: JobDefinition; task: ScheduledTask }>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** Called by the owning modules in onModuleInit. */
  register(definition: JobDefinition): void {
    if (!validate(definition.schedule)) throw new Error(`job ${definition.name}: invalid schedule ${definition.schedule}`);
    if (this.jobs.has(definition.name)) throw new Error(`job ${definition.name} registered twice`);
    const task = createTask(definition.schedule, (ctx) => this.execute(definition, 'schedule', null, ctx.date), {
      name: definition.name, timezone: 'Etc/UTC', noOverlap: false,
    });
    this.jobs.set(definition.name, { definition, task });
    if (this.started) void task.start();
  }

  private started = false;

  onApplicationBootstrap(): void {
    if (!this.config.jobsEnabled) return;
    this.started = true;
    for (const { task } of this.jobs.values()) void task.start();
  }

  async onModuleDestroy(): Promise<void> {
    for (const { task } of this.jobs.values()) await task.destroy();
  }

  async list(): Promise<JobResponse[]> {
    const last = await this.dataSource.getRepository(JobRun).createQueryBuilder('r')
      .distinctOn(['r.job']).orderBy('r.job').addOrderBy('r.startedAt', 'DESC').getMany();
    return [...this.jobs.values()].map(({ definition, task }) => {
      const run = last.find((r) => r.job === definition.name);
      return {
        name: definition.name, schedule: definition.schedule, description: definition.description,
        lastRun: run ? runResponse(run) : null,
        nextRunAt: task.getNextRun()?.toISOString() ?? null,
      };
    });
  }

  async runs(name: string, limit: number): Promise<JobRunResponse[]> {
    this.definition(name);
    const rows = await this.dataSource.getRepository(JobRun).find({ where: { job: name }, order: { startedAt: 'DESC' }, take: limit });
    return rows.map(runResponse);
  }

  /** Runs a job now, on demand (DPO or admin), and answers with the finished run. */
  async runNow(actor: Actor, name: string): Promise<JobRunResponse> {
    return runResponse(await this.execute(this.definition(name), 'manual', actor.id, null));
  }

  private definition(name: string): JobDefinition {
    const job = this.jobs.get(name);
    if (!job) throw new NotFoundError('Job');
    return job.definition;
  }

  /** Returns the run this call recorded, or the one another instance recorded for the same tick. */
  private async execute(job: JobDefinition, trigger: 'schedule' | 'manual', requestedBy: string | null, scheduledFor: Date | null): Promise<JobRun> {
    const repo = this.dataSource.getRepository(JobRun);
    const tick = scheduledFor ? new Date(Math.floor(scheduledFor.getTime() / 1000) * 1000) : null;
    const [claimed] = (await this.dataSource.query(
      `INSERT INTO job_runs (job, trigger, tick, started_at, instance, requested_by) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (job, tick) WHERE tick IS NOT NULL DO NOTHING RETURNING id`,
      [job.name, trigger, tick, this.clock.now(), INSTANCE, requestedBy],
    )) as { id: string }[];
    if (!claimed) return repo.findOneByOrFail({ job: job.name, tick: tick! }); // another instance has this tick

    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [lockKey(job.name)])) as { locked: boolean }[];
      if (!locked) {
        await repo.update({ id: claimed.id }, { outcome: 'failed', finishedAt: this.clock.now(), error: 'the previous run is still going' });
        return repo.findOneByOrFail({ id: claimed.id });
      }
      try {
        const counts = await job.run({ now: this.clock.now(), actor: SYSTEM_ACTOR, trigger });
        await repo.update({ id: claimed.id }, { outcome: 'succeeded', finishedAt: this.clock.now(), counts });
      } catch (error) {
        this.logger.error(`job ${job.name} failed: ${(error as Error).message}`);
        await repo.update({ id: claimed.id }, { outcome: 'failed', finishedAt: this.clock.now(), error: (error as Error).message.slice(0, 500) });
      } finally {
        // Still holding the job's lock, no other run of it is going: one still marked running died
        // with its instance. Closed after this run, which must not wait for the bookkeeping.
        await this.dataSource.query(
          `UPDATE job_runs SET outcome = 'failed', finished_at = $3, error = 'the instance running it stopped before it finished'
           WHERE job = $1 AND outcome = 'running' AND id <> $2`,
          [job.name, claimed.id, this.clock.now()],
        ).catch((error: Error) => this.logger.error(`job ${job.name}: closing runs of dead instances failed: ${error.message}`));
        await runner.query('SELECT pg_advisory_unlock($1)', [lockKey(job.name)]);
      }
      return repo.findOneByOrFail({ id: claimed.id });
    } finally {
      await runner.release();
    }
  }
}

export const SYSTEM_ACTOR: Actor = { kind: 'system', id: 'system', role: 'system', customerId: null, ability: defineAbilityFor({ id: 'system', role: 'system', customerId: null }) };

const lockKey = (name: string) => createHash('sha256').update(`job:${name}`).digest().readBigInt64BE(0).toString();

function runResponse(r: JobRun): JobRunResponse {
  return {
    id: r.id, job: r.job, trigger: r.trigger, tick: r.tick?.toISOString() ?? null, startedAt: r.startedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null, outcome: r.outcome, counts: r.counts, error: r.error, instance: r.instance,
  };
}
